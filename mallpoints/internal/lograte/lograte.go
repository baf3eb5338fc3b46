// Package lograte keeps a flood of alike log records from filling the disk.
// Anyone who can reach the notification URL can make the service log a
// rejection per request; at network speed that is gigabytes an hour. The
// handler passes the first Burst records of each message and level in every
// Window, drops the rest, counts each drop through a callback (a metric), and
// says how many it dropped with the first record it passes in a later window.
//
//	h := lograte.New(log.Handler(), lograte.Config{Window: time.Minute, Burst: 20, Dropped: counter})
//	notify.WithLogger(slog.New(h))
package lograte

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultWindow = time.Minute
	DefaultBurst  = 20
	// maxKeys bounds the (level, message) pairs tracked: messages are
	// constants in the code, so a few dozen exist; past the bound the
	// table starts afresh rather than grow.
	maxKeys = 1024
)

// Config tunes a Handler.
type Config struct {
	// Window is the period over which Burst records of a message pass;
	// 0 means DefaultWindow.
	Window time.Duration
	// Burst is how many records of one level and message pass per Window;
	// 0 means DefaultBurst.
	Burst int
	// MinLevel is the lowest level limited; records below it always pass.
	// The zero value, slog.LevelInfo, limits everything at Info and above.
	MinLevel slog.Level
	// Dropped, if set, is called with the message of every dropped record.
	Dropped func(message string)
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
}

// Handler is a slog.Handler that rate-limits records by level and message.
type Handler struct {
	next slog.Handler
	lim  *limiter // shared by the handlers WithAttrs and WithGroup derive
}

type limiter struct {
	cfg Config

	mu   sync.Mutex
	seen map[key]*window
}

type key struct {
	level   slog.Level
	message string
}

// window counts one key's records since start.
type window struct {
	start   time.Time
	passed  int
	dropped int
}

// New returns a Handler that passes to next what cfg allows.
func New(next slog.Handler, cfg Config) *Handler {
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{next: next, lim: &limiter{cfg: cfg, seen: map[key]*window{}}}
}

// Enabled reports whether next handles records of level l.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle passes r on, unless its level and message have used up their
// burst in the current window. The first record passed after a window in
// which records were dropped carries the count as "dropped_before".
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.lim.cfg.MinLevel {
		return h.next.Handle(ctx, r)
	}
	pass, droppedBefore := h.lim.take(key{r.Level, r.Message})
	if !pass {
		if h.lim.cfg.Dropped != nil {
			h.lim.cfg.Dropped(r.Message)
		}
		return nil
	}
	if droppedBefore > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("dropped_before", droppedBefore))
	}
	return h.next.Handle(ctx, r)
}

// take counts a record of k: whether it passes and, when it opens a new
// window, how many records of k the last window dropped.
func (l *limiter) take(k key) (pass bool, droppedBefore int) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.seen[k]
	if w == nil || now.Sub(w.start) >= l.cfg.Window {
		if w != nil {
			droppedBefore = w.dropped
		}
		if w == nil && len(l.seen) >= maxKeys {
			clear(l.seen)
		}
		w = &window{start: now}
		l.seen[k] = w
	}
	if w.passed >= l.cfg.Burst {
		w.dropped++
		return false, 0
	}
	w.passed++
	return true, droppedBefore
}

// WithAttrs returns a Handler that limits together with h.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(as), lim: h.lim}
}

// WithGroup returns a Handler that limits together with h.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), lim: h.lim}
}

package lograte_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/lograte"
)

// clock is a fake time that tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newLogger(c *clock, dropped *[]string) (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	h := lograte.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), lograte.Config{
		Window: time.Minute, Burst: 3, MinLevel: slog.LevelWarn, Now: c.now,
		Dropped: func(m string) { *dropped = append(*dropped, m) },
	})
	return slog.New(h), &buf
}

func TestEachMessagePassesItsBurstPerWindowAndTheRestAreCounted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		log         func(l *slog.Logger, c *clock)
		wantLines   int
		wantDropped int
		wantInLog   string
	}{
		{"a flood of one message passes the burst", func(l *slog.Logger, c *clock) {
			for range 100 {
				l.Warn("notify: notification rejected", "status", 401)
			}
		}, 3, 97, ""},
		{"messages are limited apart", func(l *slog.Logger, c *clock) {
			for range 5 {
				l.Warn("a")
				l.Warn("b")
			}
		}, 6, 4, ""},
		{"levels are limited apart", func(l *slog.Logger, c *clock) {
			for range 5 {
				l.Warn("a")
				l.Error("a")
			}
		}, 6, 4, ""},
		{"below the minimum level nothing is limited", func(l *slog.Logger, c *clock) {
			for range 50 {
				l.Info("ledger: payment")
			}
		}, 50, 0, ""},
		{"a new window passes a new burst and says what was dropped", func(l *slog.Logger, c *clock) {
			for range 10 {
				l.Warn("a")
			}
			c.t = c.t.Add(time.Minute)
			l.Warn("a")
		}, 4, 7, "dropped_before=7"},
		{"within the window nothing more passes", func(l *slog.Logger, c *clock) {
			for range 10 {
				l.Warn("a")
			}
			c.t = c.t.Add(59 * time.Second)
			l.Warn("a")
		}, 3, 8, ""},
		{"attributes added later share the limit", func(l *slog.Logger, c *clock) {
			for i := range 10 {
				l.With("client", i).Warn("a")
			}
		}, 3, 7, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &clock{t: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}
			var dropped []string
			l, buf := newLogger(c, &dropped)
			tt.log(l, c)
			lines := strings.Count(buf.String(), "\n")
			if lines != tt.wantLines || len(dropped) != tt.wantDropped {
				t.Errorf("%d lines and %d dropped, want %d and %d:\n%s", lines, len(dropped), tt.wantLines, tt.wantDropped, buf)
			}
			if tt.wantInLog != "" && !strings.Contains(buf.String(), tt.wantInLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantInLog, buf)
			}
		})
	}
}

func TestEnabledFollowsTheNextHandler(t *testing.T) {
	t.Parallel()
	h := lograte.New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn}), lograte.Config{})
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelError) {
		t.Error("Enabled does not follow the next handler's level")
	}
}

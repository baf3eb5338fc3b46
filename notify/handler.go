package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/internal/clip"
)

// DefaultTimeout is how long the callback may take unless WithTimeout says
// otherwise: WeChat Pay waits 5 seconds for an answer.
const DefaultTimeout = 4 * time.Second

// Bounds of what a log record carries of values that came with a request
// (ids, serials, Request-ID) and of error text, which may quote them.
const (
	maxLoggedValue = 128
	maxLoggedError = 1024
)

// storeDoneTimeout bounds Store.Done after a successful callback. It runs even
// if WeChat Pay has hung up, so that the success is not lost.
const storeDoneTimeout = time.Second

// HandlerFunc processes one verified, decrypted notification. ctx ends at
// the handler's timeout (DefaultTimeout). A nil error acknowledges the
// notification; any error makes WeChat Pay send it again later, so the
// function must be idempotent: the same notification may arrive more than
// once, even after a success. Its error is logged; keep personal data out of it.
type HandlerFunc func(ctx context.Context, n *Notification) error

// HandlerOption configures NewHandler. An option given an invalid argument
// (a nil logger or store, a timeout that is not positive) makes NewHandler
// panic: arguments are checked by the constructor, never silently ignored,
// as wxpay.NewClient does; NewHandler panics rather than returning an error
// because it returns a plain http.Handler, for use in mux.Handle.
type HandlerOption func(*handlerConfig) error

type handlerConfig struct {
	store    Store
	log      *slog.Logger
	timeout  time.Duration
	rejected func(r *http.Request, status int, err error)
}

// WithStore makes the handler acknowledge a notification whose id the store
// has seen without calling the callback, and record each id after its
// callback succeeded.
func WithStore(s Store) HandlerOption {
	return func(c *handlerConfig) error {
		if s == nil {
			return errors.New("notify: WithStore: nil store")
		}
		c.store = s
		return nil
	}
}

// WithLogger receives one record per notification: its id, event type,
// verifying serial, Request-ID, HTTP status and outcome, and the error of a
// failure. Plaintext, keys and headers are never logged, and every value
// that came with the request is cut to a few hundred bytes with control
// characters escaped. The default logs nothing.
func WithLogger(l *slog.Logger) HandlerOption {
	return func(c *handlerConfig) error {
		if l == nil {
			return errors.New("notify: WithLogger: nil logger")
		}
		c.log = l
		return nil
	}
}

// WithTimeout sets the deadline of the callback's context, which Store.Seen
// shares (default DefaultTimeout); it must be positive. When it passes the
// handler answers 500 even if the callback has not returned, so keep it under
// WeChat Pay's 5 seconds with room for Store.Done, which gets at most one
// second.
func WithTimeout(d time.Duration) HandlerOption {
	return func(c *handlerConfig) error {
		if d <= 0 {
			return fmt.Errorf("notify: WithTimeout(%s): the timeout must be positive", d)
		}
		c.timeout = d
		return nil
	}
}

// WithRejectionHook calls fn with each request the handler rejects before
// its callback could see it (step 1 or 2 of NewHandler), the status it is
// answered with and the reason: a *wxpay.VerificationError for a
// verification failure (401), else an error wrapping ErrWrongMethod,
// ErrBodyTooLarge, ErrMalformed, ErrUnsupportedAlgorithm or wxpay.ErrDecrypt
// (4xx), or the parser's own misconfiguration (500); test for them with
// errors.Is or errors.As. It lets a merchant count
// signature failures, which may be an attack or a key out of date, apart
// from other rejections. fn runs before the answer is written and must not
// write to the response; the body has been read, and r's other fields are as
// received. Notifications the callback refuses (RefusedError) are not
// rejections: the callback knows them already.
func WithRejectionHook(fn func(r *http.Request, status int, err error)) HandlerOption {
	return func(c *handlerConfig) error {
		if fn == nil {
			return errors.New("notify: WithRejectionHook: nil function")
		}
		c.rejected = fn
		return nil
	}
}

// NewHandler returns the http.Handler of a notification URL (回调地址). For
// each request it:
//
//  1. refuses any method but POST (405) and a body over the parser's
//     MaxBodyBytes (413);
//  2. verifies and decrypts with p: a verification failure, WeChat Pay's
//     signature probes included, is answered 401; a malformed body, an
//     unsupported algorithm or a decryption failure 400;
//  3. answers 200 at once for an id the store (WithStore) has seen, and 500
//     while a delivery of the same id is still being processed here;
//  4. calls fn with a context that ends at the timeout (WithTimeout);
//  5. answers 204 once fn returned nil and the store recorded the id; the
//     status of a *RefusedError fn returns (a 4xx), with its message; and
//     500 when fn fails otherwise, panics or times out, or the store fails.
//
// Every failure is answered with {"code":"FAIL","message":…} naming the
// check, so that WeChat Pay re-sends the notification; a failed
// notification is not recorded in the store. fn runs in its own goroutine
// and a panic in it is recovered; if it ignores its context and outlives the
// timeout, its result is discarded. Because a success can be answered with
// 500 (the store failed, or the answer was lost on the way), fn must be
// idempotent.
//
// NewHandler panics if p or fn is nil, or an option's argument is invalid.
//
// Serve it from an http.Server with read, write and idle timeouts, such as
// the one NewServer returns: the handler bounds the body it reads but cannot
// stop a client that sends it one byte a second.
func NewHandler(p *Parser, fn HandlerFunc, opts ...HandlerOption) http.Handler {
	if p == nil {
		panic("notify: NewHandler: nil Parser")
	}
	if fn == nil {
		panic("notify: NewHandler: nil HandlerFunc")
	}
	h := &handler{
		parser: p,
		fn:     fn,
		handlerConfig: handlerConfig{
			log:     slog.New(slog.DiscardHandler),
			timeout: DefaultTimeout,
		},
		busy: inflight{ids: make(map[string]int)},
	}
	for _, o := range opts {
		if err := o(&h.handlerConfig); err != nil {
			panic(err.Error())
		}
	}
	return h
}

type handler struct {
	parser *Parser
	fn     HandlerFunc
	handlerConfig
	busy inflight
}

// outcome is what became of one notification: the answer and the log record.
type outcome struct {
	status  int
	name    string     // logged as "outcome"
	level   slog.Level // of the log record
	message string     // of the FAIL answer
	err     error      // logged, never answered
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, err := h.parser.ParseRequest(r)
	if err != nil {
		h.reject(w, r, err)
		return
	}
	start := time.Now()
	o := h.process(r.Context(), n)
	h.logOutcome(r.Context(), n, o, time.Since(start))
	if o.status >= 400 {
		writeFail(w, o.status, o.message)
		return
	}
	w.WriteHeader(o.status)
}

// reject answers a notification that could not be parsed.
func (h *handler) reject(w http.ResponseWriter, r *http.Request, err error) {
	status, check := rejection(err)
	attrs := []slog.Attr{slog.String("outcome", "rejected"), slog.Int("status", status),
		slog.String("request_id", clip.Text(r.Header.Get("Request-ID"), maxLoggedValue))}
	if ve, ok := errors.AsType[*wxpay.VerificationError](err); ok {
		attrs = append(attrs, slog.String("serial", clip.Text(ve.Serial, maxLoggedValue)))
	}
	attrs = append(attrs, slog.String("error", clip.Text(err.Error(), maxLoggedError)))
	h.log.LogAttrs(r.Context(), slog.LevelWarn, "notify: notification rejected", attrs...)
	if h.rejected != nil {
		h.rejected(r, status, err)
	}
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	writeFail(w, status, check)
}

// process runs the duplicate check, the callback and the store's record of
// a verified notification.
func (h *handler) process(ctx context.Context, n *Notification) outcome {
	failed := func(name, message string, err error) outcome {
		return outcome{http.StatusInternalServerError, name, slog.LevelError, message, err}
	}
	if !h.busy.add(n.ID, true) {
		return outcome{http.StatusInternalServerError, "in_progress", slog.LevelWarn, "notification is already being processed", nil}
	}
	defer h.busy.done(n.ID)

	cbCtx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	if h.store != nil {
		seen, err := h.store.Seen(cbCtx, n.ID)
		if err != nil {
			return failed("store_failed", "duplicate check failed", err)
		}
		if seen {
			return outcome{status: http.StatusOK, name: "duplicate", level: slog.LevelInfo}
		}
	}
	if err := h.call(cbCtx, n); err != nil {
		if re, ok := errors.AsType[*RefusedError](err); ok {
			status := re.Status
			if status < 400 || status > 499 {
				status = http.StatusBadRequest
			}
			return outcome{status, "refused", slog.LevelWarn, re.Err.Error(), err}
		}
		if errors.Is(cbCtx.Err(), context.DeadlineExceeded) {
			return failed("callback_timeout", "callback did not finish in time", err)
		}
		return failed("callback_failed", "callback failed", err)
	}
	if h.store != nil {
		// The callback succeeded: record it even if WeChat Pay has hung up.
		doneCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeDoneTimeout)
		defer cancel()
		if err := h.store.Done(doneCtx, n.ID); err != nil {
			return failed("store_failed", "processed, but could not be recorded", err)
		}
	}
	return outcome{status: http.StatusNoContent, name: "processed", level: slog.LevelInfo}
}

// logOutcome logs what became of n: never its plaintext, keys or headers.
func (h *handler) logOutcome(ctx context.Context, n *Notification, o outcome, elapsed time.Duration) {
	attrs := []slog.Attr{
		slog.String("id", clip.Text(n.ID, maxLoggedValue)), slog.String("event_type", clip.Text(n.EventType, maxLoggedValue)),
		slog.String("serial", clip.Text(n.Serial, maxLoggedValue)), slog.String("request_id", clip.Text(n.RequestID, maxLoggedValue)),
		slog.String("outcome", o.name), slog.Int("status", o.status), slog.Duration("elapsed", elapsed),
	}
	if o.err != nil {
		attrs = append(attrs, slog.String("error", clip.Text(o.err.Error(), maxLoggedError)))
	}
	if p, ok := errors.AsType[*callbackPanic](o.err); ok {
		attrs = append(attrs, slog.String("stack", string(p.stack)))
	}
	h.log.LogAttrs(ctx, o.level, "notify: notification "+o.name, attrs...)
}

// call runs fn in its own goroutine and waits for it or for ctx to end,
// whichever comes first, so the answer is never later than the deadline.
func (h *handler) call(ctx context.Context, n *Notification) error {
	result := make(chan error, 1)
	h.busy.add(n.ID, false) // the id stays busy until fn returns, even after a timeout
	go func() {
		err := h.run(ctx, n)
		h.busy.done(n.ID) // before the answer, so that a re-delivery after it is not refused
		result <- err
	}()
	select {
	case err := <-result:
		return err
	case <-ctx.Done():
		select {
		case err := <-result: // finished at the deadline: take its answer
			return err
		default:
			return fmt.Errorf("notify: callback still running: %w", context.Cause(ctx))
		}
	}
}

// run calls fn, turning a panic into an error.
func (h *handler) run(ctx context.Context, n *Notification) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError(v)
		}
	}()
	return h.fn(ctx, n)
}

// callbackPanic is a recovered panic of the callback. It keeps the panic's
// value out of its message, since the value could hold the personal data
// the callback was working on; runtime errors are safe to name. The stack
// (function names and addresses only) is logged apart to help find the bug.
type callbackPanic struct {
	what  string
	stack []byte
}

func panicError(v any) *callbackPanic {
	what := fmt.Sprintf("a value of type %T", v)
	if re, ok := v.(runtime.Error); ok {
		what = re.Error()
	}
	return &callbackPanic{what: what, stack: debug.Stack()}
}

func (p *callbackPanic) Error() string { return "notify: callback panicked: " + p.what }

// rejection maps a parse failure to the HTTP status and the message that
// names the failed check. Verification failures are 401, like WeChat Pay's
// own SIGN_ERROR; a fault of our configuration is 500.
func rejection(err error) (status int, check string) {
	if ve, ok := errors.AsType[*wxpay.VerificationError](err); ok {
		return http.StatusUnauthorized, ve.Err.Error()
	}
	for _, c := range [...]struct {
		sentinel error
		status   int
	}{
		{ErrWrongMethod, http.StatusMethodNotAllowed},
		{ErrBodyTooLarge, http.StatusRequestEntityTooLarge},
		{ErrUnsupportedAlgorithm, http.StatusBadRequest},
		{ErrMalformed, http.StatusBadRequest},
		{wxpay.ErrDecrypt, http.StatusBadRequest},
		{errConfig, http.StatusInternalServerError},
	} {
		if errors.Is(err, c.sentinel) {
			return c.status, c.sentinel.Error()
		}
	}
	return http.StatusBadRequest, "notify: body could not be read"
}

// writeFail answers the failure body WeChat Pay expects (接收失败), which
// makes it re-send the notification later.
func writeFail(w http.ResponseWriter, status int, message string) {
	body, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{"FAIL", message})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body)
}

// inflight counts, per notification id, the goroutines working on it in
// this process, so that a re-delivery arriving meanwhile is refused instead
// of running the callback twice at once.
type inflight struct {
	mu  sync.Mutex
	ids map[string]int
}

// add takes a reference to id. With first set it fails when id is already
// in flight.
func (f *inflight) add(id string, first bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if first && f.ids[id] > 0 {
		return false
	}
	f.ids[id]++
	return true
}

func (f *inflight) done(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ids[id]--; f.ids[id] <= 0 {
		delete(f.ids, id)
	}
}

package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/internal/wxtest"
	"github.com/seed2ac2593f/wxpay/notify"
)

// deliver posts one notification to h as WeChat Pay would.
func deliver(h http.Handler, method string, header http.Header, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/wechatpay/notify", bytes.NewReader(body))
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// checkFail checks the failure answer WeChat Pay expects: the status, JSON
// content and {"code":"FAIL","message":…} naming the check.
func checkFail(t *testing.T, w *httptest.ResponseRecorder, status int, message string) {
	t.Helper()
	if w.Code != status {
		t.Errorf("status %d, want %d (body %s)", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var answer struct{ Code, Message string }
	if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if answer.Code != "FAIL" || answer.Message == "" || (message != "" && answer.Message != message) {
		t.Errorf("body %s, want code FAIL and message %q", w.Body, message)
	}
}

// recorder is a callback that counts its calls and answers err.
type recorder struct {
	calls atomic.Int32
	err   error
	last  atomic.Pointer[notify.Notification]
}

func (c *recorder) handle(_ context.Context, n *notify.Notification) error {
	c.calls.Add(1)
	c.last.Store(n)
	return c.err
}

func TestHandlerAnswers204AfterTheCallbackSucceeded(t *testing.T) {
	t.Parallel()
	var cb recorder
	store := notify.NewMemoryStore()
	h := notify.NewHandler(newParser(t, publicKeyRing(t)), cb.handle, notify.WithStore(store))
	s := newSpec()
	header, body := s.build(t)

	w := deliver(h, http.MethodPost, header, body)
	if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Fatalf("answer %d %q, want 204 without body", w.Code, w.Body)
	}
	if cb.calls.Load() != 1 || string(cb.last.Load().Plaintext) != transactionPlain {
		t.Errorf("callback called %d times with %v", cb.calls.Load(), cb.last.Load())
	}
	if seen, _ := store.Seen(context.Background(), s.ID); !seen {
		t.Error("the id was not recorded in the store")
	}
}

func TestHandlerAnswers500WhenTheCallbackFails(t *testing.T) {
	t.Parallel()
	cb := recorder{err: errors.New("ledger unavailable")}
	store := notify.NewMemoryStore()
	h := notify.NewHandler(newParser(t, publicKeyRing(t)), cb.handle, notify.WithStore(store))
	s := newSpec()
	header, body := s.build(t)

	checkFail(t, deliver(h, http.MethodPost, header, body), http.StatusInternalServerError, "callback failed")
	if seen, _ := store.Seen(context.Background(), s.ID); seen {
		t.Error("a failed notification was recorded as done")
	}
	// WeChat Pay re-sends it, and the callback runs again.
	checkFail(t, deliver(h, http.MethodPost, header, body), http.StatusInternalServerError, "callback failed")
	if cb.calls.Load() != 2 {
		t.Errorf("callback called %d times, want 2", cb.calls.Load())
	}
}

func TestHandlerAnswersTheStatusOfARefusedErrorAndNamesTheCheck(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name       string
		err        error
		wantStatus int
		wantMsg    string
	}{
		{"a 400", &notify.RefusedError{Status: http.StatusBadRequest, Err: errors.New("openid: too_long")},
			http.StatusBadRequest, "openid: too_long"},
		{"a 422, wrapped", fmt.Errorf("ledger: %w", &notify.RefusedError{Status: http.StatusUnprocessableEntity,
			Err: errors.New("amount: out_of_range")}), http.StatusUnprocessableEntity, "amount: out_of_range"},
		{"a status that is not 4xx is answered 400", &notify.RefusedError{Status: http.StatusOK, Err: errors.New("odd")},
			http.StatusBadRequest, "odd"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cb := recorder{err: c.err}
			store := notify.NewMemoryStore()
			h := notify.NewHandler(newParser(t, publicKeyRing(t)), cb.handle, notify.WithStore(store))
			s := newSpec()
			header, body := s.build(t)
			checkFail(t, deliver(h, http.MethodPost, header, body), c.wantStatus, c.wantMsg)
			if seen, _ := store.Seen(context.Background(), s.ID); seen {
				t.Error("a refused notification was recorded as done")
			}
		})
	}
}

func TestHandlerAcknowledgesDuplicatesWithoutCallingAgain(t *testing.T) {
	t.Parallel()
	var cb recorder
	h := notify.NewHandler(newParser(t, publicKeyRing(t)), cb.handle, notify.WithStore(notify.NewMemoryStore()))
	s := newSpec()
	header, body := s.build(t)
	if w := deliver(h, http.MethodPost, header, body); w.Code != http.StatusNoContent {
		t.Fatalf("first delivery: %d", w.Code)
	}
	// The duplicate is signed afresh, with a new timestamp and nonce.
	s.Timestamp, s.SigNonce = now.Unix(), "0123456789abcdef0123456789abcdef"
	header, body = s.build(t)
	if w := deliver(h, http.MethodPost, header, body); w.Code != http.StatusOK {
		t.Fatalf("duplicate: %d, want 200", w.Code)
	}
	if cb.calls.Load() != 1 {
		t.Errorf("callback called %d times, want 1", cb.calls.Load())
	}
}

func TestHandlerWithoutStoreCallsForEveryDelivery(t *testing.T) {
	t.Parallel()
	var cb recorder
	h := notify.NewHandler(newParser(t, publicKeyRing(t)), cb.handle)
	header, body := newSpec().build(t)
	for range 2 {
		if w := deliver(h, http.MethodPost, header, body); w.Code != http.StatusNoContent {
			t.Fatalf("status %d", w.Code)
		}
	}
	if cb.calls.Load() != 2 {
		t.Errorf("callback called %d times, want 2", cb.calls.Load())
	}
}

func TestHandlerRejectsUnverifiedNotificationsWith401(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	for _, tt := range []struct {
		rule string
		mod  func(*spec)
		want error
	}{
		{"a foreign signing key", func(s *spec) { s.SignKey = k.MerchantKey }, wxpay.ErrBadSignature},
		{"the signature probe", func(s *spec) { s.Probe = true }, wxpay.ErrProbeSignature},
		{"a stale timestamp", func(s *spec) { s.Timestamp -= 301 }, wxpay.ErrClockSkew},
		{"an unknown serial", func(s *spec) { s.Serial = wxtest.UnknownSerial }, wxpay.ErrUnknownSerial},
		{"a missing signature", func(s *spec) { s.Drop = "Wechatpay-Signature" }, wxpay.ErrMissingHeader},
	} {
		t.Run(tt.rule, func(t *testing.T) {
			t.Parallel()
			var cb recorder
			var hook rejections
			h := notify.NewHandler(newParser(t, publicKeyRing(t)), cb.handle, notify.WithRejectionHook(hook.note))
			s := newSpec()
			tt.mod(s)
			header, body := s.build(t)
			checkFail(t, deliver(h, http.MethodPost, header, body), http.StatusUnauthorized, tt.want.Error())
			if cb.calls.Load() != 0 {
				t.Error("the callback was called")
			}
			hook.check(t, http.StatusUnauthorized, tt.want)
			if _, ok := errors.AsType[*wxpay.VerificationError](hook.errs[0]); !ok {
				t.Errorf("the hook's reason %T is not a *wxpay.VerificationError", hook.errs[0])
			}
		})
	}
}

func TestHandlerRejectsUnusableNotificationsWith4xx(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		rule   string
		mod    func(*spec)
		status int
		want   error
	}{
		{"a tampered ciphertext", func(s *spec) { s.TamperCiphertext = true }, http.StatusBadRequest, wxpay.ErrDecrypt},
		{"wrong associated data", func(s *spec) { s.EncryptAD = ptr("other") }, http.StatusBadRequest, wxpay.ErrDecrypt},
		{"another APIv3 key", func(s *spec) { s.EncryptKey = strings.Repeat("z", 32) }, http.StatusBadRequest, wxpay.ErrDecrypt},
		{"a signed body that is not JSON", func(s *spec) { s.Body = []byte("hello") }, http.StatusBadRequest, notify.ErrMalformed},
		{"an unsupported algorithm", func(s *spec) { s.Algorithm = "AEAD_SM4_GCM" }, http.StatusBadRequest, notify.ErrUnsupportedAlgorithm},
		{"a body over 64 KiB", func(s *spec) { s.Body = bytes.Repeat([]byte(" "), 64<<10+1) }, http.StatusRequestEntityTooLarge, notify.ErrBodyTooLarge},
	} {
		t.Run(tt.rule, func(t *testing.T) {
			t.Parallel()
			var cb recorder
			var hook rejections
			h := notify.NewHandler(newParser(t, publicKeyRing(t)), cb.handle, notify.WithRejectionHook(hook.note))
			s := newSpec()
			tt.mod(s)
			header, body := s.build(t)
			checkFail(t, deliver(h, http.MethodPost, header, body), tt.status, tt.want.Error())
			if cb.calls.Load() != 0 {
				t.Error("the callback was called")
			}
			hook.check(t, tt.status, tt.want)
			if _, ok := errors.AsType[*wxpay.VerificationError](hook.errs[0]); ok {
				t.Errorf("the hook's reason %v is a verification failure", hook.errs[0])
			}
		})
	}
}

// rejections records what a rejection hook was called with.
type rejections struct {
	statuses []int
	errs     []error
}

func (h *rejections) note(r *http.Request, status int, err error) {
	h.statuses = append(h.statuses, status)
	h.errs = append(h.errs, err)
}

// check wants exactly one call, with status and a reason that is want.
func (h *rejections) check(t *testing.T, status int, want error) {
	t.Helper()
	if len(h.statuses) != 1 {
		t.Fatalf("the hook was called %d times, want once", len(h.statuses))
	}
	if h.statuses[0] != status || !errors.Is(h.errs[0], want) {
		t.Errorf("the hook got %d, %v; want %d, %v", h.statuses[0], h.errs[0], status, want)
	}
}

func TestTheRejectionHookIsNotCalledForNotificationsTheCallbackSees(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		rule   string
		err    error
		status int
	}{
		{"processed", nil, http.StatusNoContent},
		{"refused by the callback", &notify.RefusedError{Status: http.StatusUnprocessableEntity, Err: errors.New("amount out of range")}, http.StatusUnprocessableEntity},
		{"failed in the callback", errors.New("database down"), http.StatusInternalServerError},
	} {
		t.Run(tt.rule, func(t *testing.T) {
			t.Parallel()
			cb := recorder{err: tt.err}
			var hook rejections
			h := notify.NewHandler(newParser(t, publicKeyRing(t)), cb.handle, notify.WithRejectionHook(hook.note))
			header, body := newSpec().build(t)
			if w := deliver(h, http.MethodPost, header, body); w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			if len(hook.statuses) != 0 {
				t.Errorf("the hook was called with %v, %v", hook.statuses, hook.errs)
			}
		})
	}
}

func TestHandlerAcceptsOnlyPOST(t *testing.T) {
	t.Parallel()
	var cb recorder
	header, body := newSpec().build(t)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		var hook rejections
		h := notify.NewHandler(newParser(t, publicKeyRing(t)), cb.handle, notify.WithRejectionHook(hook.note))
		w := deliver(h, m, header, body)
		checkFail(t, w, http.StatusMethodNotAllowed, notify.ErrWrongMethod.Error())
		if allow := w.Header().Get("Allow"); allow != "POST" {
			t.Errorf("%s: Allow %q, want POST", m, allow)
		}
		hook.check(t, http.StatusMethodNotAllowed, notify.ErrWrongMethod)
	}
	if cb.calls.Load() != 0 {
		t.Error("the callback was called")
	}
}

// The callback's deadline is measured on synctest's clock, exactly.
func TestHandlerGivesTheCallbackADeadline(t *testing.T) {
	t.Parallel()
	header, body := newSpec().build(t)
	for _, tt := range []struct {
		name    string
		opts    []notify.HandlerOption
		timeout time.Duration
	}{
		{"default 4 s", nil, notify.DefaultTimeout},
		{"WithTimeout", []notify.HandlerOption{notify.WithTimeout(1500 * time.Millisecond)}, 1500 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newParser(t, publicKeyRing(t))
			synctest.Test(t, func(t *testing.T) {
				var left time.Duration
				h := notify.NewHandler(p, func(ctx context.Context, _ *notify.Notification) error {
					d, ok := ctx.Deadline()
					if !ok {
						return errors.New("no deadline")
					}
					left = time.Until(d)
					return nil
				}, tt.opts...)
				if w := deliver(h, http.MethodPost, header, body); w.Code != http.StatusNoContent {
					t.Fatalf("status %d %s", w.Code, w.Body)
				}
				if left != tt.timeout {
					t.Errorf("deadline in %s, want %s", left, tt.timeout)
				}
			})
		})
	}
}

func TestHandlerAnswers500WhenTheCallbackTimesOut(t *testing.T) {
	t.Parallel()
	t.Run("a callback that honours its context", func(t *testing.T) {
		t.Parallel()
		p := newParser(t, publicKeyRing(t))
		s := newSpec()
		header, body := s.build(t)
		synctest.Test(t, func(t *testing.T) {
			store := notify.NewMemoryStore()
			h := notify.NewHandler(p, func(ctx context.Context, _ *notify.Notification) error {
				<-ctx.Done()
				return ctx.Err()
			}, notify.WithTimeout(50*time.Millisecond), notify.WithStore(store))
			checkFail(t, deliver(h, http.MethodPost, header, body), http.StatusInternalServerError, "callback did not finish in time")
			if seen, _ := store.Seen(context.Background(), s.ID); seen {
				t.Error("a timed-out notification was recorded as done")
			}
		})
	})
	t.Run("a callback that ignores its context is not waited for", func(t *testing.T) {
		t.Parallel()
		p := newParser(t, publicKeyRing(t))
		header, body := newSpec().build(t)
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			h := notify.NewHandler(p, func(context.Context, *notify.Notification) error {
				<-release
				return nil
			}, notify.WithTimeout(50*time.Millisecond))
			start := time.Now()
			checkFail(t, deliver(h, http.MethodPost, header, body), http.StatusInternalServerError, "callback did not finish in time")
			if d := time.Since(start); d != 50*time.Millisecond {
				t.Errorf("answered after %s, want at the 50ms timeout", d)
			}
			// While it still runs, a re-delivery is refused rather than run alongside.
			checkFail(t, deliver(h, http.MethodPost, header, body), http.StatusInternalServerError, "notification is already being processed")
		})
	})
}

func TestHandlerRecoversFromACallbackPanic(t *testing.T) {
	t.Parallel()
	h := notify.NewHandler(newParser(t, publicKeyRing(t)), func(context.Context, *notify.Notification) error {
		var points []int
		points[len(points)]++ // a bug: index out of range
		return nil
	})
	header, body := newSpec().build(t)
	checkFail(t, deliver(h, http.MethodPost, header, body), http.StatusInternalServerError, "callback failed")
}

// failingStore fails Seen or Done on demand.
type failingStore struct {
	notify.Store
	seenErr, doneErr error
}

func (s failingStore) Seen(ctx context.Context, id string) (bool, error) {
	if s.seenErr != nil {
		return false, s.seenErr
	}
	return s.Store.Seen(ctx, id)
}

func (s failingStore) Done(ctx context.Context, id string) error {
	if s.doneErr != nil {
		return s.doneErr
	}
	return s.Store.Done(ctx, id)
}

func TestHandlerAnswers500WhenTheStoreFails(t *testing.T) {
	t.Parallel()
	header, body := newSpec().build(t)
	t.Run("Seen fails: the callback is not called", func(t *testing.T) {
		t.Parallel()
		var cb recorder
		store := failingStore{Store: notify.NewMemoryStore(), seenErr: errors.New("database down")}
		h := notify.NewHandler(newParser(t, publicKeyRing(t)), cb.handle, notify.WithStore(store))
		checkFail(t, deliver(h, http.MethodPost, header, body), http.StatusInternalServerError, "duplicate check failed")
		if cb.calls.Load() != 0 {
			t.Error("the callback was called")
		}
	})
	t.Run("Done fails after the callback succeeded: WeChat Pay must retry", func(t *testing.T) {
		t.Parallel()
		var cb recorder
		store := failingStore{Store: notify.NewMemoryStore(), doneErr: errors.New("database down")}
		h := notify.NewHandler(newParser(t, publicKeyRing(t)), cb.handle, notify.WithStore(store))
		checkFail(t, deliver(h, http.MethodPost, header, body), http.StatusInternalServerError, "processed, but could not be recorded")
		if cb.calls.Load() != 1 {
			t.Errorf("callback called %d times, want 1", cb.calls.Load())
		}
	})
}

func TestHandlerAnswers500WhenMisconfigured(t *testing.T) {
	t.Parallel()
	var cb recorder
	p := newParser(t, publicKeyRing(t))
	broken := &notify.Parser{Verifier: p.Verifier, APIv3Key: []byte("short")}
	header, body := newSpec().build(t)
	w := deliver(notify.NewHandler(broken, cb.handle), http.MethodPost, header, body)
	if w.Code != http.StatusInternalServerError || cb.calls.Load() != 0 {
		t.Errorf("status %d, calls %d; want 500 and no call", w.Code, cb.calls.Load())
	}
}

// TestNewHandlerRefusesInvalidArguments: as with wxpay.NewClient, the
// constructor checks its arguments and options; nothing is silently ignored.
// NewHandler returns a plain http.Handler, so it panics.
func TestNewHandlerRefusesInvalidArguments(t *testing.T) {
	t.Parallel()
	p := newParser(t, publicKeyRing(t))
	cb := (&recorder{}).handle
	for name, build := range map[string]func(){
		"nil parser":       func() { notify.NewHandler(nil, cb) },
		"nil callback":     func() { notify.NewHandler(p, nil) },
		"nil logger":       func() { notify.NewHandler(p, cb, notify.WithLogger(nil)) },
		"zero timeout":     func() { notify.NewHandler(p, cb, notify.WithTimeout(0)) },
		"negative timeout": func() { notify.NewHandler(p, cb, notify.WithTimeout(-time.Second)) },
		"nil store":        func() { notify.NewHandler(p, cb, notify.WithStore(nil)) },
		"nil hook":         func() { notify.NewHandler(p, cb, notify.WithRejectionHook(nil)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			build()
		}()
	}
}

// lockedBuffer is a bytes.Buffer safe for a logger used from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestHandlerLogsOutcomesButNeverSecrets(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var cb recorder
	k := wxtest.SharedKeys()
	h := notify.NewHandler(newParser(t, publicKeyRing(t)), cb.handle, notify.WithLogger(log), notify.WithStore(notify.NewMemoryStore()))

	s := newSpec()
	header, body := s.build(t)
	deliver(h, http.MethodPost, header, body) // processed
	deliver(h, http.MethodPost, header, body) // duplicate
	probe := newSpec()
	probe.Probe = true
	ph, pb := probe.build(t)
	deliver(h, http.MethodPost, ph, pb) // rejected
	panicky := notify.NewHandler(newParser(t, publicKeyRing(t)), func(context.Context, *notify.Notification) error {
		panic("oUpF8uMuAJ2pxb1Q9zNjWUHsd")
	}, notify.WithLogger(log))
	deliver(panicky, http.MethodPost, header, body) // failed

	out := logs.String()
	for _, want := range []string{`"id":"` + s.ID + `"`, `"event_type":"MALL_TRANSACTION.SUCCESS"`, `"serial":"` + k.PublicKeyID + `"`,
		`"outcome":"processed"`, `"outcome":"duplicate"`, `"outcome":"rejected"`, `"outcome":"callback_failed"`,
		`"request_id":"` + s.RequestID + `"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	for what, secret := range map[string]string{
		"the openid of the plaintext": "oUpF8uMuAJ2pxb1Q9zNjWUHsd",
		"the merchant name":           "腾讯广场",
		"the APIv3 key":               k.APIv3Key,
		"the signature":               header.Get("Wechatpay-Signature")[:40],
		"the ciphertext":              string(body[bytes.Index(body, []byte(`"ciphertext":"`))+14:][:40]),
	} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %s:\n%s", what, out)
		}
	}
}

// TestHandlerLogsBoundedValues: whatever a request carries, a log record
// holds a bounded, printable excerpt of it (a 900 KiB Wechatpay-Serial once
// wrote 1.8 MB of log per request).
func TestHandlerLogsBoundedValues(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	h := notify.NewHandler(newParser(t, publicKeyRing(t)), (&recorder{}).handle, notify.WithLogger(log))
	header, body := newSpec().build(t)
	header.Set("Wechatpay-Serial", strings.Repeat("S", 900<<10))
	header.Set("Request-ID", strings.Repeat("R\x1b[2J", 100<<10))
	deliver(h, http.MethodPost, header, body)
	out := logs.String()
	if len(out) > 4<<10 {
		t.Fatalf("one rejected request wrote %d bytes of log", len(out))
	}
	if strings.Contains(out, `\u001b`) || !strings.Contains(out, "more bytes)") {
		t.Fatalf("log is not a bounded, escaped excerpt: %.300s", out)
	}
}

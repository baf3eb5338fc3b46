package delivery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/internal/delivery"
)

// request is what a receiver saw of one attempt.
type request struct {
	Method string
	Header http.Header
	Body   []byte
}

// receiver is a merchant's notify URL on loopback. answer decides the reply
// to the n-th request (from 1).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.requests = append(rc.requests, request{r.Method, r.Header.Clone(), body})
		n := len(rc.requests)
		rc.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body)) // answer may read it again
		answer(n, w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) seen() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.requests)
}

// answerStatus answers every request with status, with WeChat Pay's failure
// JSON when it is not a success.
func answerStatus(status int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { reply(w, status) }
}

func reply(w http.ResponseWriter, status int) {
	if status == http.StatusOK || status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, `{"code":"FAIL","message":"失败"}`)
}

// fast is a schedule of n retries a millisecond apart.
func fast(n int) []time.Duration {
	return slices.Repeat([]time.Duration{time.Millisecond}, n)
}

// message is a notification whose Build always returns the same body.
func message(id, url string) delivery.Message {
	return delivery.Message{
		ID: id, EventType: "MALL_TRANSACTION.SUCCESS", URL: url,
		Build: func(int) (http.Header, []byte, error) {
			return http.Header{"Wechatpay-Serial": {"PUB_KEY_ID_0000000000000024101100397200000006"}},
				[]byte(`{"id":"` + id + `","event_type":"MALL_TRANSACTION.SUCCESS"}`), nil
		},
	}
}

// waitFinal waits at most 5 s for the record of id to become final.
func waitFinal(t *testing.T, q *delivery.Queue, id string) delivery.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	rec, err := q.Wait(ctx, id, nil)
	if err != nil {
		t.Fatalf("Wait(%s): %v; record %+v", id, err, rec)
	}
	return rec
}

func statuses(rec delivery.Record) []int {
	var out []int
	for _, a := range rec.Attempts {
		out = append(out, a.Status)
	}
	return out
}

func TestOnly200And204AreSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status    int
		delivered bool
	}{
		{http.StatusOK, true},
		{http.StatusNoContent, true},
		{http.StatusCreated, false},
		{http.StatusAccepted, false},
		{http.StatusFound, false}, // redirects are not followed
		{http.StatusBadRequest, false},
		{http.StatusUnauthorized, false},
		{http.StatusNotFound, false},
		{http.StatusTooManyRequests, false},
		{http.StatusInternalServerError, false},
		{http.StatusServiceUnavailable, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			var redirected atomic.Int32
			rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/ok" {
					redirected.Add(1)
					w.WriteHeader(http.StatusOK)
					return
				}
				if tt.status == http.StatusFound {
					http.Redirect(w, r, "/ok", http.StatusFound)
					return
				}
				reply(w, tt.status)
			})
			q := delivery.New(delivery.Config{Schedule: fast(1)})
			defer q.Close()
			q.Enqueue(message("EV-1", rc.URL+"/notify"))
			rec := waitFinal(t, q, "EV-1")

			want := delivery.Record{State: delivery.StateFailed}
			wantStatuses := []int{tt.status, tt.status}
			if tt.delivered {
				want.State, wantStatuses = delivery.StateDelivered, []int{tt.status}
			}
			if rec.State != want.State || !slices.Equal(statuses(rec), wantStatuses) {
				t.Errorf("state %s, statuses %v; want %s, %v", rec.State, statuses(rec), want.State, wantStatuses)
			}
			for _, a := range rec.Attempts {
				if tt.delivered && a.Error != "" {
					t.Errorf("attempt %d of a delivery has error %q", a.N, a.Error)
				}
				if !tt.delivered && !strings.HasPrefix(a.Error, fmt.Sprintf("answered %d", tt.status)) {
					t.Errorf("attempt %d error %q, want it to start with %q", a.N, a.Error, fmt.Sprintf("answered %d", tt.status))
				}
			}
			if n := redirected.Load(); n != 0 {
				t.Errorf("redirect followed %d times", n)
			}
		})
	}
}

func TestFailureIsRetriedUntil200(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			reply(w, http.StatusInternalServerError)
			return
		}
		reply(w, http.StatusOK)
	})
	q := delivery.New(delivery.Config{Schedule: []time.Duration{5 * time.Millisecond, time.Hour}})
	defer q.Close()
	q.Enqueue(message("EV-1", rc.URL))
	rec := waitFinal(t, q, "EV-1")

	if rec.State != delivery.StateDelivered || !slices.Equal(statuses(rec), []int{500, 200}) {
		t.Fatalf("state %s, statuses %v; want delivered after [500 200]", rec.State, statuses(rec))
	}
	if got, want := rec.Attempts[0].Error, "answered 500: FAIL: 失败"; got != want {
		t.Errorf("first attempt error %q, want %q (the receiver's code and message)", got, want)
	}
	if gap := rec.Attempts[1].At.Sub(rec.Attempts[0].At); gap < 5*time.Millisecond {
		t.Errorf("retry came %v after the first attempt, before the scheduled 5ms", gap)
	}
	if !rec.NextAt.IsZero() {
		t.Errorf("delivered record has NextAt %v", rec.NextAt)
	}
	if n := len(rc.seen()); n != 2 {
		t.Errorf("receiver saw %d requests, want 2", n)
	}
}

func TestFailureTextOfAnswer(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("很", 300)
	tests := []struct {
		name, body, want string
	}{
		{"fail JSON", `{"code":"FAIL","message":"签名错误"}`, "answered 500: FAIL: 签名错误"},
		{"code only", `{"code":"FAIL"}`, "answered 500: FAIL"},
		{"not JSON", `<html>oops</html>`, "answered 500"},
		{"empty", ``, "answered 500"},
		{"other JSON", `{"error":"x"}`, "answered 500"},
		{"long message is cut", `{"code":"FAIL","message":"` + long + `"}`, "answered 500: FAIL: " + long[:128*len("很")] + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, tt.body)
			})
			q := delivery.New(delivery.Config{Schedule: []time.Duration{}})
			defer q.Close()
			q.Enqueue(message("EV-1", rc.URL))
			rec := waitFinal(t, q, "EV-1")
			if got := rec.Attempts[0].Error; got != tt.want {
				t.Errorf("error %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTimeoutIsAFailureAndRetried(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			select { // slower than the queue's timeout
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
	// The timeout is long enough for the second attempt's answer on a loaded
	// machine under -race; the first attempt never answers in time.
	const timeout = time.Second
	q := delivery.New(delivery.Config{Schedule: fast(1), Timeout: timeout})
	defer q.Close()
	q.Enqueue(message("EV-1", rc.URL))
	rec := waitFinal(t, q, "EV-1")

	if rec.State != delivery.StateDelivered || !slices.Equal(statuses(rec), []int{0, 204}) {
		t.Fatalf("state %s, statuses %v; want delivered after [0 204]", rec.State, statuses(rec))
	}
	first := rec.Attempts[0]
	if !strings.Contains(first.Error, "timeout") {
		t.Errorf("first attempt error %q, want a timeout", first.Error)
	}
	if first.Duration < timeout || first.Duration > 4*timeout {
		t.Errorf("timed-out attempt took %v, want about the %v timeout", first.Duration, timeout)
	}
}

func TestTransportErrorIsAFailureAndRetried(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, answerStatus(http.StatusOK))
	url := rc.URL
	rc.Close() // nothing listens any more
	q := delivery.New(delivery.Config{Schedule: fast(2)})
	defer q.Close()
	q.Enqueue(message("EV-1", url))
	rec := waitFinal(t, q, "EV-1")
	if rec.State != delivery.StateFailed || len(rec.Attempts) != 3 {
		t.Fatalf("state %s with %d attempts, want failed with 3", rec.State, len(rec.Attempts))
	}
	for _, a := range rec.Attempts {
		if a.Status != 0 || a.Error == "" {
			t.Errorf("attempt %d: status %d, error %q; want no status and an error", a.N, a.Status, a.Error)
		}
	}
}

func TestExhaustedScheduleIsFailed(t *testing.T) {
	t.Parallel()
	for _, retries := range []int{0, 1, 4} {
		t.Run(fmt.Sprint(retries, " retries"), func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, answerStatus(http.StatusInternalServerError))
			q := delivery.New(delivery.Config{Schedule: fast(retries)})
			defer q.Close()
			q.Enqueue(message("EV-1", rc.URL))
			rec := waitFinal(t, q, "EV-1")

			if rec.State != delivery.StateFailed || len(rec.Attempts) != retries+1 {
				t.Fatalf("state %s with %d attempts, want failed with %d", rec.State, len(rec.Attempts), retries+1)
			}
			for i, a := range rec.Attempts {
				if a.N != i+1 {
					t.Errorf("attempt %d numbered %d", i+1, a.N)
				}
			}
			if !rec.NextAt.IsZero() {
				t.Errorf("failed record has NextAt %v", rec.NextAt)
			}
			time.Sleep(20 * time.Millisecond)
			if n := len(rc.seen()); n != retries+1 {
				t.Errorf("receiver saw %d requests, want %d", n, retries+1)
			}
		})
	}
}

func TestBuildIsCalledForEveryAttempt(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n < 3 {
			reply(w, http.StatusInternalServerError)
			return
		}
		reply(w, http.StatusOK)
	})
	var mu sync.Mutex
	var calls []int
	q := delivery.New(delivery.Config{Schedule: fast(5)})
	defer q.Close()
	q.Enqueue(delivery.Message{ID: "EV-1", URL: rc.URL, Build: func(attempt int) (http.Header, []byte, error) {
		mu.Lock()
		calls = append(calls, attempt)
		mu.Unlock()
		h := http.Header{"Wechatpay-Nonce": {fmt.Sprintf("nonce-%d", attempt)}}
		return h, []byte(fmt.Sprintf(`{"attempt":%d}`, attempt)), nil
	}})
	rec := waitFinal(t, q, "EV-1")

	mu.Lock()
	defer mu.Unlock()
	if rec.State != delivery.StateDelivered || !slices.Equal(calls, []int{1, 2, 3}) {
		t.Fatalf("state %s, Build called with %v; want delivered, [1 2 3]", rec.State, calls)
	}
	for i, r := range rc.seen() {
		n := i + 1
		if got, want := r.Header.Get("Wechatpay-Nonce"), fmt.Sprintf("nonce-%d", n); got != want {
			t.Errorf("request %d nonce %q, want %q", n, got, want)
		}
		if got, want := string(r.Body), fmt.Sprintf(`{"attempt":%d}`, n); got != want {
			t.Errorf("request %d body %q, want %q", n, got, want)
		}
	}
}

func TestBuildErrorIsRecordedAndRetried(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, answerStatus(http.StatusOK))
	q := delivery.New(delivery.Config{Schedule: fast(2)})
	defer q.Close()
	q.Enqueue(delivery.Message{ID: "EV-1", URL: rc.URL, Build: func(attempt int) (http.Header, []byte, error) {
		if attempt == 1 {
			return nil, nil, errors.New("signing key unavailable")
		}
		return nil, []byte(`{}`), nil
	}})
	rec := waitFinal(t, q, "EV-1")

	if rec.State != delivery.StateDelivered || !slices.Equal(statuses(rec), []int{0, 200}) {
		t.Fatalf("state %s, statuses %v; want delivered after [0 200]", rec.State, statuses(rec))
	}
	if got, want := rec.Attempts[0].Error, "build: signing key unavailable"; got != want {
		t.Errorf("first attempt error %q, want %q", got, want)
	}
	if n := len(rc.seen()); n != 1 {
		t.Errorf("receiver saw %d requests, want 1 (the failed build sends nothing)", n)
	}
}

func TestRequestIsAPostWithBuildHeadersAndDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		header           http.Header
		wantType, wantUA string
	}{
		{"defaults added", http.Header{"Wechatpay-Timestamp": {"1554208460"}}, "application/json", "Mozilla/4.0"},
		{"nil header", nil, "application/json", "Mozilla/4.0"},
		{"own values kept", http.Header{"Content-Type": {"application/json; charset=utf-8"}, "User-Agent": {"probe/1"}},
			"application/json; charset=utf-8", "probe/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, answerStatus(http.StatusOK))
			q := delivery.New(delivery.Config{})
			defer q.Close()
			body := []byte("{\"id\":\"EV-1\", \"b\":\"<&>\"}\n") // sent byte for byte
			q.Enqueue(delivery.Message{ID: "EV-1", URL: rc.URL, Build: func(int) (http.Header, []byte, error) {
				return tt.header, body, nil
			}})
			waitFinal(t, q, "EV-1")
			r := rc.seen()[0]
			if r.Method != http.MethodPost {
				t.Errorf("method %s, want POST", r.Method)
			}
			if !bytes.Equal(r.Body, body) {
				t.Errorf("body %q, want %q", r.Body, body)
			}
			if got := r.Header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type %q, want %q", got, tt.wantType)
			}
			if got := r.Header.Get("User-Agent"); got != tt.wantUA {
				t.Errorf("User-Agent %q, want %q", got, tt.wantUA)
			}
			for k := range tt.header {
				if got, want := r.Header.Get(k), tt.header.Get(k); got != want {
					t.Errorf("%s %q, want %q", k, got, want)
				}
			}
			if tt.header != nil && tt.wantUA == "Mozilla/4.0" && tt.header.Get("User-Agent") != "" {
				t.Errorf("Build's header map was changed: %v", tt.header)
			}
		})
	}
}

func TestMessagesToTheSameURLAreIndependent(t *testing.T) {
	t.Parallel()
	// One URL for both; the receiver tells them apart by body.
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte("EV-bad")) {
			reply(w, http.StatusInternalServerError)
			return
		}
		reply(w, http.StatusOK)
	})
	q := delivery.New(delivery.Config{Schedule: fast(2)})
	defer q.Close()
	q.Enqueue(message("EV-bad", rc.URL))
	q.Enqueue(message("EV-good", rc.URL))
	bad, good := waitFinal(t, q, "EV-bad"), waitFinal(t, q, "EV-good")
	if bad.State != delivery.StateFailed || len(bad.Attempts) != 3 {
		t.Errorf("EV-bad: %s with %d attempts, want failed with 3", bad.State, len(bad.Attempts))
	}
	if good.State != delivery.StateDelivered || len(good.Attempts) != 1 {
		t.Errorf("EV-good: %s with %d attempts, want delivered with 1", good.State, len(good.Attempts))
	}
}

func TestRecordsAreCopiesInEnqueueOrder(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, answerStatus(http.StatusOK))
	q := delivery.New(delivery.Config{})
	defer q.Close()
	ids := []string{"EV-3", "EV-1", "EV-2"}
	for _, id := range ids {
		q.Enqueue(message(id, rc.URL))
	}
	for _, id := range ids {
		waitFinal(t, q, id)
	}
	recs := q.Records()
	var got []string
	for _, r := range recs {
		got = append(got, r.ID)
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("Records order %v, want %v", got, ids)
	}
	recs[0].Attempts[0].Status = 999
	recs[0].State = "tampered"
	again, ok := q.Record("EV-3")
	if !ok || again.State != delivery.StateDelivered || again.Attempts[0].Status != 200 {
		t.Errorf("changing a snapshot changed the queue: %+v", again)
	}
	if _, ok := q.Record("EV-unknown"); ok {
		t.Error("Record of an unknown id reported ok")
	}
}

func TestRecordJSON(t *testing.T) {
	t.Parallel()
	rec := delivery.Record{
		ID: "EV-1", EventType: "MALL_REFUND.SUCCESS", URL: "http://127.0.0.1/n", State: delivery.StateDelivered,
		Attempts: []delivery.Attempt{{N: 1, At: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Status: 204, Duration: time.Millisecond}},
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"EV-1","event_type":"MALL_REFUND.SUCCESS","url":"http://127.0.0.1/n","state":"delivered",` +
		`"attempts":[{"attempt":1,"at":"2025-01-02T03:04:05Z","status":204,"duration_ns":1000000}]}`
	if string(b) != want {
		t.Errorf("JSON\n%s\nwant\n%s", b, want)
	}
}

func TestCloseCancelsPendingRetries(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, answerStatus(http.StatusInternalServerError))
	q := delivery.New(delivery.Config{Schedule: []time.Duration{time.Hour}})
	q.Enqueue(message("EV-1", rc.URL))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	rec, err := q.Wait(ctx, "EV-1", func(r delivery.Record) bool { return !r.NextAt.IsZero() })
	if err != nil {
		t.Fatalf("no retry scheduled: %v", err)
	}
	if d := time.Until(rec.NextAt); d < 59*time.Minute || d > time.Hour {
		t.Errorf("NextAt in %v, want in an hour", d)
	}

	start := time.Now()
	q.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v, want it prompt", d)
	}
	q.Close() // idempotent

	rec, _ = q.Record("EV-1")
	if rec.State != delivery.StateCancelled || len(rec.Attempts) != 1 || !rec.NextAt.IsZero() {
		t.Errorf("after Close: %s with %d attempts, NextAt %v; want cancelled with 1, no NextAt", rec.State, len(rec.Attempts), rec.NextAt)
	}

	q.Enqueue(message("EV-2", rc.URL))
	rec, ok := q.Record("EV-2")
	if !ok || rec.State != delivery.StateCancelled || len(rec.Attempts) != 0 {
		t.Errorf("Enqueue after Close recorded %+v, want cancelled without attempts", rec)
	}
	time.Sleep(20 * time.Millisecond)
	if n := len(rc.seen()); n != 1 {
		t.Errorf("receiver saw %d requests, want only the first attempt", n)
	}
}

func TestCloseCancelsAnAttemptInFlight(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{})
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done() // never answers on its own
	})
	q := delivery.New(delivery.Config{}) // 5 s timeout
	q.Enqueue(message("EV-1", rc.URL))
	<-arrived

	start := time.Now()
	q.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v, want it not to wait for the 5s timeout", d)
	}
	rec, _ := q.Record("EV-1")
	if rec.State != delivery.StateCancelled || len(rec.Attempts) != 1 || rec.Attempts[0].Error != "cancelled: queue closed" {
		t.Errorf("after Close: %+v; want cancelled, one attempt with error %q", rec, "cancelled: queue closed")
	}
}

// TestCloseLeavesNoGoroutines is not parallel: it counts the goroutines of
// the whole process.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { reply(w, 500) }))
	before := runtime.NumGoroutine()

	q := delivery.New(delivery.Config{Schedule: []time.Duration{time.Millisecond, time.Hour}})
	for i := range 5 {
		q.Enqueue(message(fmt.Sprint("EV-", i), srv.URL))
	}
	for i := range 5 {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		if _, err := q.Wait(ctx, fmt.Sprint("EV-", i), func(r delivery.Record) bool { return len(r.Attempts) == 2 }); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	q.Close()

	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
	srv.Close()
}

func TestWait(t *testing.T) {
	t.Parallel()

	t.Run("returns on delivery", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			reply(w, map[bool]int{true: 500, false: 200}[n < 3])
		})
		q := delivery.New(delivery.Config{Schedule: fast(3)})
		defer q.Close()
		q.Enqueue(message("EV-1", rc.URL))
		rec, err := q.Wait(t.Context(), "EV-1", func(r delivery.Record) bool { return r.State == delivery.StateDelivered })
		if err != nil || len(rec.Attempts) != 3 {
			t.Errorf("Wait: %d attempts, %v; want 3, nil", len(rec.Attempts), err)
		}
	})

	t.Run("waits for an id enqueued later", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, answerStatus(http.StatusOK))
		q := delivery.New(delivery.Config{})
		defer q.Close()
		time.AfterFunc(10*time.Millisecond, func() { q.Enqueue(message("EV-late", rc.URL)) })
		if rec := waitFinal(t, q, "EV-late"); rec.State != delivery.StateDelivered {
			t.Errorf("state %s, want delivered", rec.State)
		}
	})

	t.Run("returns when ctx ends", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, answerStatus(http.StatusInternalServerError))
		q := delivery.New(delivery.Config{Schedule: []time.Duration{time.Hour}})
		defer q.Close()
		q.Enqueue(message("EV-1", rc.URL))
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		rec, err := q.Wait(ctx, "EV-1", func(r delivery.Record) bool { return r.State == delivery.StateDelivered })
		if !errors.Is(err, context.DeadlineExceeded) || rec.ID != "EV-1" {
			t.Errorf("Wait: record %q, %v; want the latest record and DeadlineExceeded", rec.ID, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Wait returned %v after ctx ended", d)
		}
	})

	t.Run("returns ErrClosed when nothing can change", func(t *testing.T) {
		t.Parallel()
		q := delivery.New(delivery.Config{})
		q.Close()
		if _, err := q.Wait(t.Context(), "EV-never", nil); !errors.Is(err, delivery.ErrClosed) {
			t.Errorf("Wait for an unknown id after Close: %v, want ErrClosed", err)
		}
		q.Enqueue(message("EV-1", "http://127.0.0.1:1/"))
		rec, err := q.Wait(t.Context(), "EV-1", func(r delivery.Record) bool { return r.State == delivery.StateDelivered })
		if !errors.Is(err, delivery.ErrClosed) || rec.State != delivery.StateCancelled {
			t.Errorf("Wait for delivery of a cancelled record: %s, %v; want cancelled, ErrClosed", rec.State, err)
		}
	})
}

func TestLogsOneRecordPerAttemptWithoutTheBody(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		reply(w, map[bool]int{true: 500, false: 204}[n == 1])
	})
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	q := delivery.New(delivery.Config{Schedule: fast(1), Logger: logger})
	const secret = "ciphertext-SECRET-do-not-log"
	q.Enqueue(delivery.Message{ID: "EV-1", EventType: "MALL_TRANSACTION.SUCCESS", URL: rc.URL,
		Build: func(int) (http.Header, []byte, error) {
			return http.Header{"Wechatpay-Signature": {"sig-" + secret}}, []byte(`{"resource":{"ciphertext":"` + secret + `"}}`), nil
		}})
	waitFinal(t, q, "EV-1")
	q.Close() // every attempt has logged once Close returns

	if strings.Contains(buf.String(), secret) {
		t.Fatalf("log contains the body or headers:\n%s", buf.String())
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log records, want one per attempt (2):\n%s", len(lines), buf.String())
	}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"id", "event_type", "url", "attempt", "status", "error", "duration", "state"} {
			if _, ok := rec[key]; !ok {
				t.Errorf("log record %d lacks %q: %s", i+1, key, line)
			}
		}
		if rec["attempt"] != float64(i+1) {
			t.Errorf("log record %d has attempt %v", i+1, rec["attempt"])
		}
	}
	if !strings.Contains(lines[0], `"level":"WARN"`) || !strings.Contains(lines[0], `"status":500`) {
		t.Errorf("failed attempt logged as %s, want WARN with status 500", lines[0])
	}
	if !strings.Contains(lines[1], `"level":"INFO"`) || !strings.Contains(lines[1], `"state":"delivered"`) {
		t.Errorf("delivery logged as %s, want INFO with state delivered", lines[1])
	}
}

func TestDefaultScheduleIs24h4m(t *testing.T) {
	t.Parallel()
	s := delivery.DefaultSchedule()
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	if len(s) != 15 || sum != 24*time.Hour+4*time.Minute {
		t.Errorf("%d retries over %v, want 15 over 24h4m", len(s), sum)
	}
	s[0] = 0
	if delivery.DefaultSchedule()[0] != 15*time.Second {
		t.Error("DefaultSchedule shares its slice between calls")
	}
}

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	const s, m, h = time.Second, time.Minute, time.Hour
	tests := []struct {
		in      string
		want    []time.Duration
		wantErr string
	}{
		{in: "15s,15s,30s,3m", want: []time.Duration{15 * s, 15 * s, 30 * s, 3 * m}},
		{in: "1ms", want: []time.Duration{time.Millisecond}},
		{in: " 1s , 2h30m ", want: []time.Duration{s, 2*h + 30*m}},
		{in: "15s,15s,30s,3m,10m,20m,30m,30m,30m,60m,3h,3h,3h,6h,6h", want: delivery.DefaultSchedule()},
		{in: "", wantErr: "empty retry schedule"},
		{in: "  ", wantErr: "empty retry schedule"},
		{in: "15s,,30s", wantErr: "item 2 is empty"},
		{in: "15s,", wantErr: "item 2 is empty"},
		{in: "15s,3x", wantErr: `item 2 "3x"`},
		{in: "15", wantErr: `item 1 "15"`},
		{in: "1s,0s", wantErr: `item 2 "0s": must be greater than zero`},
		{in: "-5s", wantErr: `item 1 "-5s": must be greater than zero`},
	}
	for _, tt := range tests {
		got, err := delivery.ParseSchedule(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSchedule(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseSchedule(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// Records are bounded: beyond MaxRecords (and an eighth of it, so that the
// forgetting is amortised) the oldest final records go; a pending one is
// kept however old, and the newest are always there.
func TestRecordsAreBoundedKeepingPendingOnes(t *testing.T) {
	t.Parallel()
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	slow := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-hold:
		case <-r.Context().Done():
		}
		reply(w, http.StatusNoContent)
	})
	ok := newReceiver(t, answerStatus(http.StatusNoContent))
	q := delivery.New(delivery.Config{Schedule: fast(0), MaxRecords: 8, Timeout: time.Minute})
	t.Cleanup(q.Close)
	q.Enqueue(message("held", slow.URL))
	for i := range 40 {
		id := fmt.Sprint("m", i)
		q.Enqueue(message(id, ok.URL))
		waitFinal(t, q, id)
	}
	recs := q.Records()
	if len(recs) > 9 {
		t.Errorf("%d records kept, want at most 8 + 8/8", len(recs))
	}
	if recs[0].ID != "held" || recs[0].State != delivery.StatePending {
		t.Errorf("first record = %s %s, want the pending one kept", recs[0].ID, recs[0].State)
	}
	if last := recs[len(recs)-1]; last.ID != "m39" {
		t.Errorf("last record = %s, want the newest", last.ID)
	}
	if _, found := q.Record("m0"); found {
		t.Error("the oldest final record is still there")
	}
}

// A receiver that answers at once but never finishes its body cannot hold
// the delivery: the attempt's timeout covers reading the answer too.
func TestAnAnswerThatNeverEndsIsCutAtTheTimeout(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"code":"FAIL",`)
			w.(http.Flusher).Flush()
			<-r.Context().Done() // the rest never comes
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	// The timeout is long enough for the second attempt's answer on a loaded
	// machine under -race; the first attempt never answers in time.
	const timeout = time.Second
	q := delivery.New(delivery.Config{Schedule: fast(1), Timeout: timeout})
	defer q.Close()
	q.Enqueue(message("EV-1", rc.URL))
	if rec := waitFinal(t, q, "EV-1"); rec.State != delivery.StateDelivered || !slices.Equal(statuses(rec), []int{500, 204}) {
		t.Fatalf("state %s, statuses %v; want delivered after [500 204]", rec.State, statuses(rec))
	}
}

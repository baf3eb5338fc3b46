package wxpay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

func TestShouldRetry(t *testing.T) {
	t.Parallel()
	netErr := &url.Error{Op: "Post", URL: "https://x", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	cases := []struct {
		name   string
		status int
		err    error
		want   bool
	}{
		{"network error", 0, netErr, true},
		{"connection reset while reading a 500", 500, io.ErrUnexpectedEOF, true},
		{"connection reset while reading a 200: it took effect", 200, io.ErrUnexpectedEOF, false},
		{"429 FREQUENCY_LIMITED", 429, &APIError{StatusCode: 429}, true},
		{"500 SYSTEM_ERROR", 500, &APIError{StatusCode: 500}, true},
		{"502", 502, &APIError{StatusCode: 502}, true},
		{"503 SERVICE_UNAVAILABLE", 503, &APIError{StatusCode: 503}, true},
		{"501 is final", 501, &APIError{StatusCode: 501}, false},
		{"400 PARAM_ERROR is final", 400, &APIError{StatusCode: 400}, false},
		{"401 SIGN_ERROR is final", 401, &APIError{StatusCode: 401}, false},
		{"404 is final", 404, &APIError{StatusCode: 404}, false},
		{"cancelled", 0, fmt.Errorf("x: %w", context.Canceled), false},
		{"deadline", 0, &url.Error{Err: context.DeadlineExceeded}, false},
		{"bad signature on 204", 204, &VerificationError{Err: ErrBadSignature}, false},
		{"probe on 204", 204, &VerificationError{Err: ErrProbeSignature}, false},
		{"too large", 500, ErrResponseTooLarge, false},
		{"signed 202: repeat with the same parameters", 202, fmt.Errorf("x: %w", ErrNotProcessed), true},
		{"invalid request, never sent", 0, fmt.Errorf("%w: header", ErrInvalidRequest), false},
	}
	for _, tc := range cases {
		if got := ShouldRetry(tc.status, tc.err); got != tc.want {
			t.Errorf("%s: ShouldRetry = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRetryWait(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{MaxRetries: 5, MinWait: 200 * time.Millisecond, MaxWait: time.Second}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name       string
		attempt    int
		retryAfter string
		jitter     float64
		want       time.Duration
	}{
		{"first retry, no jitter", 1, "", 0, 100 * time.Millisecond},
		{"first retry, full jitter", 1, "", 0.999999999, 200 * time.Millisecond},
		{"second retry doubles", 2, "", 0, 200 * time.Millisecond},
		{"capped at MaxWait", 10, "", 0.5, 750 * time.Millisecond},
		{"Retry-After seconds win", 1, "7", 0, 7 * time.Second},
		{"Retry-After date", 1, now.Add(3 * time.Second).Format(http.TimeFormat), 0, 3 * time.Second},
		{"Retry-After date in the past", 1, now.Add(-time.Hour).Format(http.TimeFormat), 0, 0},
		{"unparsable Retry-After ignored", 1, "soon", 0, 100 * time.Millisecond},
		{"negative Retry-After ignored", 1, "-5", 0, 100 * time.Millisecond},
		{"Retry-After past int64 seconds saturates, never wraps", 1, "9300000000", 0, time.Duration(math.MaxInt64)},
		{"Retry-After past uint64 saturates", 1, "99999999999999999999999", 0, time.Duration(math.MaxInt64)},
		{"Retry-After date far ahead", 1, "Fri, 31 Dec 2099 23:59:59 GMT", 0, time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC).Sub(now)},
		{"jitter clamped", 1, "", 7, 200 * time.Millisecond},
	}
	for _, tc := range cases {
		got := RetryWait(p, tc.attempt, tc.retryAfter, now, tc.jitter)
		if got.Round(time.Millisecond) != tc.want {
			t.Errorf("%s: RetryWait = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// flaky answers with the given statuses in turn, then lets wxtest answer.
type flaky struct {
	mu       sync.Mutex
	statuses []int
	header   http.Header
	auths    []string
}

func (f *flaky) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.auths = append(f.auths, r.Header.Get("Authorization"))
		var status int
		if len(f.statuses) > 0 {
			status, f.statuses = f.statuses[0], f.statuses[1:]
		}
		f.mu.Unlock()
		switch status {
		case 0:
			next.ServeHTTP(w, r)
		case -1: // drop the connection
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
		default:
			for k, v := range f.header {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"code":"SYSTEM_ERROR","message":"status %d"}`, status)
		}
	})
}

// newFlakyClient puts f in front of a wxtest server.
func newFlakyClient(t *testing.T, f *flaky, opts ...Option) *Client {
	t.Helper()
	wx := wxtest.NewServer(wxtest.SharedKeys())
	t.Cleanup(wx.Close)
	target, _ := url.Parse(wx.URL)
	proxy := httptest.NewServer(f.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, _ := http.NewRequest(r.Method, wx.URL+r.RequestURI, r.Body)
		out.Header = r.Header.Clone()
		out.Host = target.Host
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			w.WriteHeader(502)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})))
	t.Cleanup(proxy.Close)
	fast := RetryPolicy{MaxRetries: 2, MinWait: time.Millisecond, MaxWait: 2 * time.Millisecond}
	return newTestClient(t, &wxtest.Server{URL: proxy.URL}, append([]Option{WithRetryPolicy(fast)}, opts...)...)
}

func TestRetriesResignEveryAttempt(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		statuses []int
		wantErr  bool
		attempts int
	}{
		{"500 then success", []int{500}, false, 2},
		{"429 then 503 then success", []int{429, 503}, false, 3},
		{"dropped connection then success", []int{-1}, false, 2},
		{"three 500s exhaust two retries", []int{500, 500, 500}, true, 3},
		{"400 is not retried", []int{400}, true, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &flaky{statuses: tc.statuses}
			c := newFlakyClient(t, f)
			resp, err := c.Chain("v3/businesscircle/points/notify").Post(context.Background(), JSON(pointsBody))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !tc.wantErr && resp.StatusCode != 204 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if len(f.auths) != tc.attempts {
				t.Fatalf("%d attempts, want %d", len(f.auths), tc.attempts)
			}
			seen := map[string]bool{}
			for _, a := range f.auths {
				if seen[a] {
					t.Fatal("an Authorization header was reused across attempts")
				}
				seen[a] = true
			}
		})
	}
}

func TestRetriesCanBeSwitchedOff(t *testing.T) {
	t.Parallel()
	f := &flaky{statuses: []int{500}}
	c := newFlakyClient(t, f, WithoutRetries())
	_, err := c.Chain("v3/businesscircle/points/notify").Post(context.Background(), JSON(pointsBody))
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || len(f.auths) != 1 {
		t.Fatalf("err = %v after %d attempts", err, len(f.auths))
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	wxtest.SharedKeys()
	cases := []struct {
		name    string
		policy  RetryPolicy
		asked   string
		atLeast time.Duration
	}{
		{"default backoff", RetryPolicy{MaxRetries: 2, MinWait: time.Millisecond, MaxWait: 5 * time.Second}, "1", time.Second},
		{"a Backoff that wants no wait still waits as asked",
			RetryPolicy{MaxRetries: 2, MaxWait: 5 * time.Second, Backoff: func(RetryPolicy, int, string, time.Time, float64) time.Duration { return 0 }},
			"2", 2 * time.Second},
		{"HTTP date", RetryPolicy{MaxRetries: 2, MinWait: time.Millisecond, MaxWait: 5 * time.Second},
			"Sat, 01 Jan 2000 00:00:03 GMT", 3 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				m := &memTransport{answers: []memAnswer{errorAnswer(429, http.Header{"Retry-After": {tc.asked}})}}
				c := newMemClient(t, m, WithRetryPolicy(tc.policy))
				if _, err := c.Chain("v3/businesscircle/points/notify").Post(t.Context(), JSON(pointsBody)); err != nil {
					t.Fatal(err)
				}
				reqs := m.got()
				if len(reqs) != 2 {
					t.Fatalf("%d attempts", len(reqs))
				}
				if waited := reqs[1].at.Sub(reqs[0].at); waited < tc.atLeast {
					t.Fatalf("retried after %v, before Retry-After's %v", waited, tc.atLeast)
				}
			})
		})
	}
}

// TestTooLongRetryAfterGivesUpAtOnce: a wait longer than the policy allows,
// or past the deadline, ends the call with the answer's error at once,
// saying how long WeChat Pay asked for; a huge number never wraps round.
func TestTooLongRetryAfterGivesUpAtOnce(t *testing.T) {
	t.Parallel()
	wxtest.SharedKeys()
	cases := []struct {
		name     string
		asked    string
		deadline time.Duration // 0: none
		want     string
	}{
		{"an hour", "3600", 0, "asked to wait 1h0m0s, longer than the retry policy's MaxWait of 5s"},
		{"a date in 2099", "Thu, 31 Dec 2099 23:59:59 GMT", 0, "longer than the retry policy's MaxWait"},
		{"overflowing seconds", "9300000000", 0, "(Retry-After: 9300000000)"},
		{"past the deadline", "3", 2 * time.Second, "asked to wait 3s, past the context deadline"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				m := &memTransport{answers: []memAnswer{errorAnswer(503, http.Header{"Retry-After": {tc.asked}})}}
				c := newMemClient(t, m)
				ctx := t.Context()
				if tc.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.deadline)
					defer cancel()
				}
				start := time.Now()
				_, err := c.Chain("v3/businesscircle/points/notify").Post(ctx, JSON(pointsBody))
				var apiErr *APIError
				if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want the 503 saying %q", err, tc.want)
				}
				if n, waited := len(m.got()), time.Since(start); n != 1 || waited != 0 {
					t.Fatalf("%d attempts over %v, want 1 at once", n, waited)
				}
			})
		})
	}
}

func TestCancelDuringBackoffStopsTheCall(t *testing.T) {
	t.Parallel()
	wxtest.SharedKeys()
	synctest.Test(t, func(t *testing.T) {
		m := &memTransport{answers: []memAnswer{errorAnswer(503, nil)}}
		c := newMemClient(t, m, WithRetryPolicy(RetryPolicy{MaxRetries: 2, MinWait: time.Hour, MaxWait: time.Hour}))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			_, err := c.Chain("v3/businesscircle/points/notify").Post(ctx, JSON(pointsBody))
			done <- err
		}()
		synctest.Wait() // the call is now asleep before its first retry
		cancel()
		err := <-done
		var apiErr *APIError
		if !errors.Is(err, context.Canceled) || !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
			t.Fatalf("err = %v, want context.Canceled wrapping the 503", err)
		}
		if !strings.Contains(err.Error(), "waiting to retry") || len(m.got()) != 1 {
			t.Fatalf("err = %v after %d attempts", err, len(m.got()))
		}
	})
}

func TestNoRetryWhenTheDeadlineComesFirst(t *testing.T) {
	t.Parallel()
	wxtest.SharedKeys()
	synctest.Test(t, func(t *testing.T) {
		m := &memTransport{answers: []memAnswer{errorAnswer(503, nil)}}
		c := newMemClient(t, m, WithRetryPolicy(RetryPolicy{MaxRetries: 2, MinWait: time.Minute, MaxWait: time.Minute}))
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := c.Chain("v3/businesscircle/points/notify").Post(ctx, JSON(pointsBody))
		if !strings.Contains(fmt.Sprint(err), "deadline comes before the next attempt") || len(m.got()) != 1 {
			t.Fatalf("err = %v after %d attempts", err, len(m.got()))
		}
	})
}

// TestCheckRetryAndBackoffArePluggable: the policy's functions replace the
// defaults, and the defaults apply when they are nil.
func TestCheckRetryAndBackoffArePluggable(t *testing.T) {
	t.Parallel()
	wxtest.SharedKeys()
	synctest.Test(t, func(t *testing.T) {
		var checked []int
		p := RetryPolicy{
			MaxRetries: 3,
			CheckRetry: func(status int, err error) bool {
				checked = append(checked, status)
				return status == 400 || ShouldRetry(status, err) // retry a 400 too
			},
			Backoff: func(p RetryPolicy, attempt int, _ string, _ time.Time, _ float64) time.Duration {
				return time.Duration(attempt) * time.Minute
			},
		}
		m := &memTransport{answers: []memAnswer{errorAnswer(400, nil), errorAnswer(500, nil)}}
		c := newMemClient(t, m, WithRetryPolicy(p))
		if _, err := c.Chain("v3/businesscircle/points/notify").Post(t.Context(), JSON(pointsBody)); err != nil {
			t.Fatal(err)
		}
		reqs := m.got()
		if len(reqs) != 3 || len(checked) != 2 || checked[0] != 400 || checked[1] != 500 {
			t.Fatalf("%d attempts, CheckRetry saw %v", len(reqs), checked)
		}
		if w1, w2 := reqs[1].at.Sub(reqs[0].at), reqs[2].at.Sub(reqs[1].at); w1 != time.Minute || w2 != 2*time.Minute {
			t.Fatalf("waits %v, %v; want Backoff's 1m, 2m", w1, w2)
		}
	})
}

// TestSigned202IsRepeatedWithTheSameBody: 202 means "accepted, not processed
// yet: repeat the request with the same parameters" (docs/protocol.md §4.1).
func TestSigned202IsRepeatedWithTheSameBody(t *testing.T) {
	t.Parallel()
	wxtest.SharedKeys()
	accepted := memAnswer{status: http.StatusAccepted, signed: true}
	cases := []struct {
		name     string
		answers  []memAnswer
		attempts int
		wantErr  error
	}{
		{"202 then 204", []memAnswer{accepted}, 2, nil},
		{"202 to every attempt", []memAnswer{accepted, accepted, accepted}, 3, ErrNotProcessed},
		{"unsigned 202 is not trusted, nor repeated", []memAnswer{{status: http.StatusAccepted}}, 1, ErrMissingHeader},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				m := &memTransport{answers: tc.answers}
				c := newMemClient(t, m)
				resp, err := c.Chain("v3/businesscircle/points/notify").Post(t.Context(), JSON(pointsBody))
				switch {
				case tc.wantErr == nil && (err != nil || resp.StatusCode != 204):
					t.Fatalf("resp %v, err %v", resp, err)
				case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if reqs := m.got(); len(reqs) != tc.attempts || !sameBodies(reqs) {
					t.Fatalf("%d attempts (same body: %v), want %d", len(reqs), sameBodies(reqs), tc.attempts)
				}
				if errors.Is(err, ErrNotProcessed) && !strings.Contains(err.Error(), "all 3 attempts") {
					t.Fatalf("err = %v does not say every attempt got 202", err)
				}
			})
		})
	}
}

// TestInvalidHeadersAreRefusedBeforeSending: a header net/http would refuse
// is an ErrInvalidRequest, nothing is sent, and it is never retried.
func TestInvalidHeadersAreRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, key, value string }{
		{"line break in the value", "X-Trace", "a\nb"},
		{"carriage return in the value", "X-Trace", "a\rSet-Cookie: x"},
		{"NUL in the value", "X-Trace", "a\x00b"},
		{"space in the name", "X Trace", "a"},
		{"colon in the name", "X-Trace:", "a"},
		{"empty name", "", "a"},
	}
	m := &memTransport{}
	c := newMemClient(t, m)
	for _, tc := range cases {
		_, err := c.Chain("v3/businesscircle/points/notify").Post(context.Background(), JSON(pointsBody), Header(tc.key, tc.value))
		if !errors.Is(err, ErrInvalidRequest) || ShouldRetry(0, err) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest, not retried", tc.name, err)
		}
	}
	if n := len(m.got()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
	if _, err := c.Chain("v3/businesscircle/points/notify").Post(context.Background(), JSON(pointsBody), Header("X-Trace", "a\tb c")); err != nil {
		t.Fatalf("a tab and a space are valid: %v", err)
	}
}

// A Retry-After is read in seconds or as an HTTP date; a number too large
// for a duration saturates rather than wrapping round to "retry now".
func TestRetryAfterIsSecondsOrAnHTTPDate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		value string
		wait  time.Duration
		ok    bool
	}{
		{"120", 2 * time.Minute, true},
		{"Sun, 29 Nov 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Sun, 29 Nov 2026 11:00:00 GMT", 0, true},
		{"9300000000", time.Duration(math.MaxInt64), true},
		{"soon", 0, false},
		{"", 0, false},
	} {
		if wait, ok := parseRetryAfter(tc.value, now); wait != tc.wait || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.value, wait, ok, tc.wait, tc.ok)
		}
	}
}

// FuzzParseRetryAfter: any header value gives a wait that is never negative,
// and a number of seconds never wraps round to a shorter wait.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "1", "3600", "9300000000", "99999999999999999999999", "-5", "1.5", " 7",
		"Fri, 31 Dec 2099 23:59:59 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseRetryAfter(v, now)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("parseRetryAfter(%q) = %v, %v", v, d, ok)
		}
		if n, err := strconv.ParseUint(v, 10, 64); err == nil && n > 0 && d < time.Second {
			t.Fatalf("parseRetryAfter(%q) = %v: a positive number of seconds became less than one", v, d)
		}
	})
}

package wxpay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
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
	f := &flaky{statuses: []int{429}, header: http.Header{"Retry-After": {"1"}}}
	c := newFlakyClient(t, f)
	start := time.Now()
	if _, err := c.Chain("v3/businesscircle/points/notify").Post(context.Background(), JSON(pointsBody)); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("retried after %v, before Retry-After's 1 s", waited)
	}
}

func TestCancelDuringBackoffStopsTheCall(t *testing.T) {
	t.Parallel()
	f := &flaky{statuses: []int{503}, header: http.Header{"Retry-After": {"3600"}}}
	c := newFlakyClient(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := c.Chain("v3/businesscircle/points/notify").Post(ctx, JSON(pointsBody))
	var apiErr *APIError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
		t.Fatalf("err = %v, want context.Canceled wrapping the 503", err)
	}
	if !strings.Contains(err.Error(), "waiting to retry") || len(f.auths) != 1 {
		t.Fatalf("err = %v after %d attempts", err, len(f.auths))
	}
}

func TestNoRetryWhenTheDeadlineComesFirst(t *testing.T) {
	t.Parallel()
	f := &flaky{statuses: []int{503}, header: http.Header{"Retry-After": {"60"}}}
	c := newFlakyClient(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err := c.Chain("v3/businesscircle/points/notify").Post(ctx, JSON(pointsBody))
	if !strings.Contains(fmt.Sprint(err), "deadline comes before the next attempt") || time.Since(start) > 2*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

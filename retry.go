package wxpay

import (
	"context"
	"crypto/x509"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"
)

// RetryPolicy says how often and how patiently a failed attempt is repeated.
// Every attempt is signed afresh: new timestamp, nonce and signature over the
// same body bytes.
//
// A network error or a 5xx may come after WeChat Pay acted on the request;
// WeChat Pay asks for such requests to be repeated with the same parameters,
// which is what a retry does. A timeout, or a 2xx whose signature did not
// verify, is never retried automatically: its outcome is unknown. Reconcile
// such a call (query the state, or keep it in an outbox and sync again later)
// rather than repeating it blindly. How WeChat Pay treats a second points sync
// of the same transaction is not documented.
//
// A retry never comes sooner than the answer's Retry-After asks. When that
// wait is longer than MaxWait, or would pass the context's deadline, the call
// gives up at once with the answer's error and says how long WeChat Pay asked
// to wait; it never sleeps past what the caller allowed.
type RetryPolicy struct {
	MaxRetries int           // attempts after the first; 0 turns retries off
	MinWait    time.Duration // wait before the first retry, doubled for each further one
	MaxWait    time.Duration // cap on that wait, and on an honoured Retry-After (0: no cap)

	// CheckRetry decides whether an attempt that ended with HTTP status (0
	// when there was no answer) and err is repeated; nil means ShouldRetry.
	// Like go-retryablehttp's CheckRetry, it can wrap the default.
	CheckRetry func(status int, err error) bool
	// Backoff returns the wait before retry number attempt (1 for the first);
	// nil means RetryWait. A shorter wait than the answer's Retry-After is
	// lengthened to it.
	Backoff func(p RetryPolicy, attempt int, retryAfter string, now time.Time, jitter float64) time.Duration
}

// DefaultRetryPolicy returns two retries, 200 ms then 400 ms (with jitter),
// each wait at most 5 s. WeChat Pay asks for "two or three" retries of 5xx
// answers with the same parameters.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 2, MinWait: 200 * time.Millisecond, MaxWait: 5 * time.Second}
}

func (p RetryPolicy) checkRetry(status int, err error) bool {
	if p.CheckRetry != nil {
		return p.CheckRetry(status, err)
	}
	return ShouldRetry(status, err)
}

func (p RetryPolicy) backoff(attempt int, retryAfter string, now time.Time, jitter float64) time.Duration {
	if p.Backoff != nil {
		return p.Backoff(p, attempt, retryAfter, now, jitter)
	}
	return RetryWait(p, attempt, retryAfter, now, jitter)
}

// ShouldRetry reports whether an attempt that ended with HTTP status (0 when
// there was no answer) and err is worth repeating: network errors, 429, 5xx
// other than 501, and a signed 202 (ErrNotProcessed: WeChat Pay asks for the
// same request again). Cancellation and timeouts, verification failures, TLS
// certificate errors, requests refused before sending (ErrInvalidRequest) or
// never signed (*SignError: the merchant key failed), a 2xx whose body could
// not be read (WeChat Pay acted on it) and every other status are final.
func ShouldRetry(status int, err error) bool {
	if errors.Is(err, ErrNotProcessed) {
		return true
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		status, err = apiErr.StatusCode, nil
	}
	if err != nil && status >= 200 && status <= 299 {
		return false
	}
	if err != nil {
		var verr *VerificationError
		var serr *SignError
		var unknownAuthority x509.UnknownAuthorityError
		var hostname x509.HostnameError
		var invalid x509.CertificateInvalidError
		switch {
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
			errors.As(err, &verr), errors.Is(err, ErrResponseTooLarge), errors.Is(err, ErrInvalidRequest),
			errors.As(err, &serr),
			errors.As(err, &unknownAuthority), errors.As(err, &hostname), errors.As(err, &invalid):
			return false
		}
		return true
	}
	return status == http.StatusTooManyRequests || (status >= 500 && status != http.StatusNotImplemented)
}

// RetryWait returns how long to wait before retry number attempt (1 for the
// first retry). retryAfter is the answer's Retry-After header, in seconds or
// as an HTTP date, and wins when present. Otherwise the wait is
// MinWait·2^(attempt-1), capped at MaxWait, of which the upper half is
// scaled by jitter (in [0,1)) so that clients do not retry in lockstep.
func RetryWait(p RetryPolicy, attempt int, retryAfter string, now time.Time, jitter float64) time.Duration {
	if d, ok := parseRetryAfter(retryAfter, now); ok {
		return d
	}
	if attempt < 1 {
		attempt = 1
	}
	d := p.MinWait
	for i := 1; i < attempt && d < p.MaxWait; i++ {
		d *= 2
	}
	if p.MaxWait > 0 && d > p.MaxWait {
		d = p.MaxWait
	}
	jitter = min(max(jitter, 0), 1)
	return d/2 + time.Duration(float64(d/2)*jitter)
}

// parseRetryAfter reads a Retry-After header value (RFC 9110 §10.2.3):
// delay-seconds or an HTTP date, measured from now. A date in the past is 0.
// A number of seconds too large for a time.Duration saturates at the largest
// one instead of wrapping round to a short wait. ok is false for an empty or
// unparsable value, which is then ignored.
func parseRetryAfter(value string, now time.Time) (wait time.Duration, ok bool) {
	if value == "" {
		return 0, false
	}
	if value[0] >= '0' && value[0] <= '9' {
		s, err := strconv.ParseUint(value, 10, 64)
		switch {
		case errors.Is(err, strconv.ErrRange), err == nil && s > uint64(math.MaxInt64/int64(time.Second)):
			return time.Duration(math.MaxInt64), true
		case err != nil:
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	t, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true // Sub saturates; it never wraps
}

// sleep waits d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

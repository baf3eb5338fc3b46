package outbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
)

func TestOnlyADefiniteRefusalParksASyncAndAnUnknownOutcomeIsToldApart(t *testing.T) {
	t.Parallel()
	api := func(status int, code string) error {
		return fmt.Errorf("call: %w", &wxpay.APIError{StatusCode: status, Code: code})
	}
	for _, c := range []struct {
		name string
		err  error
		want verdict
	}{
		{"204", nil, synced},
		{"400 PARAM_ERROR", api(400, "PARAM_ERROR"), park},
		{"403 NO_AUTH", api(403, "NO_AUTH"), park},
		{"404 RESOURCE_NOT_EXISTS", api(404, "RESOURCE_NOT_EXISTS"), park},
		{"401 SIGN_ERROR: the merchant's configuration", api(401, "SIGN_ERROR"), retry},
		{"429 FREQUENCY_LIMITED", api(429, "FREQUENCY_LIMITED"), retry},
		{"500 SYSTEM_ERROR", api(500, "SYSTEM_ERROR"), retry},
		{"503", api(503, ""), retry},
		{"a refused connection: nothing sent", &url.Error{Op: "Post", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, retry},
		{"a 202: WeChat Pay asks for it again", fmt.Errorf("call: %w", wxpay.ErrNotProcessed), retry},
		{"a connection broken after sending", &url.Error{Op: "Post", Err: io.EOF}, unknown},
		{"a read that failed", &url.Error{Op: "Post", Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}}, unknown},
		{"a timeout", &url.Error{Op: "Post", Err: context.DeadlineExceeded}, unknown},
		{"an answer that does not verify", fmt.Errorf("verify: %w", wxpay.ErrBadSignature), unknown},
		{"a request the SDK refuses to send", &businesscircle.ValidationError{Field: "openid", Rule: "required"}, park},
	} {
		if got := classify(c.err); got != c.want {
			t.Errorf("%s: verdict %d, want %d", c.name, got, c.want)
		}
	}
}

func TestBackoffDoublesFromItsBaseUpToTheCapWithATenthOfJitter(t *testing.T) {
	t.Parallel()
	b := &backoff{base: time.Second, max: DefaultMaxBackoff}
	for _, c := range []struct {
		errors int
		want   time.Duration
	}{{0, time.Second}, {1, 2 * time.Second}, {3, 8 * time.Second}, {20, DefaultMaxBackoff}, {400, DefaultMaxBackoff}} {
		job := &rivertype.JobRow{Errors: make([]rivertype.AttemptError, c.errors)}
		d := time.Until(b.NextRetry(job))
		if d < c.want-time.Second || d > c.want+c.want/10+time.Second {
			t.Errorf("after %d errors: wait %v, want %v plus up to a tenth", c.errors, d, c.want)
		}
	}
}

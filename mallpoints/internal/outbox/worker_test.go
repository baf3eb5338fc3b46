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
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
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
		{"a refusal of a member who withdrew", fmt.Errorf("%w: %w", ErrNotAuthorized, api(400, "USER_NOT_AUTHORIZED")), notAuthorized},
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

// authorizer answers the authorisation query with state, or err, and
// counts the questions.
type authorizer struct {
	state string
	err   error
	asked int
}

func (a *authorizer) Authorization(context.Context, string, string, string) (string, error) {
	a.asked++
	return a.state, a.err
}

// A refused points sync is classified by the authorisation query, not by
// its code: DEAUTHORIZED makes it not_authorized; anything else, a failed
// query included, leaves the refusal as it was. Only a refusal that would
// park asks.
func TestARefusedSyncIsClassifiedByTheAuthorizationQuery(t *testing.T) {
	t.Parallel()
	refused := &wxpay.APIError{StatusCode: 400, Code: "ANY_CODE"}
	for _, c := range []struct {
		name  string
		err   error
		a     *authorizer
		asked int
		want  verdict
	}{
		{"a 4xx, the member DEAUTHORIZED", refused, &authorizer{state: "DEAUTHORIZED"}, 1, notAuthorized},
		{"a 4xx, the member AUTHORIZED", refused, &authorizer{state: "AUTHORIZED"}, 1, park},
		{"a 4xx, the query failing", refused, &authorizer{err: errors.New("down")}, 1, park},
		{"a 429 is retried, not asked about", &wxpay.APIError{StatusCode: 429}, &authorizer{state: "DEAUTHORIZED"}, 0, retry},
		{"a 500 is retried, not asked about", &wxpay.APIError{StatusCode: 500}, &authorizer{state: "DEAUTHORIZED"}, 0, retry},
		{"a 204", nil, &authorizer{state: "DEAUTHORIZED"}, 0, synced},
		{"no authorizer", refused, nil, 0, park},
	} {
		w := &worker{}
		if c.a != nil {
			w.cfg.Authorizations = c.a
		}
		got := classify(w.why(context.Background(), storage.Transaction{Mall: "m", OpenID: "o", AppID: "wx"}, c.err))
		asked := 0
		if c.a != nil {
			asked = c.a.asked
		}
		if got != c.want || asked != c.asked {
			t.Errorf("%s: verdict %d after %d questions, want %d after %d", c.name, got, asked, c.want, c.asked)
		}
	}
}

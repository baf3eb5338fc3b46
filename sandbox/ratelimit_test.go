package sandbox_test

import (
	"net/http"
	"testing"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// With Config.RateLimits a merchant gets the documented 150 authorisation
// queries in a second and the next is 429 FREQUENCY_LIMITED; without it (the
// default) there is no limit. The sandbox clock is fixed, so "a second" is
// the whole test.
func TestRateLimitsAreDocumentedAndOptional(t *testing.T) {
	t.Parallel()
	limit := sandbox.DocumentedRateLimits()[sandbox.PathUserAuthorization]
	if limit != 150 {
		t.Fatalf("documented limit of the authorisation query = %d, want 150", limit)
	}
	target := "/v3/businesscircle/user-authorizations/" + openID + "?appid=" + appID
	for _, enforced := range []bool{false, true} {
		srv := newServer(t, sandbox.WithConfig(func(c *sandbox.Config) { c.RateLimits = enforced }))
		for i := range limit {
			if a := send(t, srv, raw{method: http.MethodGet, target: target}); a.status != 200 {
				t.Fatalf("RateLimits %v: request %d = %d %s", enforced, i+1, a.status, a.body)
			}
		}
		a := send(t, srv, raw{method: http.MethodGet, target: target})
		switch code, _, _ := a.apiErr(t); {
		case enforced && (a.status != 429 || code != "FREQUENCY_LIMITED"):
			t.Errorf("request %d with RateLimits = %d %s, want 429 FREQUENCY_LIMITED", limit+1, a.status, a.body)
		case !enforced && a.status != 200:
			t.Errorf("request %d without RateLimits = %d %s, want 200", limit+1, a.status, a.body)
		}
		// Other endpoints have no documented limit.
		if a := send(t, srv, raw{method: http.MethodGet, target: "/v3/businesscircle/users/" + openID + "/points/commit_status?brandid=1&appid=" + appID}); a.status != 200 {
			t.Errorf("RateLimits %v: commit_status = %d %s", enforced, a.status, a.body)
		}
	}
}

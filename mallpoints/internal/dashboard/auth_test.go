package dashboard

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
)

func TestGuardLetsInTheBearerTokenOrASessionForPagesOnly(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	d := guarded("tok", clock)
	h := d.Guard(routed(d))
	session := sessionValue("tok", now.Add(time.Hour))
	for _, c := range []struct {
		name, method, path, auth, cookie string
		want                             int
	}{
		{"a page with the bearer token", "GET", "/", "Bearer tok", "", 200},
		{"the API with the bearer token", "GET", "/api/members", "Bearer tok", "", 200},
		{"a page with a session", "GET", "/parked", "", session, 200},
		{"a form post with a session", "POST", "/parked/1/retry", "", session, 200},
		{"a page without either goes to sign in", "GET", "/parked", "", "", 303},
		{"the sign-in page is open", "GET", "/signin", "", "", 200},
		{"the stylesheet is open", "GET", "/static/style.css", "", "", 200},
		{"the API with a session only", "GET", "/api/members", "", session, 401},
		{"the metrics with a session only", "GET", "/metrics", "", session, 401},
		{"a form post without a session", "POST", "/parked/1/retry", "", "", 401},
		{"a wrong token", "GET", "/api/members", "Bearer tok2", "", 401},
		{"not a Bearer", "GET", "/api/members", "Basic dG9rOg==", "", 401},
		{"an expired session", "GET", "/", "", sessionValue("tok", now.Add(-time.Second)), 303},
		{"a session signed with another token", "GET", "/", "", sessionValue("other", now.Add(time.Hour)), 303},
		{"a forged session", "GET", "/", "", "99999999999.AAAA", 303},
		{"an account's session, with no accounts here", "GET", "/", "", "c2Vzc2lvbg", 303},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		if c.cookie != "" {
			r.AddCookie(&http.Cookie{Name: SessionCookie, Value: c.cookie})
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%s: status %d, want %d", c.name, w.Code, c.want)
		}
	}
}

// guarded is a Dashboard with only what Guard and Allow need.
func guarded(token string, now func() time.Time) *Dashboard {
	d := &Dashboard{cfg: Config{Token: token, Now: now, Logger: slog.New(slog.DiscardHandler)}, signins: newSigninLimiter(now)}
	if err := d.parse(); err != nil {
		panic(err)
	}
	return d
}

// routed is a few routes of the admin surface behind d.Allow, each
// answering 200: the sign-in and the stylesheet are open, the rest needs
// Read (the API, the pages) or Retry (a form) or Metrics.
func routed(d *Dashboard) http.Handler {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mux := http.NewServeMux()
	for pattern, perm := range map[string]accounts.Permission{
		"GET /signin": accounts.Open, "GET /static/": accounts.Open, "GET /{$}": accounts.Read, "GET /parked": accounts.Read,
		"POST /parked/{id}/retry": accounts.Retry, "GET /api/members": accounts.Read, "GET /metrics": accounts.Metrics,
		"GET /api/members/{mall}/{openid}": accounts.Read,
	} {
		mux.Handle(pattern, d.Allow(perm, ok))
	}
	return mux
}

func TestGuardThrottlesWrongBearerTokensPerAddressButNotTheRightOneFromAFreshAddress(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	now := start
	d := guarded("tok", func() time.Time { return now })
	h := d.Guard(routed(d))
	call := func(addr, auth string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/api/members", nil)
		r.RemoteAddr = addr
		r.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for range signinFailures {
		if w := call("203.0.113.7:4000", "Bearer guess"); w.Code != http.StatusUnauthorized {
			t.Fatalf("a wrong token: status %d, want 401", w.Code)
		}
	}
	for _, c := range []struct {
		name, addr, auth string
		at               time.Duration
		want             int
	}{
		{"a wrong token from the guessing address", "203.0.113.7:4001", "Bearer guess", time.Minute, 429},
		{"the right token from the guessing address", "203.0.113.7:4002", "Bearer tok", time.Minute, 429},
		{"the right token from another port of it", "203.0.113.7:4003", "Bearer tok", 2 * time.Minute, 429},
		{"the right token from a fresh address", "198.51.100.9:4000", "Bearer tok", 2 * time.Minute, 200},
		{"the right token once the window ended", "203.0.113.7:4004", "Bearer tok", signinWindow, 200},
	} {
		now = start.Add(c.at)
		w := call(c.addr, c.auth)
		if w.Code != c.want {
			t.Errorf("%s: status %d, want %d", c.name, w.Code, c.want)
		}
		if w.Code == 429 && w.Header().Get("Retry-After") == "" {
			t.Errorf("%s: 429 without Retry-After", c.name)
		}
	}
}

func TestWithoutATokenOrAccountsLoopbackIsTheLocalAdministratorAndNothingElseIs(t *testing.T) {
	t.Parallel()
	d := guarded("", time.Now)
	h := d.Guard(routed(d))
	for _, c := range []struct {
		name, addr string
		header     http.Header
		want       int
	}{
		{"IPv4 loopback", "127.0.0.1:5000", nil, 200},
		{"IPv6 loopback", "[::1]:5000", nil, 200},
		{"another address", "192.0.2.1:5000", nil, 401},
		{"loopback forwarded by a proxy", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"203.0.113.7"}}, 401},
		{"loopback forwarded by a proxy, RFC 7239", "127.0.0.1:5000", http.Header{"Forwarded": {"for=203.0.113.7"}}, 401},
	} {
		r := httptest.NewRequest("GET", "/api/members", nil)
		r.RemoteAddr = c.addr
		for k, v := range c.header {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%s: status %d, want %d", c.name, w.Code, c.want)
		}
	}
}

func TestAllowAnswers403ForAMissingPermissionAnd404ForAnotherMall(t *testing.T) {
	t.Parallel()
	d := guarded("", time.Now)
	h := routed(d)
	viewer := accounts.Principal{Name: "li.na", Role: accounts.Viewer, Malls: []string{"1900000109"}}
	for _, c := range []struct {
		name, method, path string
		want               int
	}{
		{"a read of its mall", "GET", "/api/members/1900000109/oA", 200},
		{"a read of another mall", "GET", "/api/members/1900000110/oA", 404},
		{"a retry, which a viewer may not", "POST", "/parked/1/retry", 403},
		{"the metrics, which a scoped viewer may not see", "GET", "/metrics", 403},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		r = r.WithContext(accounts.WithPrincipal(r.Context(), viewer))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%s: status %d, want %d", c.name, w.Code, c.want)
		}
	}
}

func TestSignInReturnsOnlyToACleanPathOfThisSite(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"/parked?after=3", "/parked?after=3"},
		{"/members/1900000109/oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "/members/1900000109/oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
		{"/", "/"},
		{"", "/"},
		{"parked", "/"},
		{"https://evil.example", "/"},
		{"//evil.example/x", "/"},
		{"/\\evil.example", "/"},
		{"\\/evil.example", "/"},
		{"/\t/evil.example/", "/"},
		{"/\n/evil.example/", "/"},
		{"/\r/evil.example/", "/"},
		{"\t//evil.example/", "/"},
		{" //evil.example/", "/"},
		{"/ /evil.example/", "/"},
		{"/\u00a0/evil.example/", "/"},
		{"/\x00/evil.example/", "/"},
		{"/%09/evil.example/", "/"},
		{"/%0a/evil.example/", "/"},
		{"/%2F/evil.example/", "/"},
		{"/%2f%2fevil.example/", "/"},
		{"/%5Cevil.example/", "/"},
		{"/%5c%5cevil.example/", "/"},
		{"/%zz", "/"},
		{"/a\\b", "/"},
		{"/x/../\\evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"/http://evil.example", "/http://evil.example"},
	} {
		if got := localPath(c.in); got != c.want {
			t.Errorf("localPath(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzLocalPath: whatever a sign-in form carries, the redirect stays on
// this site.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/parked", "//evil.example", "/\t/evil.example/", "/%09/x", "/\\x", "https://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := localPath(s)
		if got == "/" {
			return
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(got, "/") ||
			strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\t\n\r ") {
			t.Fatalf("localPath(%q) = %q leaves the site", s, got)
		}
	})
}

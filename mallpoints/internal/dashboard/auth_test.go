package dashboard

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestGuardLetsInTheBearerTokenOrASessionForPagesOnly(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	h := guarded("tok", clock).Guard(ok)
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
		{"an expired session", "GET", "/", "", sessionValue("tok", now.Add(-time.Second)), 303},
		{"a session signed with another token", "GET", "/", "", sessionValue("other", now.Add(time.Hour)), 303},
		{"a forged session", "GET", "/", "", "99999999999.AAAA", 303},
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

// guarded is a Dashboard with only what Guard needs.
func guarded(token string, now func() time.Time) *Dashboard {
	return &Dashboard{cfg: Config{Token: token, Now: now, Logger: slog.New(slog.DiscardHandler)}, signins: newSigninLimiter(now)}
}

func TestGuardThrottlesWrongBearerTokensPerAddressButNotTheRightOneFromAFreshAddress(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	now := start
	h := guarded("tok", func() time.Time { return now }).Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
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

func TestGuardWithoutATokenLetsEverythingThrough(t *testing.T) {
	t.Parallel()
	h := guarded("", time.Now).Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/members", nil))
	if w.Code != 204 {
		t.Errorf("status %d, want 204", w.Code)
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

package dashboard

import (
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
	h := Guard("tok", clock, ok)
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

func TestGuardWithoutATokenLetsEverythingThrough(t *testing.T) {
	t.Parallel()
	h := Guard("", time.Now, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
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

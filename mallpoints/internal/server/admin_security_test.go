package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/server"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit"
)

// rebound is what a browser sends to the admin listener after DNS
// rebinding: the attacker's name, as same-origin.
func rebound(req *http.Request, port string) {
	req.Host = "evil.example:" + port
	req.Header.Set("Origin", "http://evil.example:"+port)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
}

func TestAForeignHostIsRefusedWith421(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{}) // no token: the implicit local administrator
		openid := e.member(e.mchID)
		port := e.admin.URL[strings.LastIndex(e.admin.URL, ":")+1:]
		for _, c := range []struct{ method, path, body string }{
			{http.MethodPost, "/api/members/" + e.mchID + "/" + openid + "/adjustments", `{"points":1000,"reason":"rebinding"}`},
			{http.MethodGet, "/api/members", ""},
			{http.MethodGet, "/debug/pprof/", ""},
			{http.MethodGet, "/", ""},
			{http.MethodGet, "/metrics", ""},
		} {
			req, _ := http.NewRequest(c.method, e.admin.URL+c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "rebinding-1")
			rebound(req, port)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusMisdirectedRequest || !strings.Contains(string(body), "--admin-url") {
				t.Errorf("%s %s as evil.example: %d %.100q, want 421 naming --admin-url", c.method, c.path, resp.StatusCode, body)
			}
		}
		var m struct{ Member struct{ Balance int64 } }
		if st := e.get("/api/members/"+e.mchID+"/"+openid, &m); st != http.StatusOK || m.Member.Balance != 0 {
			t.Errorf("by its own address: status %d, balance %d; want 200 and nothing adjusted", st, m.Member.Balance)
		}
		for _, host := range []string{"localhost:" + port, "127.0.0.1:" + port, "localhost"} {
			req, _ := http.NewRequest(http.MethodGet, e.admin.URL+"/api/members", nil)
			req.Host = host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("Host %s on loopback: status %d, want 200", host, resp.StatusCode)
			}
		}
	})
}

// adminOnly is a service's admin surface, for tests of its configuration:
// a Server on a database of its own (without its outbox started), served
// on loopback, with its log kept.
type adminOnly struct {
	srv   *server.Server
	admin *httptest.Server
	log   *testkit.Buffer
}

func newAdminOnly(t *testing.T, e *env, dsn string, cfg server.Config) *adminOnly {
	t.Helper()
	a := &adminOnly{log: &testkit.Buffer{}}
	cfg.DB, cfg.MchID, cfg.Client, cfg.Parser = dsn, e.mchID, e.client, e.parser
	cfg.Logger = slog.New(slog.NewTextHandler(a.log, nil))
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.srv = srv
	a.admin = httptest.NewServer(srv.Admin())
	t.Cleanup(func() {
		a.admin.Close()
		srv.Close(context.Background())
	})
	return a
}

// scrape reads the service's metrics.
func (a *adminOnly) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	list, err := a.srv.Metrics().Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	fams := map[string]*dto.MetricFamily{}
	for _, f := range list {
		fams[f.GetName()] = f
	}
	return fams
}

func TestAnAdminURLNamesAHostAndAnOriginTheConsoleAccepts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		a := newAdminOnly(t, e, engineDSN(t, dsn), server.Config{AdminURLs: []string{"https://console.mall.example", "http://10.0.0.5:8081/"}})
		for _, c := range []struct {
			name, method, host, origin string
			want                       int
		}{
			{"the console's host", http.MethodGet, "console.mall.example", "", http.StatusOK},
			{"the console's host with its default port", http.MethodGet, "console.mall.example:443", "", http.StatusOK},
			{"the second URL's host", http.MethodGet, "10.0.0.5:8081", "", http.StatusOK},
			{"the second URL's host on another port", http.MethodGet, "10.0.0.5:8082", "", http.StatusMisdirectedRequest},
			{"another host", http.MethodGet, "mall.example", "", http.StatusMisdirectedRequest},
			// A reverse proxy that sends its own address as Host: the
			// console's origin is expected, another is cross-origin.
			{"a form post from the console's origin", http.MethodPost, "", "https://console.mall.example", http.StatusNotFound},
			{"a form post from another origin", http.MethodPost, "", "https://evil.example", http.StatusForbidden},
		} {
			path := "/api/members"
			if c.method == http.MethodPost {
				path = "/api/syncs/999/retry" // no such sync: 404 once let through
			}
			req, _ := http.NewRequest(c.method, a.admin.URL+path, nil)
			if c.host != "" {
				req.Host = c.host
			}
			if c.origin != "" {
				req.Header.Set("Origin", c.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.want)
			}
		}
	})
}

// engineDSN is a second database of the engine dsn is on.
func engineDSN(t *testing.T, dsn string) string {
	if strings.HasPrefix(dsn, "postgres") {
		return newPostgresDatabase(t, dsn)
	}
	return filepath.Join(t.TempDir(), "second.db")
}

func TestAnAdjustmentRecordsItsActor(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		for _, c := range []struct{ token, actor string }{
			{"", "local"},
			{"an-admin-token-of-more-than-32-characters", "token"},
		} {
			e := newEnv(t, dsn, envOptions{token: c.token})
			openid := e.member(e.mchID)
			var got struct {
				Adjustment struct {
					Actor  string `json:"actor"`
					Points int64  `json:"points"`
				} `json:"adjustment"`
			}
			st := e.do(http.MethodPost, "/api/members/"+e.mchID+"/"+openid+"/adjustments",
				map[string]any{"points": 5, "reason": "welcome gift"}, http.Header{"Idempotency-Key": {"actor-" + c.actor}}, &got)
			if st != http.StatusCreated || got.Adjustment.Actor != c.actor || got.Adjustment.Points != 5 {
				t.Errorf("token %v: status %d, adjustment %+v; want 201 by %q", c.token != "", st, got.Adjustment, c.actor)
			}
			// The replay answers with the adjustment as recorded.
			got.Adjustment.Actor = ""
			st = e.do(http.MethodPost, "/api/members/"+e.mchID+"/"+openid+"/adjustments",
				map[string]any{"points": 5, "reason": "welcome gift"}, http.Header{"Idempotency-Key": {"actor-" + c.actor}}, &got)
			if st != http.StatusOK || got.Adjustment.Actor != c.actor {
				t.Errorf("replay: status %d, actor %q", st, got.Adjustment.Actor)
			}
			e.stop()
			dsn = engineDSN(t, dsn)
		}
	})
}

func TestEveryStateChangingAdminRequestIsLoggedWithItsActor(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{})
	a := newAdminOnly(t, e, filepath.Join(t.TempDir(), "second.db"), server.Config{})
	resp, err := http.Post(a.admin.URL+"/api/syncs/999/retry", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := http.Get(a.admin.URL + "/api/members"); err != nil {
		t.Fatal(err)
	}
	log := a.log.String()
	if !strings.Contains(log, "method=POST path=/api/syncs/999/retry status=404 actor=local") {
		t.Errorf("no line names the POST with its actor; log:\n%s", log)
	}
	if strings.Contains(log, "path=/api/members") {
		t.Errorf("a read was logged as a change; log:\n%s", log)
	}
}

func TestWrongBearerTokensAreThrottledPerAddressWith429(t *testing.T) {
	t.Parallel()
	const token = "an-admin-token-of-more-than-32-characters"
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{token: token})
	call := func(tok string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, e.admin.URL+"/api/members", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 10 {
		if r := call("guess-" + fmtInt(int64(i))); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: status %d, want 401", i+1, r.StatusCode)
		}
	}
	for _, tok := range []string{"guess-11", token} {
		r := call(tok)
		if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Errorf("after ten wrong tokens, a token from the same address: status %d, Retry-After %q; want 429 with Retry-After",
				r.StatusCode, r.Header.Get("Retry-After"))
		}
	}
}

func TestSignInNeverRedirectsOffSite(t *testing.T) {
	t.Parallel()
	const token = "an-admin-token-of-more-than-32-characters"
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{token: token})
	for _, next := range []string{"/\t/evil.example/", "/%09/evil.example/", "//evil.example/", "/\\evil.example/", "https://evil.example/"} {
		resp, err := noRedirects.PostForm(e.admin.URL+"/signin", url.Values{"token": {token}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			t.Errorf("next=%q: %d to %q, want 303 to /", next, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// A sign-in form carries next as the query string had it.
	resp, err := noRedirects.Get(e.admin.URL + "/signin?next=/%09/evil.example/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(page), "evil.example") {
		t.Errorf("the sign-in form carries the foreign next: %s", page)
	}
}

func TestANoticeInTheURLIsNotShownButTheServicesOwnIs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{})
	const forged = "Your points expire today: sign in again at evil.example"
	for _, path := range []string{"/?notice=" + url.QueryEscape(forged), "/parked?notice=" + url.QueryEscape(forged)} {
		if page, st := e.page(http.MethodGet, path, nil); st != http.StatusOK || strings.Contains(page, "evil.example") {
			t.Errorf("GET %s: status %d, and the page shows the text of the URL", path, st)
		}
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.PostForm(e.admin.URL+"/parked/999/retry", nil)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Sync 999 was not parked any more") {
		t.Errorf("the retry's own notice is not shown after its redirect: %d %s", resp.StatusCode, page)
	}
	resp, err = browser.Get(e.admin.URL + "/parked")
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(page), "Sync 999") {
		t.Error("the notice is shown again on the next page")
	}
}

func TestReadyzChecksTheDatabaseOncePerWindow(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		a := newAdminOnly(t, e, engineDSN(t, dsn), server.Config{ReadyCache: time.Hour})
		public := httptest.NewServer(a.srv.Public())
		defer public.Close()
		for i := range 50 {
			resp, err := http.Get(public.URL + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/readyz call %d: status %d", i, resp.StatusCode)
			}
		}
		fams := a.scrape(t)
		if n, ok := value(t, fams, "mallpoints_readiness_checks_total", nil); !ok || n != 1 {
			t.Errorf("50 calls within the window made %v database checks (found %v), want 1", n, ok)
		}
		a.srv.Drain()
		resp, err := http.Get(public.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("/readyz while draining, within the window: status %d, want 503 at once", resp.StatusCode)
		}
	})
}

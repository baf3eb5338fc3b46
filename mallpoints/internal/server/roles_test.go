package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/server"
)

// Two malls of a provider: the scoped accounts are confined to mallA.
const (
	mallA = "1900000301"
	mallB = "1900000302"
)

// routeRoles says who may use each route of the admin listener, written
// here apart from the code's table so that a change to either shows: V
// viewer, O operator, A admin (and the admin token), P app; "*" when an
// account confined to malls may not, whatever its role; "open" for
// everyone, signed in or not. A route missing here fails the test.
var routeRoles = map[string]string{
	"GET /api/members":   "VOA",
	"GET /api/merchants": "VOA*",
	"GET /api/audit":     "A*",
	"GET /decisions":     "VOA",
	"POST /decisions/{kind}/{mall}/{subject}/{action}": "OA",
	"GET /audit":                       "A*",
	"GET /audit.csv":                   "A*",
	"GET /api/members/{mall}/{openid}": "VOA",
	"POST /api/members/{mall}/{openid}/adjustments": "OAP",
	"POST /api/members/{mall}/{openid}/erasure":     "A",
	"PUT /api/members/{mall}/{openid}/tier":         "AP",
	"PUT /api/members/{mall}/{openid}":              "AP",
	"GET /api/members/{mall}/{openid}/status":       "VOAP",
	"GET /api/transactions":                         "VOA",
	"GET /api/transactions/{mall}/{transaction_id}": "VOA",
	"GET /api/syncs":                                "VOA",
	"GET /api/syncs/{id}":                           "VOA",
	"POST /api/syncs/{id}/retry":                    "OA",
	"GET /api/parked":                               "VOA",
	"GET /api/parkings":                             "VOA",
	"POST /api/parkings":                            "AP",
	"GET /api/rules":                                "VOA",
	"POST /api/rules/preview":                       "OA",
	"GET /api/entries":                              "VOAP",
	"GET /api/refusals":                             "VOA",
	"POST /api/expiry/run":                          "A*",
	"GET /api/expiry/runs/{id}":                     "A*",
	"GET /api/expiry/runs":                          "A*",
	"GET /expiry":                                   "A*",
	"POST /expiry/run":                              "A*",
	"GET /api/decisions":                            "VOA",
	"POST /api/decisions/{kind}/{mall}/{subject}":   "OA",
	"GET /api/webhooks/deliveries":                  "VOA",
	"POST /api/webhooks/{name}/redeliver":           "OAP",
	"/api/":                                         "VOAP",
	"GET /static/":                                  "open",
	"GET /signin":                                   "open",
	"POST /signin":                                  "open",
	"POST /signout":                                 "open",
	"POST /lang":                                    "open",
	"GET /transactions":                             "VOA",
	"GET /live/syncs":                               "VOA",
	"GET /{$}":                                      "VOA",
	"GET /members":                                  "VOA",
	"GET /members/{mall}/{openid}":                  "VOA",
	"GET /transactions/{mall}/{transaction_id}":     "VOA",
	"GET /parked":                                   "VOA",
	"POST /parked/{id}/retry":                       "OA",
	"GET /rules":                                    "VOA",
	"POST /rules/preview":                           "OA",
	"GET /export":                                   "OA",
	"GET /export/ledger.csv":                        "OA",
	"POST /simulate/payment":                        "OA",
	"POST /simulate/refund":                         "OA",
	"GET /metrics":                                  "VOA*",
	"GET /debug/pprof/":                             "A*",
	"GET /debug/pprof/profile":                      "A*",
	"GET /debug/pprof/trace":                        "A*",
}

// principal is one way of calling the admin listener in the walk.
type principal struct {
	name   string
	letter string // its role's letter in routeRoles; "" without credentials
	scoped bool
	bearer string       // for every route when the account has no session (app), else for machine routes
	cookie *http.Cookie // a session, for the pages
	client *http.Client // no redirects followed
}

// TestEveryRouteForEveryRole walks every route the admin listener serves
// (server.AdminRoutes, the list its mux is made from) as each role, an
// account confined to one mall, the admin token and no one: a role the
// route is not for gets 403, no credential 401 (a page: 303 to sign in),
// anyone else gets past the guard. Then it reads what the account confined
// to one mall sees: its mall's members, payments, syncs, entries and rules,
// never the other's, which are 404 to it.
func TestEveryRouteForEveryRole(t *testing.T) {
	t.Parallel()
	const token = "an-admin-token-of-more-than-32-characters"
	set, err := rules.Parse([]byte("malls:\n  - mchid: \"" + mallA + "\"\n    fen_per_point: 100\n  - mchid: \"" + mallB + "\"\n    fen_per_point: 50\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{subs: []string{mallA, mallB}, rules: set, token: token})
	// A member and a synced payment at each mall, read with the admin token.
	openA, openB := e.member(mallA), e.member(mallB)
	txA, txB := e.pay(mallA, openA, 10000, ""), e.pay(mallB, openB, 10000, "")
	syncA, syncB := e.synced(mallA, txA).Transaction.Sync.ID, e.synced(mallB, txB).Transaction.Sync.ID

	ctx := context.Background()
	svc := e.srv.Accounts()
	const password = "a password of some length"
	people := []struct {
		name   string
		role   accounts.Role
		malls  []string
		letter string
	}{
		{"vera", accounts.Viewer, nil, "V"},
		{"otto", accounts.Operator, nil, "O"},
		{"ada", accounts.Admin, nil, "A"},
		{"crm", accounts.App, nil, "P"},
		{"sam", accounts.Viewer, []string{mallA}, "V"},
		{"olga", accounts.Operator, []string{mallA}, "O"},
	}
	var walkers []principal
	for _, p := range people {
		pw := password
		if p.role == accounts.App {
			pw = ""
		}
		if err := svc.Add(ctx, p.name, p.role, p.malls, pw); err != nil {
			t.Fatal(err)
		}
		tok, err := svc.NewToken(ctx, p.name)
		if err != nil {
			t.Fatal(err)
		}
		w := principal{name: p.name, letter: p.letter, scoped: p.malls != nil, bearer: tok, client: noRedirects}
		if p.role != accounts.App {
			w.cookie = signIn(t, e, p.name, password)
		}
		walkers = append(walkers, w)
	}
	walkers = append(walkers,
		principal{name: "the admin token", letter: "A", bearer: token, client: noRedirects},
		principal{name: "no one", client: noRedirects})

	routes := e.srv.AdminRoutes()
	if len(routes) == 0 {
		t.Fatal("the server lists no admin routes")
	}
	var patterns []string
	for _, rt := range routes {
		patterns = append(patterns, rt.Pattern)
		roles, ok := routeRoles[rt.Pattern]
		if !ok {
			t.Errorf("route %q (permission %s) is not in routeRoles: say there who may use it", rt.Pattern, rt.Permission)
			continue
		}
		// No member oWalk: an erasure let through erases nothing.
		method, path := requestOf(rt.Pattern, map[string]string{"mall": mallA, "openid": "oWalk", "transaction_id": txA,
			"id": fmtInt(syncA), "kind": "payment", "subject": txA, "name": "crm"})
		for _, w := range walkers {
			status := call(t, e, w, method, path, token)
			allowed := roles == "open" || (w.letter != "" && strings.Contains(roles, w.letter) && !(w.scoped && strings.Contains(roles, "*")))
			switch {
			case allowed && (status == http.StatusUnauthorized || status == http.StatusForbidden):
				t.Errorf("%s %s as %s: %d, want it let through", method, path, w.name, status)
			case !allowed && w.letter == "" && status != http.StatusUnauthorized:
				t.Errorf("%s %s without credentials: %d, want 401 (or 303 to sign in)", method, path, status)
			case !allowed && w.letter != "" && status != http.StatusForbidden:
				t.Errorf("%s %s as %s: %d, want 403", method, path, w.name, status)
			}
		}
	}
	for pattern := range routeRoles {
		if !slices.Contains(patterns, pattern) {
			t.Errorf("routeRoles names %q, which the admin listener does not serve", pattern)
		}
	}

	// What the accounts confined to mallA see.
	sam, olga := walkers[4], walkers[5]
	get := func(w principal, path string, v any) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.admin.URL+path, nil)
		authorize(req, w, path)
		resp, err := w.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if s, ok := v.(*string); ok {
			*s = string(raw)
		} else if v != nil && resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(raw, v); err != nil {
				t.Fatalf("GET %s: %v in %s", path, err, raw)
			}
		}
		return status(resp)
	}
	for _, path := range []string{"/api/members", "/api/transactions", "/api/syncs", "/api/entries", "/api/rules"} {
		var lists scopedLists
		if st := get(sam, path, &lists); st != http.StatusOK {
			t.Errorf("GET %s as %s: %d", path, sam.name, st)
			continue
		}
		malls := lists.malls()
		if len(malls) == 0 || slices.ContainsFunc(malls, func(m string) bool { return m != mallA }) {
			t.Errorf("GET %s as %s lists malls %v, want %s's only", path, sam.name, malls, mallA)
		}
	}
	for _, path := range []string{
		"/api/members/" + mallB + "/" + openB, "/api/members/" + mallB + "/" + openB + "/status",
		"/api/transactions/" + mallB + "/" + txB, "/api/syncs/" + fmtInt(syncB),
		"/members/" + mallB + "/" + openB, "/transactions/" + mallB + "/" + txB,
	} {
		if st := get(sam, path, nil); st != http.StatusNotFound {
			t.Errorf("GET %s (the other mall's) as %s: %d, want 404", path, sam.name, st)
		}
	}
	for _, path := range []string{"/api/members/" + mallA + "/" + openA, "/members/" + mallA + "/" + openA} {
		if st := get(sam, path, nil); st != http.StatusOK {
			t.Errorf("GET %s (its own mall's) as %s: %d, want 200", path, sam.name, st)
		}
	}
	var page string
	for _, path := range []string{"/", "/members", "/rules"} {
		if st := get(sam, path, &page); st != http.StatusOK || !strings.Contains(page, mallA) || strings.Contains(page, mallB) {
			t.Errorf("GET %s as %s: %d; the page names %s: %v, %s: %v; want its mall only", path, sam.name, st,
				mallA, strings.Contains(page, mallA), mallB, strings.Contains(page, mallB))
		}
	}
	var csv string
	if st := get(olga, "/export/ledger.csv?day="+beijingToday(), &csv); st != http.StatusOK || !strings.Contains(csv, mallA) || strings.Contains(csv, mallB) {
		t.Errorf("the export as %s: %d, want its mall's entries only:\n%s", olga.name, st, csv)
	}
	// Writing to the other mall: its member and its sync do not exist.
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/api/members/" + mallB + "/" + openB + "/adjustments", `{"points":-1,"reason":"x"}`, http.StatusNotFound},
		{"POST", "/api/syncs/" + fmtInt(syncB) + "/retry", "", http.StatusNotFound},
		{"POST", "/parked/" + fmtInt(syncB) + "/retry", "", http.StatusNotFound},
		{"POST", "/api/rules/preview", `{"payments":[{"mall":"` + mallB + `","openid":"o","amount":100,"time_end":"2026-05-20T12:00:00+08:00"}]}`, http.StatusForbidden},
		{"POST", "/api/parkings", `{"mall":"` + mallB + `","openid":"o","plate_number":"粤B12345","state":"IN","time":"2026-05-20T12:00:00+08:00"}`, http.StatusForbidden},
	} {
		if st := call(t, e, olga, c.method, c.path, "", c.body); st != c.want {
			t.Errorf("%s %s as %s: %d, want %d", c.method, c.path, olga.name, st, c.want)
		}
	}
}

// signIn signs in at /signin with a name and password and returns the
// session cookie.
func signIn(t *testing.T, e *env, name, password string) *http.Cookie {
	t.Helper()
	resp, err := noRedirects.PostForm(e.admin.URL+"/signin", url.Values{"name": {name}, "password": {password}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "mallpointsd_session" && c.Value != "" {
			return c
		}
	}
	t.Fatalf("signing in as %s: %s, no session cookie", name, resp.Status)
	return nil
}

// requestOf makes a request line of a route's pattern, its wildcards
// filled from values.
func requestOf(pattern string, values map[string]string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = http.MethodGet, pattern
	}
	path = strings.ReplaceAll(path, "{$}", "")
	for k, v := range values {
		path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
	}
	switch {
	case path == "/api/":
		path = "/api/no-such-path"
	case path == "/static/":
		path = "/static/style.css"
	case strings.HasPrefix(path, "/debug/pprof/") && path != "/debug/pprof/":
		path += "?seconds=1"
	case path == "/export/ledger.csv":
		path += "?day=2026-01-01"
	}
	return method, path
}

// call sends method path as w, with a body that every handler refuses
// (so that a request let through changes nothing) unless one is given,
// and returns the status. POST /signin signs in with the admin token.
func call(t *testing.T, e *env, w principal, method, path, token string, body ...string) int {
	t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch {
	case len(body) > 0:
		rd = strings.NewReader(body[0])
	case path == "/signin" && method == http.MethodPost:
		rd, ct = strings.NewReader(url.Values{"token": {token}, "next": {"/"}}.Encode()), "application/x-www-form-urlencoded"
	case strings.HasPrefix(path, "/api/"):
		rd = strings.NewReader(`{"no such field": 1}`)
	case method == http.MethodPost:
		rd, ct = strings.NewReader(""), "application/x-www-form-urlencoded"
	}
	req, err := http.NewRequest(method, e.admin.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Idempotency-Key", "walk")
	if path != "/signin" && path != "/signout" { // signing out would end the walker's session
		authorize(req, w, path)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return status(resp)
}

// status is resp's status, 401 for a redirect to sign in: a page's answer
// to a request without a credential it takes (signing out ends there too).
func status(resp *http.Response) int {
	if resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/signin") &&
		resp.Request.URL.Path != "/signout" {
		return http.StatusUnauthorized
	}
	return resp.StatusCode
}

// authorize adds w's credential: its session on the pages when it has one,
// else its Bearer token.
func authorize(req *http.Request, w principal, path string) {
	machine := strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/metrics") || strings.HasPrefix(path, "/debug/")
	switch {
	case w.cookie != nil && !machine:
		req.AddCookie(w.cookie)
	case w.bearer != "":
		req.Header.Set("Authorization", "Bearer "+w.bearer)
	}
}

// beijingToday is the Beijing date now: the day of the test's payments.
func beijingToday() string {
	return time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
}

// scopedLists is what the API's lists answer, as far as their malls go.
type scopedLists struct {
	Members      []struct{ Mall string }  `json:"members"`
	Transactions []struct{ Mall string }  `json:"transactions"`
	Syncs        []struct{ Mall string }  `json:"syncs"`
	Entries      []struct{ Mall string }  `json:"entries"`
	Malls        []struct{ MchID string } `json:"malls"`
	Rules        struct {
		Malls []struct{ MchID string } `json:"malls"`
	} `json:"rules"`
}

// malls are the malls the lists name, in any of them.
func (l scopedLists) malls() []string {
	var out []string
	for _, list := range [][]struct{ Mall string }{l.Members, l.Transactions, l.Syncs, l.Entries} {
		for _, m := range list {
			out = append(out, m.Mall)
		}
	}
	for _, list := range [][]struct{ MchID string }{l.Malls, l.Rules.Malls} {
		for _, m := range list {
			out = append(out, m.MchID)
		}
	}
	return out
}

// TestDisablingAnAccountEndsItsTokenAndSessionOnEveryReplica runs two
// replicas on one database: an account disabled through one is refused by
// the other at its next request.
func TestDisablingAnAccountEndsItsTokenAndSessionOnEveryReplica(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{replicas: 2})
		ctx := context.Background()
		one, two := e.replicas[0], e.replicas[1]
		twoAdmin := httptest.NewServer(two.Admin())
		defer twoAdmin.Close()
		const password = "a password of some length"
		if err := one.Accounts().Add(ctx, "otto", accounts.Operator, nil, password); err != nil {
			t.Fatal(err)
		}
		tok, err := one.Accounts().NewToken(ctx, "otto")
		if err != nil {
			t.Fatal(err)
		}
		cookie := signIn(t, e, "otto", password) // at replica one
		status := func(bearer bool) int {
			req, _ := http.NewRequest(http.MethodGet, twoAdmin.URL+"/api/members", nil)
			path := "/members"
			if bearer {
				req.Header.Set("Authorization", "Bearer "+tok)
			} else {
				req, _ = http.NewRequest(http.MethodGet, twoAdmin.URL+path, nil)
				req.AddCookie(cookie)
			}
			resp, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if a, b := status(true), status(false); a != http.StatusOK || b != http.StatusOK {
			t.Fatalf("at replica two before disabling: token %d, session %d", a, b)
		}
		if err := one.Accounts().Disable(ctx, "otto"); err != nil {
			t.Fatal(err)
		}
		if a, b := status(true), status(false); a != http.StatusUnauthorized || b != http.StatusSeeOther {
			t.Errorf("at replica two after disabling: token %d (want 401), session %d (want 303 to sign in)", a, b)
		}
	})
}

// TestOffLoopbackTheServiceStartsOnlyWithTheTokenOrAnUnscopedAdmin:
// without the admin token an admin listener off loopback needs an enabled
// admin account confined to no mall, or the service does not start.
func TestOffLoopbackTheServiceStartsOnlyWithTheTokenOrAnUnscopedAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{})
	dsn := filepath.Join(t.TempDir(), "second.db")
	ctx := context.Background()
	start := func(token string) error {
		srv, err := server.New(ctx, server.Config{DB: dsn, MchID: e.mchID, Client: e.client, Parser: e.parser,
			AdminListen: "0.0.0.0:8081", AdminToken: token, Logger: testLogger(t)})
		if err == nil {
			srv.Close(ctx)
		}
		return err
	}
	if err := start(""); err == nil || !strings.Contains(err.Error(), "users add NAME --role admin") {
		t.Errorf("no token, no account: %v; want a refusal saying how to add an admin", err)
	}
	if err := start("an-admin-token-of-more-than-32-characters"); err != nil {
		t.Errorf("with the token: %v", err)
	}
	a := newAdminOnly(t, e, dsn, server.Config{})
	svc := a.srv.Accounts()
	const password = "a password of some length"
	for _, step := range []struct {
		do    func() error
		start bool
	}{
		{func() error { return svc.Add(ctx, "mall-admin", accounts.Admin, []string{mallA}, password) }, false},
		{func() error { return svc.Add(ctx, "ops", accounts.Operator, nil, password) }, false},
		{func() error { return svc.Add(ctx, "root", accounts.Admin, nil, password) }, true},
		{func() error { return svc.Disable(ctx, "root") }, false},
	} {
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		if err := start(""); (err == nil) != step.start {
			t.Errorf("%v; want started %v", err, step.start)
		}
	}
}

// TestOnceAnAccountExistsLoopbackIsNoLongerTheLocalAdministrator: the
// implicit local administrator serves only while there is no account.
func TestOnceAnAccountExistsLoopbackIsNoLongerTheLocalAdministrator(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{})
	if st := e.get("/api/members", nil); st != http.StatusOK {
		t.Fatalf("with no account, on loopback: %d, want 200", st)
	}
	if err := e.srv.Accounts().Add(context.Background(), "crm", accounts.App, nil, ""); err != nil {
		t.Fatal(err)
	}
	if st := e.get("/api/members", nil); st != http.StatusUnauthorized {
		t.Errorf("once an account exists, on loopback without a credential: %d, want 401", st)
	}
	if _, st := e.page(http.MethodGet, "/members", nil); st != http.StatusSeeOther {
		t.Errorf("a page, once an account exists: %d, want 303 to sign in", st)
	}
}

// TestAnAppRecordsRedemptionsButNotCredits: an app token may deduct points
// (a redemption), never credit them; the adjustment records the app's name.
func TestAnAppRecordsRedemptionsButNotCredits(t *testing.T) {
	t.Parallel()
	const token = "an-admin-token-of-more-than-32-characters"
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{token: token})
	openid := e.member(e.mchID)
	e.synced(e.mchID, e.pay(e.mchID, openid, 10000, ""))
	ctx := context.Background()
	if err := e.srv.Accounts().Add(ctx, "crm", accounts.App, nil, ""); err != nil {
		t.Fatal(err)
	}
	tok, err := e.srv.Accounts().NewToken(ctx, "crm")
	if err != nil {
		t.Fatal(err)
	}
	e.token = tok
	var got struct {
		Adjustment struct {
			Actor string `json:"actor"`
		} `json:"adjustment"`
	}
	path := "/api/members/" + e.mchID + "/" + openid + "/adjustments"
	if st := e.do(http.MethodPost, path, map[string]any{"points": 5, "reason": "gift"}, http.Header{"Idempotency-Key": {"credit"}}, nil); st != http.StatusForbidden {
		t.Errorf("an app crediting points: %d, want 403", st)
	}
	if st := e.do(http.MethodPost, path, map[string]any{"points": -5, "reason": "coffee"}, http.Header{"Idempotency-Key": {"redeem"}}, &got); st != http.StatusCreated || got.Adjustment.Actor != "crm" {
		t.Errorf("an app redeeming points: %d, actor %q; want 201 by crm", st, got.Adjustment.Actor)
	}
}

// TestWrongPasswordsAreThrottledPerAddressLikeWrongTokens: ten wrong
// passwords from one address within the window, and even the right one
// from it gets 429; a disabled account's right password is wrong.
func TestWrongPasswordsAreThrottledPerAddressLikeWrongTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{})
	ctx := context.Background()
	const password = "a password of some length"
	for _, name := range []string{"li.na", "gone"} {
		if err := e.srv.Accounts().Add(ctx, name, accounts.Viewer, nil, password); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.srv.Accounts().Disable(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	post := func(name, pw string) *http.Response {
		resp, err := noRedirects.PostForm(e.admin.URL+"/signin", url.Values{"name": {name}, "password": {pw}, "next": {"/"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := post("gone", password); r.StatusCode != http.StatusUnauthorized || len(r.Cookies()) != 0 {
		t.Errorf("a disabled account's password: %d with cookies %v, want 401 and none", r.StatusCode, r.Cookies())
	}
	for i := range 9 {
		if r := post("li.na", "guess "+fmtInt(int64(i))+" of many bytes"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d, want 401", i+1, r.StatusCode)
		}
	}
	if r := post("li.na", password); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Errorf("the right password after ten wrong ones: %d, Retry-After %q; want 429 with Retry-After", r.StatusCode, r.Header.Get("Retry-After"))
	}
}

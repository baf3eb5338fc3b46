package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

// visit calls the admin listener without following redirects, with the
// headers and cookies given (and the env's token, when it has one, for
// requests without a session), and returns the body, the status and the
// headers.
func (e *env) visit(method, path string, form url.Values, header http.Header, cookies ...*http.Cookie) (string, int, http.Header) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.admin.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	if e.token != "" && len(cookies) == 0 {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return string(raw), resp.StatusCode, resp.Header
}

var htmlLang = regexp.MustCompile(`<html lang="([^"]+)">`)

// Every page of the console, in each language: the route list's pages,
// each asked for with Accept-Language, answers 200 in that language.
func TestEveryPageRendersInBothLanguages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{rules: consoleSet(t)})
		openid := e.member(e.mchID)
		txid := e.pay(e.mchID, openid, 12345, "S1")
		e.synced(e.mchID, txid)
		values := map[string]string{"mall": e.mchID, "openid": openid, "transaction_id": txid}
		var pages []string
		for _, rt := range e.srv.AdminRoutes() {
			method, path, _ := strings.Cut(rt.Pattern, " ")
			if method != http.MethodGet || strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/debug/") ||
				strings.HasPrefix(path, "/static/") || strings.HasPrefix(path, "/live/") || strings.HasSuffix(path, ".csv") || path == "/metrics" {
				continue
			}
			_, p := requestOf(rt.Pattern, values)
			pages = append(pages, p)
		}
		if len(pages) < 10 {
			t.Fatalf("only %d pages found: %v", len(pages), pages)
		}
		for _, p := range pages {
			for accept, want := range map[string]string{"": "en", "en-GB,en;q=0.9": "en", "zh-CN,zh;q=0.9,en;q=0.8": "zh-CN", "zh-TW": "zh-CN"} {
				body, st, h := e.visit(http.MethodGet, p, nil, http.Header{"Accept-Language": {accept}})
				if st != http.StatusOK {
					t.Errorf("GET %s (Accept-Language %q): %d", p, accept, st)
					continue
				}
				if m := htmlLang.FindStringSubmatch(body); m == nil || m[1] != want || h.Get("Content-Language") != want {
					t.Errorf("GET %s (Accept-Language %q): <html lang=%v>, Content-Language %q; want %s", p, accept, m, h.Get("Content-Language"), want)
				}
			}
		}
	})
}

// An account's choice of language is kept with it: every session of it
// shows the console in that language whatever the browser prefers, and the
// change is in the audit log. The admin token's choice lives in its
// browser's cookie only.
func TestTheLanguageSwitchKeepsAnAccountsChoiceAndAuditsIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{token: auditToken})
	const password = "a password of some length"
	if err := e.srv.Accounts().Add(context.Background(), "li.na", accounts.Viewer, nil, password); err != nil {
		t.Fatal(err)
	}
	english := http.Header{"Accept-Language": {"en-US,en;q=0.9"}}
	first := signIn(t, e, "li.na", password)
	if body, _, _ := e.visit(http.MethodGet, "/members", nil, english, first); !strings.Contains(body, `<html lang="en">`) {
		t.Fatal("an account that chose nothing does not get its browser's language")
	}
	_, st, h := e.visit(http.MethodPost, "/lang", url.Values{"lang": {"zh-CN"}, "next": {"/members?q=o"}}, english, first)
	if st != http.StatusSeeOther || h.Get("Location") != "/members?q=o" {
		t.Fatalf("the switch: %d to %q", st, h.Get("Location"))
	}
	// A second sign-in, from a browser without the language cookie.
	second := signIn(t, e, "li.na", password)
	for _, c := range []*http.Cookie{first, second} {
		body, _, _ := e.visit(http.MethodGet, "/members", nil, english, c)
		if !strings.Contains(body, `<html lang="zh-CN">`) || !strings.Contains(body, "<h1>会员</h1>") {
			t.Errorf("a session of the account shows another language:\n%.300s", body)
		}
	}
	var log struct {
		Entries []struct {
			Actor, Action, Subject string
			Before, After          json.RawMessage
		}
	}
	if st := e.get("/api/audit?action=account.lang", &log); st != http.StatusOK || len(log.Entries) != 1 {
		t.Fatalf("the audit of the switch: %d, %+v", st, log.Entries)
	}
	if got := log.Entries[0]; got.Actor != "li.na" || got.Subject != "li.na" || string(got.Before) != `{"lang":""}` || string(got.After) != `{"lang":"zh-CN"}` {
		t.Errorf("entry %+v %s %s", got, got.Before, got.After)
	}
	// Choosing it again changes nothing, and writes nothing.
	e.visit(http.MethodPost, "/lang", url.Values{"lang": {"zh-CN"}}, nil, first)
	if e.get("/api/audit?action=account.lang", &log); len(log.Entries) != 1 {
		t.Errorf("choosing the same language again wrote %d entries", len(log.Entries))
	}
	for _, bad := range []url.Values{{"lang": {"fr"}}, {"lang": {"<script>"}}, {}} {
		if _, st, _ := e.visit(http.MethodPost, "/lang", bad, nil, first); st != http.StatusBadRequest {
			t.Errorf("POST /lang %v: %d, want 400", bad, st)
		}
	}
	// A next that leaves the site comes back home.
	if _, _, h := e.visit(http.MethodPost, "/lang", url.Values{"lang": {"en"}, "next": {"//evil.example/"}}, nil, first); h.Get("Location") != "/" {
		t.Errorf("the switch sent the browser to %q", h.Get("Location"))
	}
	// The admin token: the browser's cookie, no audit entry.
	_, st, h = e.visit(http.MethodPost, "/lang", url.Values{"lang": {"zh-CN"}}, nil)
	if st != http.StatusSeeOther || !strings.Contains(h.Get("Set-Cookie"), "mallpointsd_lang=zh-CN") {
		t.Errorf("the token's switch: %d, Set-Cookie %q", st, h.Get("Set-Cookie"))
	}
}

// The sign-in page offers to sign in, and nothing else: no Sign out
// button, also to someone signed in already.
func TestTheSignInPageOffersNoSignOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{})
	const password = "a password of some length"
	if err := e.srv.Accounts().Add(context.Background(), "li.na", accounts.Viewer, nil, password); err != nil {
		t.Fatal(err)
	}
	session := signIn(t, e, "li.na", password)
	for name, cookies := range map[string][]*http.Cookie{"signed out": nil, "signed in": {session}} {
		body, st, _ := e.visit(http.MethodGet, "/signin", nil, nil, cookies...)
		if st != http.StatusOK || !strings.Contains(body, `id="signin"`) || strings.Contains(body, "/signout") {
			t.Errorf("the sign-in page, %s: %d, sign-out offered %v", name, st, strings.Contains(body, "/signout"))
		}
	}
	if body, _, _ := e.visit(http.MethodGet, "/members", nil, nil, session); !strings.Contains(body, `action="/signout"`) {
		t.Error("the other pages no longer offer to sign out")
	}
}

// The Rules page shows the default section and then each mall of the
// rules file once, whatever else names it (the merchants, the payments).
func TestTheRulesPageListsEachMallOnce(t *testing.T) {
	t.Parallel()
	const mallA, mallB = "1900000201", "1900000202"
	set, err := rules.Parse([]byte("default:\n  fen_per_point: 100\nmalls:\n  - mchid: \"" + mallB + "\"\n    daily_cap: 300\n" +
		"  - mchid: \"" + mallA + "\"\n    fen_per_point: 50\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{subs: []string{mallA, mallB}, rules: set})
	e.pay(mallA, e.member(mallA), 10000, "")
	for _, accept := range []string{"en", "zh-CN"} {
		body, _, _ := e.visit(http.MethodGet, "/rules", nil, http.Header{"Accept-Language": {accept}})
		sections := regexp.MustCompile(`data-mall="(\d+)"`).FindAllStringSubmatch(body, -1)
		var got []string
		for _, s := range sections {
			got = append(got, s[1])
		}
		if strings.Join(got, ",") != mallA+","+mallB {
			t.Errorf("%s: the mall sections are %v, want %s then %s, once each", accept, got, mallA, mallB)
		}
		if n := strings.Count(body, `id="rules-default"`); n != 1 {
			t.Errorf("%s: the default section shows %d times", accept, n)
		}
	}
}

// A member with many payments: its page lists them, and its ledger, in
// pages that follow each other, each payment and entry once.
func TestAMemberWithManyPaymentsIsListedInPages(t *testing.T) {
	t.Parallel()
	n := 500
	if testing.Short() {
		n = 120
	}
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{})
	openid := e.member(e.mchID)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := i; j < n; j += 4 {
				e.pay(e.mchID, openid, int64(100+j%100), "")
			}
		})
	}
	wg.Wait()
	e.eventually(fmt.Sprintf("%d payments", n), func() bool {
		var m struct{ Member struct{ Balance int64 } }
		return e.get("/api/members/"+e.mchID+"/"+openid, &m) == http.StatusOK && m.Member.Balance == int64(n) // a point each
	})
	for _, list := range []struct{ row, next string }{{`<tr data-seq="(\d+)">`, "ledger-next"}, {`<tr data-transaction="(\d+)">`, "payments-next"}} {
		seen := map[string]bool{}
		path, pages := "/members/"+e.mchID+"/"+openid, 0
		for path != "" {
			body, st, _ := e.visit(http.MethodGet, path, nil, nil)
			if st != http.StatusOK {
				t.Fatalf("GET %s: %d", path, st)
			}
			pages++
			rows := regexp.MustCompile(list.row).FindAllStringSubmatch(body, -1)
			if len(rows) > 50 {
				t.Errorf("%s lists %d rows", path, len(rows))
			}
			for _, r := range rows {
				if seen[r[1]] {
					t.Errorf("%s lists %s again", path, r[1])
				}
				seen[r[1]] = true
			}
			path = ""
			if m := regexp.MustCompile(`<a href="(\?[^"]+)" id="` + list.next + `"`).FindStringSubmatch(body); m != nil {
				path = "/members/" + e.mchID + "/" + openid + html.UnescapeString(m[1])
			}
		}
		if len(seen) != n || pages != (n+49)/50 {
			t.Errorf("%s: %d rows in %d pages, want %d in %d", list.next, len(seen), pages, n, (n+49)/50)
		}
	}
}

// The members page finds members by the start of their openid, in every
// mall the viewer sees, and lists every member in pages.
func TestTheMembersPageFindsMembersByTheStartOfTheirOpenid(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{})
	var members []string
	for range 3 {
		members = append(members, e.member(e.mchID))
	}
	for _, m := range members {
		body, st, _ := e.visit(http.MethodGet, "/members?q="+m[:8], nil, nil)
		if st != http.StatusOK || !strings.Contains(body, "/members/"+e.mchID+"/"+m) {
			t.Errorf("searching %q does not find %s", m[:8], m)
		}
		for _, other := range members {
			if other[:8] != m[:8] && strings.Contains(body, other) {
				t.Errorf("searching %q finds %s too", m[:8], other)
			}
		}
	}
	if body, _, _ := e.visit(http.MethodGet, "/members?q=zz-nobody", nil, http.Header{"Accept-Language": {"zh-CN"}}); !strings.Contains(body, `id="members-none"`) {
		t.Error("a search that finds no one does not say so")
	}
}

// The live states a page polls are of the viewer's malls only.
func TestLiveSyncStatesAreTheViewersMallsOnly(t *testing.T) {
	t.Parallel()
	const mallA, mallB = "1900000201", "1900000202"
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{subs: []string{mallA, mallB}})
	syncA := e.synced(mallA, e.pay(mallA, e.member(mallA), 10000, "")).Transaction.Sync.ID
	syncB := e.synced(mallB, e.pay(mallB, e.member(mallB), 10000, "")).Transaction.Sync.ID
	const password = "a password of some length"
	if err := e.srv.Accounts().Add(context.Background(), "sam", accounts.Viewer, []string{mallA}, password); err != nil {
		t.Fatal(err)
	}
	session := signIn(t, e, "sam", password)
	body, st, _ := e.visit(http.MethodGet, fmt.Sprintf("/live/syncs?id=%d&id=%d&id=999&id=x", syncA, syncB), nil,
		http.Header{"Accept-Language": {"zh-CN"}}, session)
	var got struct {
		Syncs []struct {
			ID           int64
			State, Label string
		}
	}
	if err := json.Unmarshal([]byte(body), &got); st != http.StatusOK || err != nil {
		t.Fatalf("%d %v: %s", st, err, body)
	}
	if len(got.Syncs) != 1 || got.Syncs[0].ID != syncA || got.Syncs[0].State != "synced" || got.Syncs[0].Label != "已同步" {
		t.Errorf("sam, of mall %s, reads %+v", mallA, got.Syncs)
	}
}

// The Audit page's links keep its filters as a query string: the CSV of
// what it shows, and its next page.
func TestTheAuditPagesLinksKeepTheirFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{token: auditToken})
	body, st, _ := e.visit(http.MethodGet, "/audit?actor=token&mall=1900000109", nil, nil)
	if st != http.StatusOK || !strings.Contains(body, `href="/audit.csv?actor=token&amp;mall=1900000109"`) {
		t.Errorf("the CSV link does not carry the filters: %d\n%s", st, regexp.MustCompile(`<a href="/audit.csv[^>]*>`).FindString(body))
	}
}

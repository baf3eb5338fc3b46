package server_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/server"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// auditEntry is the API's view of an audit entry.
type auditEntry struct {
	ID         int64                      `json:"id"`
	At         time.Time                  `json:"at"`
	Actor      string                     `json:"actor"`
	RemoteAddr string                     `json:"remote_addr"`
	Action     string                     `json:"action"`
	Mall       string                     `json:"mall"`
	Subject    string                     `json:"subject"`
	Before     map[string]json.RawMessage `json:"before"`
	After      map[string]json.RawMessage `json:"after"`
	RequestID  string                     `json:"request_id"`
}

// field is the JSON of one of the entry's values, "" when absent.
func field(m map[string]json.RawMessage, key string) string { return string(m[key]) }

// auditLog reads GET /api/audit?query from the admin listener at base.
func auditLog(t *testing.T, base, token, query string) []auditEntry {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/audit?"+query, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Entries []auditEntry `json:"entries"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &page) != nil {
		t.Fatalf("GET /api/audit?%s: %d %s", query, resp.StatusCode, raw)
	}
	return page.Entries
}

// stateChangingRoutes lists every admin route with a state-changing
// method, from the server's own list of routes (AdminRoutes, from which the
// admin mux is made): a route added without a step in the walk below fails
// it.
func stateChangingRoutes(t *testing.T, srv *server.Server) []string {
	t.Helper()
	var routes []string
	for _, rt := range srv.AdminRoutes() {
		method, _, ok := strings.Cut(rt.Pattern, " ")
		if ok && (method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch || method == http.MethodDelete) {
			routes = append(routes, rt.Pattern)
		}
	}
	if len(routes) < 10 {
		t.Fatalf("only %d state-changing routes found: the route list no longer says", len(routes))
	}
	return routes
}

// auditRules: the test mall's points are decided by crmURL, it has a brand
// id for parkings, and a webhook that nothing answers.
func auditRules(t *testing.T, mall, crmURL string) string {
	dir := t.TempDir()
	secret := filepath.Join(dir, "crm.secret")
	if err := os.WriteFile(secret, []byte(crmSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rules.yaml")
	rules := fmt.Sprintf("malls:\n  - mchid: %q\n    brand_id: 1001\n    app_ids: [%s]\n    decide: {url: %q, secret_file: %q, timeout: 2s}\n"+
		"    webhooks: [{name: crm, url: \"http://127.0.0.1:9/events\", secret_file: %q}]\n", mall, appID, crmURL, secret, secret)
	if err := os.WriteFile(path, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const auditToken = "an-admin-token-of-more-than-32-characters"

// TestEveryStateChangingAdminRouteWritesAnAuditEntry walks every route
// that changes state, on the API and the dashboard, and checks that a
// request that succeeds writes one audit entry naming who, from where,
// what and the values before and after; the routes that change nothing
// write none. An expiry run's outcome and a rules reload are the system's.
func TestEveryStateChangingAdminRouteWritesAnAuditEntry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		crm := newFakeCRM(t, func(crmCall) (int, string) { return http.StatusInternalServerError, "down" })
		keys, err := testKeys()
		if err != nil {
			t.Fatal(err)
		}
		// One attempt per job: a decision the CRM fails parks at once, and
		// so does a sync WeChat Pay fails.
		e := newEnv(t, dsn, envOptions{token: auditToken, rulesPath: auditRules(t, keys.MchID, crm.srv.URL+"/decide"),
			server: func(c *server.Config) { c.MaxAttempts = 1 }})
		// The simulate forms exist in sandbox mode: a second service on a
		// database of its own, whose payments reach the first.
		sim := newAdminOnly(t, e, engineDSN(t, dsn), server.Config{Sandbox: e.sb})
		mall := e.mchID
		openid := e.member(mall)
		byFile, retried := e.pay(mall, openid, 12345, "S01"), e.pay(mall, openid, 30000, "S01")
		byButton := e.pay(mall, openid, 5000, "S01")
		for _, txid := range []string{byFile, retried, byButton} {
			e.eventually("parked decision of "+txid, func() bool { return e.decision(txid).Transaction.Decision == "parked" })
		}
		e.pointsFaults(sandbox.EndpointFaults{ErrorRate: 1, ErrorStatus: 500})
		today := time.Now().In(time.FixedZone("UTC+8", 8*3600)).Format(time.DateOnly)
		var syncID int64
		parkedSync := func() {
			e.eventually("the parked sync of "+byFile, func() bool {
				tr := e.transactionView(byFile)
				syncID = tr.Transaction.Sync.ID
				return tr.Transaction.Sync.State == "parked"
			})
		}
		erased := e.member(mall)

		type check func(t *testing.T, got auditEntry)
		type step struct {
			pattern string
			action  string // "": the route changes nothing and writes no entry
			sim     bool   // on the sandbox-mode service
			do      func(t *testing.T) check
		}
		status := func(t *testing.T, what string, got, want int) {
			t.Helper()
			if got != want {
				t.Fatalf("%s: status %d, want %d", what, got, want)
			}
		}
		form := func(t *testing.T, base, path string, values url.Values) int {
			t.Helper()
			req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(values.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if base == e.admin.URL {
				req.Header.Set("Authorization", "Bearer "+auditToken)
			}
			resp, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		var simulated string
		var events []auditEntry // the member events and expiry outcomes a step wrote, the system's
		steps := []step{
			{"POST /api/decisions/{kind}/{mall}/{subject}", "decision.rules", false, func(t *testing.T) check {
				status(t, "decide by the rules file", e.do(http.MethodPost, "/api/decisions/payment/"+mall+"/"+byFile, map[string]any{"action": "rules"}, nil, nil), 200)
				return func(t *testing.T, got auditEntry) {
					if got.Mall != mall || got.Subject != byFile || field(got.Before, "decision") != `"parked"` || field(got.After, "decision") != `"file"` {
						t.Errorf("entry %+v", got)
					}
				}
			}},
			{"POST /api/decisions/{kind}/{mall}/{subject}", "decision.retry", false, func(t *testing.T) check {
				status(t, "retry a decision", e.do(http.MethodPost, "/api/decisions/payment/"+mall+"/"+retried, map[string]any{"action": "retry"}, nil, nil), 200)
				return func(t *testing.T, got auditEntry) {
					if got.Subject != retried || field(got.After, "decision") != `"pending"` || field(got.After, "kind") != `"payment"` {
						t.Errorf("entry %+v", got)
					}
				}
			}},
			{"POST /decisions/{kind}/{mall}/{subject}/{action}", "decision.rules", false, func(t *testing.T) check {
				status(t, "the Decide by the rules file button", form(t, e.admin.URL, "/decisions/payment/"+mall+"/"+byButton+"/rules", nil), http.StatusSeeOther)
				return func(t *testing.T, got auditEntry) {
					if got.Mall != mall || got.Subject != byButton || field(got.Before, "decision") != `"parked"` || field(got.After, "decision") != `"file"` {
						t.Errorf("entry %+v", got)
					}
				}
			}},
			{"POST /api/syncs/{id}/retry", "sync.retry", false, func(t *testing.T) check {
				parkedSync()
				status(t, "retry a sync", e.do(http.MethodPost, fmt.Sprintf("/api/syncs/%d/retry", syncID), nil, nil, nil), 202)
				return func(t *testing.T, got auditEntry) {
					if got.Subject != fmt.Sprint(syncID) || field(got.Before, "state") != `"parked"` || field(got.After, "state") != `"pending"` {
						t.Errorf("entry %+v", got)
					}
				}
			}},
			{"POST /parked/{id}/retry", "sync.retry", false, func(t *testing.T) check {
				e.eventually("the retried sync to fail", func() bool { return e.transactionView(byFile).Transaction.Sync.Attempts > 1 })
				parkedSync()
				status(t, "the Retry button", form(t, e.admin.URL, fmt.Sprintf("/parked/%d/retry", syncID), nil), http.StatusSeeOther)
				return func(t *testing.T, got auditEntry) {
					if got.Mall != mall || got.Subject != fmt.Sprint(syncID) || field(got.Before, "state") != `"parked"` {
						t.Errorf("entry %+v", got)
					}
				}
			}},
			{"POST /api/members/{mall}/{openid}/adjustments", "adjustment.create", false, func(t *testing.T) check {
				var ans struct {
					Entry struct {
						Seq          int64 `json:"seq"`
						BalanceAfter int64 `json:"balance_after"`
					} `json:"entry"`
				}
				status(t, "adjust", e.do(http.MethodPost, "/api/members/"+mall+"/"+openid+"/adjustments",
					map[string]any{"points": 500, "reason": "birthday gift for 张三"}, http.Header{"Idempotency-Key": {"audit-1"}}, &ans), 201)
				// A replay changes nothing: still one entry.
				status(t, "adjust again", e.do(http.MethodPost, "/api/members/"+mall+"/"+openid+"/adjustments",
					map[string]any{"points": 500, "reason": "birthday gift for 张三"}, http.Header{"Idempotency-Key": {"audit-1"}}, nil), 200)
				return func(t *testing.T, got auditEntry) {
					if got.Subject != openid || field(got.Before, "balance") != fmt.Sprint(ans.Entry.BalanceAfter-500) ||
						field(got.After, "balance") != fmt.Sprint(ans.Entry.BalanceAfter) || field(got.After, "points") != "500" ||
						field(got.After, "seq") != fmt.Sprint(ans.Entry.Seq) {
						t.Errorf("entry %+v, answer %+v", got, ans)
					}
					if raw, _ := json.Marshal(got); strings.Contains(string(raw), "张三") {
						t.Errorf("the entry holds the reason's name: %s", raw)
					}
				}
			}},
			{"PUT /api/members/{mall}/{openid}/tier", "tier.set", false, func(t *testing.T) check {
				status(t, "set the tier", e.do(http.MethodPut, "/api/members/"+mall+"/"+openid+"/tier", map[string]any{"tier": "金卡", "until": "2099-12-31"}, nil, nil), 200)
				return func(t *testing.T, got auditEntry) {
					if field(got.Before, "tier") != `""` || field(got.After, "tier") != `"金卡"` || field(got.After, "until") != `"2099-12-31"` {
						t.Errorf("entry %+v", got)
					}
				}
			}},
			{"PUT /api/members/{mall}/{openid}", "member.set", false, func(t *testing.T) check {
				status(t, "set the CRM's ids", e.do(http.MethodPut, "/api/members/"+mall+"/"+openid, map[string]any{"member_id": "VIP-7",
					"phone": "+8613812345678", "birthday": "1990-05-20"}, nil, nil), 200)
				return func(t *testing.T, got auditEntry) {
					if got.Subject != openid || field(got.Before, "member_id") != `""` || field(got.After, "member_id") != `"changed"` ||
						field(got.After, "phone") != `"changed"` || field(got.After, "birthday") != `"changed"` || field(got.After, "unionid") != "" {
						t.Errorf("entry %+v", got)
					}
					if raw, _ := json.Marshal(got); strings.Contains(string(raw), "VIP-7") || strings.Contains(string(raw), "5678") ||
						strings.Contains(string(raw), "1990") {
						t.Errorf("the entry holds an id or personal data: %s", raw)
					}
				}
			}},
			{"POST /api/parkings", "parking.create", false, func(t *testing.T) check {
				status(t, "park", e.do(http.MethodPost, "/api/parkings", map[string]any{"openid": openid, "plate_number": "粤B12345",
					"state": "IN", "time": "2026-05-20T13:29:35+08:00"}, nil, nil), 202)
				return func(t *testing.T, got auditEntry) {
					if got.Subject != openid || field(got.After, "state") != `"IN"` || field(got.After, "plate_number") != "" {
						t.Errorf("entry %+v", got)
					}
				}
			}},
			{"POST /api/expiry/run", "expiry.run", false, func(t *testing.T) check {
				st, location, run := e.requestExpiry(today)
				status(t, "run expiry", st, 202)
				e.expiryDone(location)
				return func(t *testing.T, got auditEntry) {
					// The request names who asked and the run; the run's
					// outcome is the system's, as the daily run's is.
					if got.Subject != today || field(got.After, "as_of") != `"`+today+`"` || field(got.After, "run") != fmt.Sprint(run.ID) ||
						field(got.After, "new_run") != "true" || field(got.After, "points") != "" {
						t.Errorf("entry %+v", got)
					}
					if len(events) != 1 || events[0].Action != "expiry.run" || events[0].Subject != today || events[0].RemoteAddr != "" ||
						field(events[0].After, "run") != fmt.Sprint(run.ID) || field(events[0].After, "complete") != "true" ||
						field(events[0].After, "points") != "0" || field(events[0].After, "members") != "0" {
						t.Errorf("the system's entries %+v; want the run's outcome", events)
					}
				}
			}},
			// The console's form queues through the same code as the API,
			// and is audited alike.
			{"POST /expiry/run", "expiry.run", false, func(t *testing.T) check {
				status(t, "the expiry form", form(t, e.admin.URL, "/expiry/run", url.Values{"as_of": {today}}), http.StatusSeeOther)
				run := e.newestExpiryRunDone()
				return func(t *testing.T, got auditEntry) {
					if got.Subject != today || field(got.After, "as_of") != `"`+today+`"` || field(got.After, "run") != fmt.Sprint(run.ID) ||
						field(got.After, "new_run") != "true" {
						t.Errorf("entry %+v; want run %d as of %s", got, run.ID, today)
					}
					if len(events) != 1 || events[0].Action != "expiry.run" || field(events[0].After, "run") != fmt.Sprint(run.ID) {
						t.Errorf("the system's entries %+v; want the run's outcome", events)
					}
				}
			}},
			{"POST /api/members/{mall}/{openid}/erasure", "member.erase", false, func(t *testing.T) check {
				var ans struct{ Pseudonym string }
				status(t, "erase", e.do(http.MethodPost, "/api/members/"+mall+"/"+erased+"/erasure", nil, nil, &ans), 200)
				return func(t *testing.T, got auditEntry) {
					if got.Subject != ans.Pseudonym || field(got.After, "openid") != `"changed"` {
						t.Errorf("entry %+v, pseudonym %s", got, ans.Pseudonym)
					}
					// The erasure is a member event too, the system's, by the pseudonym.
					if len(events) != 1 || events[0].Action != "member.erased" || events[0].Subject != ans.Pseudonym {
						t.Errorf("member events %+v; want one member.erased naming %s", events, ans.Pseudonym)
					}
					if raw, _ := json.Marshal(got); strings.Contains(string(raw), erased) {
						t.Errorf("the erasure's entry names the erased openid: %s", raw)
					}
				}
			}},
			{"POST /api/webhooks/{name}/redeliver", "webhook.redeliver", false, func(t *testing.T) check {
				status(t, "redeliver", e.do(http.MethodPost, "/api/webhooks/crm/redeliver", map[string]any{"after": 0, "mall": mall}, nil, nil), 202)
				return func(t *testing.T, got auditEntry) {
					if got.Subject != "crm" || got.Mall != mall || field(got.After, "after") != "0" {
						t.Errorf("entry %+v", got)
					}
				}
			}},
			{"POST /api/rules/preview", "", false, func(t *testing.T) check {
				status(t, "preview", e.do(http.MethodPost, "/api/rules/preview", map[string]any{"payments": []map[string]any{
					{"openid": openid, "amount": 100, "time_end": "2026-05-20T12:00:00+08:00"}}}, nil, nil), 200)
				return nil
			}},
			{"POST /rules/preview", "", false, func(t *testing.T) check {
				status(t, "the preview form", form(t, e.admin.URL, "/rules/preview", url.Values{"mall": {mall}, "openid": {"o-preview"},
					"amount": {"123.45"}, "time_end": {"2026-05-20 12:00"}}), 200)
				return nil
			}},
			{"POST /signout", "", false, func(t *testing.T) check {
				status(t, "sign out", form(t, e.admin.URL, "/signout", nil), http.StatusSeeOther)
				return nil
			}},
			// The admin token's language is its browser's cookie, which is no
			// record; an account's choice is (TestTheLanguageSwitchKeepsAnAccountsChoiceAndAuditsIt).
			{"POST /lang", "", false, func(t *testing.T) check {
				status(t, "the language switch", form(t, e.admin.URL, "/lang", url.Values{"lang": {"zh-CN"}, "next": {"/"}}), http.StatusSeeOther)
				return nil
			}},
			{"POST /simulate/payment", "simulate.payment", true, func(t *testing.T) check {
				status(t, "simulate a payment", form(t, sim.admin.URL, "/simulate/payment", url.Values{"appid": {appID},
					"openid": {e.member(mall)}, "amount": {"12.34"}, "shop_number": {"S01"}}), http.StatusSeeOther)
				return func(t *testing.T, got auditEntry) {
					simulated = got.Subject
					if got.Actor != "local" || got.Mall != mall || got.Subject == "" || field(got.After, "amount") != "1234" {
						t.Errorf("entry %+v", got)
					}
				}
			}},
			{"POST /simulate/refund", "simulate.refund", true, func(t *testing.T) check {
				status(t, "simulate a refund", form(t, sim.admin.URL, "/simulate/refund", url.Values{"transaction_id": {simulated},
					"amount": {"1.00"}}), http.StatusSeeOther)
				return func(t *testing.T, got auditEntry) {
					if got.Subject == "" || field(got.After, "transaction_id") != `"`+simulated+`"` || field(got.After, "refund_amount") != "100" {
						t.Errorf("entry %+v", got)
					}
				}
			}},
		}

		walked := map[string]bool{
			// Signing in changes nothing; a burst of wrong tokens is audited
			// once, by the throttle: TestABurstOfWrongSignInsIsAuditedOnce.
			"POST /signin": true,
		}
		for _, s := range steps {
			walked[s.pattern] = true
			base, token, actor := e.admin.URL, auditToken, "token"
			if s.sim {
				base, token, actor = sim.admin.URL, "", "local"
			}
			before := auditLog(t, base, token, "limit=500")
			t.Run(s.pattern+" "+s.action, func(t *testing.T) {
				c := s.do(t)
				added := auditLog(t, base, token, "limit=500")
				added = added[:len(added)-len(before)]
				events = nil
				added = slices.DeleteFunc(added, func(a auditEntry) bool {
					if a.Actor == "system" && (strings.HasPrefix(a.Action, "member.") || a.Action == "expiry.run") {
						events = append(events, a)
						return true
					}
					return false
				})
				if s.action == "" {
					if len(added) != 0 {
						t.Errorf("a route that changes nothing wrote %+v", added)
					}
					return
				}
				if len(added) != 1 || added[0].Action != s.action {
					t.Fatalf("entries written: %+v; want one %s", added, s.action)
				}
				got := added[0]
				if got.Actor != actor || got.RemoteAddr != "127.0.0.1" || time.Since(got.At) > time.Minute {
					t.Errorf("entry %+v: want actor %s from 127.0.0.1, just now", got, actor)
				}
				c(t, got)
			})
		}
		for _, route := range stateChangingRoutes(t, e.srv) {
			if !walked[route] {
				t.Errorf("%s changes state and the walk has no step for it: add one that checks its audit entry", route)
			}
		}

		// The exports are entries too, and the audit CSV is UTF-8 with a BOM.
		get := func(path string) (*http.Response, string) {
			req, _ := http.NewRequest(http.MethodGet, e.admin.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+auditToken)
			req.Header.Set("X-Request-Id", "req-export-1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			return resp, string(raw)
		}
		if resp, _ := get("/export/ledger.csv?day=" + today); resp.StatusCode != 200 {
			t.Errorf("ledger export: %d", resp.StatusCode)
		}
		resp, body := get("/audit.csv?actor=token")
		if resp.StatusCode != 200 || !strings.HasPrefix(body, "\ufeffid,at,actor,remote_addr,action,") {
			t.Errorf("audit CSV: %d, starting %.60q; want the BOM and the header row", resp.StatusCode, body)
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
		if err != nil || len(rows) < 10 {
			t.Errorf("audit CSV: %d rows, %v", len(rows), err)
		}
		for _, want := range []struct{ action, day string }{{"export.ledger", today}, {"export.audit", ""}} {
			list := auditLog(t, e.admin.URL, auditToken, "action="+want.action)
			if len(list) != 1 || list[0].RequestID != "req-export-1" || (want.day != "" && field(list[0].After, "day") != `"`+want.day+`"`) {
				t.Errorf("%s: %+v; want one entry with the request's id", want.action, list)
			}
		}
		if list := auditLog(t, e.admin.URL, auditToken, "action=export.audit"); len(list) == 1 && field(list[0].After, "actor") != `"token"` {
			t.Errorf("the audit export's entry does not name its filter: %+v", list[0])
		}

		// What the service does by itself is the system's: the expiry runs
		// the walk asked for (the daily run's job), a rules reload.
		if _, err := e.srv.ReloadRules(); err != nil {
			t.Fatal(err)
		}
		sys := slices.DeleteFunc(auditLog(t, e.admin.URL, auditToken, "actor=system"), func(a auditEntry) bool {
			return strings.HasPrefix(a.Action, "member.") // member events, checked above
		})
		if len(sys) != 3 || sys[0].Action != "rules.reload" || sys[1].Action != "expiry.run" || sys[2].Action != "expiry.run" || sys[0].RemoteAddr != "" ||
			field(sys[0].Before, "version") == "" || field(sys[0].Before, "version") != field(sys[0].After, "version") {
			t.Errorf("the system's entries: %+v; want the two expiry runs, then the reload with its versions", sys)
		}

		// The Audit page lists them by label, filtered, and the API pages.
		page, st := e.page(http.MethodGet, "/audit?action=adjustment.create", nil)
		if st != 200 || !strings.Contains(page, `<tr data-action="adjustment.create">`) || !strings.Contains(page, "Balance adjusted") ||
			strings.Contains(page, `data-action="sync.retry"`) {
			t.Errorf("the Audit page filtered by action: %d\n%s", st, page)
		}
		// Every action is shown by its label, the code kept in the title.
		page, _ = e.page(http.MethodGet, "/audit", nil)
		for _, s := range append(steps, step{action: "export.ledger"}, step{action: "export.audit"}, step{action: "rules.reload"}, step{action: "expiry.run"}) {
			if s.action != "" && !s.sim && strings.Contains(page, `title="`+s.action+`">`+s.action+`<`) {
				t.Errorf("the Audit page shows %s without a label", s.action)
			}
		}
		if _, st := e.page(http.MethodGet, "/audit?from=yesterday", nil); st != http.StatusBadRequest {
			t.Errorf("the Audit page with a bad date: %d, want 400", st)
		}
		all := auditLog(t, e.admin.URL, auditToken, "limit=500")
		first := auditLog(t, e.admin.URL, auditToken, "limit=3")
		var next struct {
			Entries    []auditEntry `json:"entries"`
			NextBefore int64        `json:"next_before"`
		}
		e.get("/api/audit?limit=3", &next)
		second := auditLog(t, e.admin.URL, auditToken, fmt.Sprintf("limit=3&before=%d", next.NextBefore))
		if len(first) != 3 || len(second) != 3 || second[0].ID != all[3].ID || next.NextBefore != first[2].ID {
			t.Errorf("pages of 3: %v then %v (next_before %d); the whole log %v", ids(first), ids(second), next.NextBefore, ids(all))
		}
		if list := auditLog(t, e.admin.URL, auditToken, "mall="+mall+"&from="+url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))); len(list) != 0 {
			t.Errorf("entries from an hour ahead: %v", ids(list))
		}
		for _, q := range []string{"from=2026-05-20", "to=now", "before=-1", "limit=0"} {
			var ae apiError
			field, _, _ := strings.Cut(q, "=")
			if st := e.get("/api/audit?"+q, &ae); st != 400 || ae.Field != field {
				t.Errorf("GET /api/audit?%s: %d %+v, want 400 naming %s", q, st, ae, field)
			}
		}
	})
}

func ids(list []auditEntry) []int64 {
	var out []int64
	for _, e := range list {
		out = append(out, e.ID)
	}
	return out
}

// TestABurstOfWrongSignInsIsAuditedOnce: wrong admin tokens, as Bearer or
// at /signin, write one entry when they block the client, not one each;
// behind a trusted proxy the client, for the block and the entry, is the
// right-most untrusted X-Forwarded-For address, so one client's burst
// blocks neither the proxy nor another client.
func TestABurstOfWrongSignInsIsAuditedOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		a := newAdminOnly(t, e, engineDSN(t, dsn), server.Config{AdminToken: auditToken, TrustedProxies: []string{"127.0.0.1", "::1"}})
		try := func(client, token string, signin bool) int {
			var req *http.Request
			if signin {
				req, _ = http.NewRequest(http.MethodPost, a.admin.URL+"/signin", strings.NewReader(url.Values{"token": {token}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				req, _ = http.NewRequest(http.MethodGet, a.admin.URL+"/api/members", nil)
				req.Header.Set("Authorization", "Bearer "+token)
			}
			req.Header.Set("X-Forwarded-For", "10.9.9.9, "+client)
			resp, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		for i := range 15 {
			want := http.StatusUnauthorized
			if i >= 10 {
				want = http.StatusTooManyRequests
			}
			if st := try("198.51.100.7", "wrong-token", i%2 == 0); st != want {
				t.Fatalf("wrong token %d: %d, want %d", i+1, st, want)
			}
		}
		if st := try("198.51.100.8", auditToken, false); st != http.StatusOK {
			t.Errorf("another client behind the same proxy: %d, want 200", st)
		}
		list := auditLog(t, a.admin.URL, auditToken, "")
		if len(list) != 1 || list[0].Action != "signin.failures" || list[0].Actor != "anonymous" || list[0].RemoteAddr != "198.51.100.7" ||
			list[0].Subject != "198.51.100.7" || field(list[0].After, "failures") != "10" {
			t.Errorf("the audit log: %+v; want one signin.failures from 198.51.100.7", list)
		}
	})
}

const proxySecret = "proxy-secret-0123456789abcdef0123456789"

// TestAPersonSignedInByTheProxyIsTheActorAndCrossSiteRequestsAreStillRefused:
// single sign-on through a trusted proxy's user header, end to end.
func TestAPersonSignedInByTheProxyIsTheActorAndCrossSiteRequestsAreStillRefused(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		known := map[string]bool{"zhang.wei": true}
		a := newAdminOnly(t, e, engineDSN(t, dsn), server.Config{AdminToken: auditToken, TrustedProxies: []string{"127.0.0.0/8", "::1"},
			ProxyUserHeader: "X-Forwarded-User", ProxySecret: proxySecret,
			ProxyAccount: func(_ context.Context, name string) (accounts.Principal, bool) {
				return accounts.Principal{Name: name, Role: accounts.Admin}, known[name]
			}})
		port := a.admin.URL[strings.LastIndex(a.admin.URL, ":")+1:]
		setTier := func(header map[string]string) int {
			req, _ := http.NewRequest(http.MethodPut, a.admin.URL+"/api/members/"+e.mchID+"/oSSO/tier", strings.NewReader(`{"tier":"gold","until":"2099-12-31"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.7")
			for k, v := range header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		signedIn := map[string]string{"X-Forwarded-User": "zhang.wei", server.ProxySecretHeader: proxySecret}
		for _, c := range []struct {
			name   string
			header map[string]string
			status int
		}{
			{"cross-site, secret and all", map[string]string{"X-Forwarded-User": "zhang.wei", server.ProxySecretHeader: proxySecret,
				"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
			{"without the secret", map[string]string{"X-Forwarded-User": "zhang.wei"}, http.StatusForbidden},
			{"an unknown person", map[string]string{"X-Forwarded-User": "li.na", server.ProxySecretHeader: proxySecret}, http.StatusForbidden},
			{"neither a user nor a token", nil, http.StatusUnauthorized},
			{"signed in by the proxy, from the console's own origin", map[string]string{"X-Forwarded-User": "zhang.wei",
				server.ProxySecretHeader: proxySecret, "Origin": "http://127.0.0.1:" + port, "Sec-Fetch-Site": "same-origin"}, http.StatusOK},
			{"signed in by the proxy, a script", signedIn, http.StatusOK},
		} {
			if st := setTier(c.header); st != c.status {
				t.Errorf("%s: %d, want %d", c.name, st, c.status)
			}
		}
		list := auditLog(t, a.admin.URL, auditToken, "")
		if len(list) != 2 {
			t.Fatalf("the audit log: %+v; want the two changes signed in by the proxy", list)
		}
		for _, got := range list {
			if got.Action != "tier.set" || got.Actor != "zhang.wei" || got.RemoteAddr != "198.51.100.7" {
				t.Errorf("entry %+v: want tier.set by zhang.wei from 198.51.100.7", got)
			}
		}
		if !slices.ContainsFunc(list, func(e auditEntry) bool { return field(e.Before, "tier") == `""` }) {
			t.Errorf("no entry shows the tier before it was set: %+v", list)
		}
	})
}

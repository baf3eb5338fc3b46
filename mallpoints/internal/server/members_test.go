package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/memberstatus"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/server"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// memberRules writes a rules file giving the test mall its app id, and a
// brand id when brand is not 0.
func memberRules(t *testing.T, mall string, brand int) string {
	t.Helper()
	r := fmt.Sprintf("malls:\n  - mchid: %q\n    app_ids: [%s]\n", mall, appID)
	if brand != 0 {
		r += fmt.Sprintf("    brand_id: %d\n", brand)
	}
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(r), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tokenOf adds an account and returns a personal API token of it.
func tokenOf(t *testing.T, e *env, name string, role accounts.Role, malls []string) string {
	t.Helper()
	ctx := context.Background()
	pw := "a password of some length"
	if role == accounts.App {
		pw = ""
	}
	if err := e.srv.Accounts().Add(ctx, name, role, malls, pw); err != nil {
		t.Fatal(err)
	}
	tok, err := e.srv.Accounts().NewToken(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// as calls the admin API at base with a bearer token and decodes the answer
// into v; it returns the status and the raw body.
func as(t *testing.T, base, token, method, path string, body any, v any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, string(raw)
}

// memberStatus is the answer of GET /api/members/{mall}/{openid}/status.
type memberStatus struct {
	Balance            int64   `json:"balance"`
	Tier               string  `json:"tier"`
	Expiring           int64   `json:"expiring_30d"`
	AuthorizeState     string  `json:"authorize_state"`
	PointsCommitStatus string  `json:"points_commit_status"`
	CheckedAt          *string `json:"checked_at"`
	LastSync           *struct {
		TransactionID string `json:"transaction_id"`
		State         string `json:"state"`
	} `json:"last_sync"`
}

// The mall's CRM sets a member's ids, phone and birthday; everyone but an
// administrator sees the phone and birthday masked, on the API and the
// pages; the phone is found by exact match only, by those who may read;
// the feed carries the ids and never the phone; erasure clears them all
// and leaves no audit entry naming the openid.
func TestTheCRMsMemberFieldsAreMaskedForAllButAdministrators(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{token: auditToken})
		mall := e.mchID
		openid := e.member(mall)
		txid := e.pay(mall, openid, 12345, "S01")
		e.synced(mall, txid)
		app := tokenOf(t, e, "crm", accounts.App, []string{mall})
		viewer := tokenOf(t, e, "vera", accounts.Viewer, nil)
		operator := tokenOf(t, e, "otto", accounts.Operator, nil)
		admin := tokenOf(t, e, "ada", accounts.Admin, nil)
		base := e.admin.URL

		type member struct {
			MemberID string `json:"member_id"`
			UnionID  string `json:"unionid"`
			Phone    string `json:"phone"`
			Birthday string `json:"birthday"`
		}
		var set struct{ Member member }
		st, raw := as(t, base, app, http.MethodPut, "/api/members/"+mall+"/"+openid,
			map[string]any{"member_id": "VIP-42", "unionid": "o6_bmUnion42", "phone": "+8613812345678", "birthday": "1990-05-20"}, &set)
		if st != http.StatusOK || set.Member != (member{"VIP-42", "o6_bmUnion42", "138****5678", "--05"}) {
			t.Fatalf("PUT as the mall's app: %d %s", st, raw)
		}
		if st, raw := as(t, base, app, http.MethodPut, "/api/members/"+mall+"/"+openid, map[string]any{"phone": "138 1234 5678"}, nil); st != http.StatusBadRequest || !strings.Contains(raw, `"field":"phone"`) {
			t.Errorf("a phone with spaces: %d %s", st, raw)
		}
		if st, _ := as(t, base, app, http.MethodPut, "/api/members/1900000999/"+openid, map[string]any{"phone": "13812345678"}, nil); st != http.StatusForbidden && st != http.StatusNotFound {
			t.Errorf("PUT at another mall as the app confined to %s: %d", mall, st)
		}
		for _, c := range []struct {
			who, token string
			want       member
		}{
			{"a viewer", viewer, member{"VIP-42", "o6_bmUnion42", "138****5678", "--05"}},
			{"an operator", operator, member{"VIP-42", "o6_bmUnion42", "138****5678", "--05"}},
			{"an administrator", admin, member{"VIP-42", "o6_bmUnion42", "13812345678", "1990-05-20"}},
			{"the admin token", auditToken, member{"VIP-42", "o6_bmUnion42", "13812345678", "1990-05-20"}},
		} {
			var one struct{ Member member }
			if st, raw := as(t, base, c.token, http.MethodGet, "/api/members/"+mall+"/"+openid, nil, &one); st != http.StatusOK || one.Member != c.want {
				t.Errorf("GET as %s: %d %s; want %+v", c.who, st, raw, c.want)
			}
			var list struct{ Members []member }
			if st, raw := as(t, base, c.token, http.MethodGet, "/api/members?phone=%2B8613812345678", nil, &list); st != http.StatusOK || len(list.Members) != 1 || list.Members[0] != c.want {
				t.Errorf("the phone search as %s: %d %s", c.who, st, raw)
			}
			req, _ := http.NewRequest(http.MethodGet, base+"/members/"+mall+"/"+openid, nil)
			req.Header.Set("Authorization", "Bearer "+c.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(page), `<dd id="phone" translate="no">`+c.want.Phone+`</dd>`) || !strings.Contains(string(page), `<dd id="birthday" translate="no">`+c.want.Birthday+`</dd>`) {
				t.Errorf("the member's page as %s shows another phone or birthday than %+v", c.who, c.want)
			}
		}
		for _, q := range []string{"1381234567", "138", "13812345678%25", "5678"} {
			if st, _ := as(t, base, viewer, http.MethodGet, "/api/members?phone="+q, nil, nil); st != http.StatusBadRequest {
				t.Errorf("a search for part of a phone, %q: %d, want 400", q, st)
			}
		}
		var none struct{ Members []member }
		if st, _ := as(t, base, viewer, http.MethodGet, "/api/members?phone=13812345679", nil, &none); st != http.StatusOK || len(none.Members) != 0 {
			t.Errorf("another number: %d, %+v", st, none.Members)
		}
		if st, _ := as(t, base, app, http.MethodGet, "/api/members?phone=13812345678", nil, nil); st != http.StatusForbidden {
			t.Errorf("the phone search as the app (no read): %d, want 403", st)
		}

		// The feed: the ids, the shop and the amount; never the phone or birthday.
		var feed struct {
			Entries []struct {
				TransactionID string `json:"transaction_id"`
				ShopNumber    string `json:"shop_number"`
				Amount        int64  `json:"amount"`
				MemberID      string `json:"member_id"`
				UnionID       string `json:"unionid"`
			} `json:"entries"`
		}
		st, raw = as(t, base, app, http.MethodGet, "/api/entries", nil, &feed)
		if st != http.StatusOK || len(feed.Entries) != 1 || feed.Entries[0].ShopNumber != "S01" || feed.Entries[0].Amount != 12345 ||
			feed.Entries[0].MemberID != "VIP-42" || feed.Entries[0].UnionID != "o6_bmUnion42" {
			t.Errorf("the feed: %d %s", st, raw)
		}
		if strings.Contains(raw, "5678") || strings.Contains(raw, "1990") || strings.Contains(raw, "phone") || strings.Contains(raw, "birthday") {
			t.Errorf("the feed holds the phone or the birthday: %s", raw)
		}

		// Erasure clears them, and rewrites the member's audit entries.
		var erased struct{ Pseudonym string }
		if st, raw := as(t, base, admin, http.MethodPost, "/api/members/"+mall+"/"+openid+"/erasure", nil, &erased); st != http.StatusOK {
			t.Fatalf("erase: %d %s", st, raw)
		}
		var after struct{ Member member }
		as(t, base, admin, http.MethodGet, "/api/members/"+mall+"/"+erased.Pseudonym, nil, &after)
		if after.Member != (member{}) {
			t.Errorf("the erased member keeps %+v", after.Member)
		}
		st, raw = as(t, base, admin, http.MethodGet, "/api/audit?limit=500", nil, nil)
		if st != http.StatusOK || strings.Contains(raw, openid) || !strings.Contains(raw, `"action":"member.set","mall":"`+mall+`","subject":"`+erased.Pseudonym+`"`) {
			t.Errorf("the audit log after erasure: %d %s", st, raw)
		}
		if strings.Contains(raw, "5678") || strings.Contains(raw, "VIP-42") {
			t.Errorf("the audit log holds the phone or an id: %s", raw)
		}
	})
}

// metric reads a counter of the admin listener at base's /metrics with
// the labels given (0 when absent), as token's.
func metric(t *testing.T, base, token, name, labels string) float64 {
	t.Helper()
	st, raw := as(t, base, token, http.MethodGet, "/metrics", nil, nil)
	if st != http.StatusOK {
		t.Fatalf("GET /metrics: %d", st)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name+"{"+labels+"}") + ` (\S+)$`).FindStringSubmatch(raw)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// The mini-program backend asks the status of many members at once on two
// replicas, with the sandbox answering 429 beyond WeChat Pay's documented
// 150 authorisation queries a second per merchant: the budget, shared in
// the database, keeps both under it together, and WeChat Pay never
// answers 429. The app account is confined to its mall.
func TestTheStatusLookupsOfTwoReplicasShareOneQueryBudget(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		// The default budget: the sandbox counts in fixed one-second
		// windows, which need not begin where the service's tenths of a
		// second do, and a query may reach it a moment after it was
		// counted; any of its seconds still gets at most eleven tenths of
		// the budget, 132. That the replicas share it shows in the rows
		// checked below.
		e := newEnv(t, dsn, envOptions{replicas: 2, rulesPath: memberRules(t, "1900000109", 0),
			sandbox: func(c *sandbox.Config) { c.RateLimits = true }})
		mall := e.mchID
		app := tokenOf(t, e, "mini", accounts.App, []string{mall})
		ops := tokenOf(t, e, "ops", accounts.Viewer, nil)
		const members = 300
		openids := make([]string, members)
		for i := range openids {
			openids[i] = fmt.Sprintf("oStatus%03d", i)
			if st, raw := as(t, e.admin.URL, app, http.MethodPut, "/api/members/"+mall+"/"+openids[i], map[string]any{"member_id": fmt.Sprint(i)}, nil); st != http.StatusOK {
				t.Fatalf("PUT member %d: %d %s", i, st, raw)
			}
		}
		second := httptest.NewServer(e.replicas[1].Admin())
		defer second.Close()
		bases := []string{e.admin.URL, second.URL}
		var wg sync.WaitGroup
		var mu sync.Mutex
		states := map[string]int{}
		for i, openid := range openids {
			wg.Go(func() {
				var s memberStatus
				st, raw := as(t, bases[i%2], app, http.MethodGet, "/api/members/"+mall+"/"+openid+"/status", nil, &s)
				if st != http.StatusOK {
					t.Errorf("status of %s: %d %s", openid, st, raw)
					return
				}
				mu.Lock()
				states[s.AuthorizeState]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if st, _ := as(t, e.admin.URL, app, http.MethodGet, "/api/members/1900000999/"+openids[0]+"/status", nil, nil); st != http.StatusForbidden && st != http.StatusNotFound {
			t.Errorf("a status at another mall as the app confined to %s: %d", mall, st)
		}
		var ok, spent, failed float64
		for _, base := range bases {
			ok += metric(t, base, ops, "mallpoints_member_queries_total", `outcome="ok",query="authorization"`)
			spent += metric(t, base, ops, "mallpoints_member_queries_total", `outcome="budget_spent",query="authorization"`)
			failed += metric(t, base, ops, "mallpoints_member_queries_total", `outcome="error",query="authorization"`)
		}
		t.Logf("%d lookups on 2 replicas: %v queries answered, %v over the budget; states %v", members, ok, spent, states)
		if failed != 0 || ok == 0 {
			t.Errorf("%v authorisation queries failed (a 429 among them), %v answered; want none failed", failed, ok)
		}
		// One query a member, made or not; a lookup answers what was known
		// when its wait ended.
		if int(ok)+int(spent) != members || states["UNAUTHORIZED"] > int(ok) || states["UNAUTHORIZED"]+states["UNKNOWN"] != members {
			t.Errorf("%v answered and %v over the budget for %d lookups; states %v", ok, spent, members, states)
		}
		// Both replicas counted in the same rows, a tenth of a second's
		// never above a tenth of the budget.
		rows, err := e.srv.DB().SQL().Query(`SELECT tenth, used FROM query_budget WHERE query = 'authorization'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		total, perTenth := 0, memberstatus.DefaultBudget/10
		for rows.Next() {
			var tenth int64
			var used int
			if err := rows.Scan(&tenth, &used); err != nil {
				t.Fatal(err)
			}
			if used > perTenth {
				t.Errorf("tenth %d counted %d queries, over the budget's %d", tenth, used, perTenth)
			}
			total += used
		}
		if total != int(ok+failed) {
			t.Errorf("the shared budget counted %d queries; the replicas made %v", total, ok+failed)
		}
	})
}

// sandboxAdmin posts body to the sandbox's admin API and decodes its
// answer into v.
func (e *env) sandboxAdmin(path string, body, v any) {
	e.t.Helper()
	raw, _ := json.Marshal(body)
	resp, err := http.Post(e.sbHTTP.URL+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		e.t.Fatalf("POST %s: %d %s", path, resp.StatusCode, out)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			e.t.Fatal(err)
		}
	}
}

// statusOf reads a member's status as the mini-program backend does.
func (e *env) statusOf(mall, openid string) memberStatus {
	e.t.Helper()
	var s memberStatus
	if st := e.get("/api/members/"+mall+"/"+openid+"/status", &s); st != http.StatusOK {
		e.t.Fatalf("status of %s: %d", openid, st)
	}
	return s
}

// A member who withdraws the authorisation is noticed by asking WeChat Pay
// (no notification says so). Its next payment is recorded and earns 0 with
// reason not_authorized; the sync, earn_points false with the remark, is
// refused by WeChat Pay with an answer of no documented meaning, and the
// authorisation query, not the code, makes it not_authorized rather than
// parked. The member's activation ends the withdrawal.
func TestAWithdrawnMembersPaymentEarnsNothingUntilItIsActivatedAgain(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		waits := make([]time.Duration, 100)
		for i := range waits {
			waits[i] = 100 * time.Millisecond
		}
		e := newEnv(t, dsn, envOptions{rulesPath: memberRules(t, "1900000109", 0),
			sandbox: func(c *sandbox.Config) {
				c.NotifyRetrySchedule = waits
				// Not the default code: the service must not go by it.
				c.DeauthorizedSyncAnswer = sandbox.ErrorAnswer{Status: http.StatusForbidden, Code: "RULE_LIMIT", Message: "规则限制"}
			},
			server: func(c *server.Config) { c.Status = memberstatus.Config{CacheFor: time.Nanosecond} }})
		mall := e.mchID
		openid := e.member(mall)
		first := e.pay(mall, openid, 10000, "S01")
		if tr := e.synced(mall, first); tr.Transaction.Points != 100 {
			t.Fatalf("an authorised member's payment: %+v", tr.Transaction)
		}
		if s := e.statusOf(mall, openid); s.AuthorizeState != "AUTHORIZED" || s.Balance != 100 || s.LastSync == nil || s.LastSync.State != "synced" {
			t.Fatalf("status before the withdrawal: %+v", s)
		}

		// The next payment's notification is refused while its clock is off;
		// meanwhile the member withdraws, and the mini-program asks.
		if err := e.sb.SetFaults(sandbox.Faults{Notifications: sandbox.NotificationFaults{ClockSkew: sandbox.Duration(10 * time.Minute)}}); err != nil {
			t.Fatal(err)
		}
		second := e.pay(mall, openid, 5000, "S01")
		e.sandboxAdmin("/sandbox/authorizations/"+openid+"/revoke", map[string]string{"appid": appID}, nil)
		if s := e.statusOf(mall, openid); s.AuthorizeState != "DEAUTHORIZED" {
			t.Fatalf("status after the withdrawal: %+v", s)
		}
		if err := e.sb.SetFaults(sandbox.Faults{}); err != nil {
			t.Fatal(err)
		}
		var tr transaction
		e.eventually("the withdrawn member's payment and its sync", func() bool {
			tr = e.transactionView(second)
			return tr.Transaction.Sync.State == "not_authorized"
		})
		last := tr.Attempts[len(tr.Attempts)-1]
		if tr.Transaction.Points != 0 || tr.Transaction.EarnPoints || tr.Transaction.NoPointsRemarks != "未授权商圈积分服务 (the member withdrew the points authorisation)" ||
			last.Outcome != "not_authorized" || last.Code != "RULE_LIMIT" || last.Status != http.StatusForbidden {
			t.Errorf("the withdrawn member's payment: %+v, last attempt %+v", tr.Transaction, last)
		}
		var m struct {
			Member struct {
				Balance        int64  `json:"balance"`
				AuthorizeState string `json:"authorize_state"`
			} `json:"member"`
		}
		if e.get("/api/members/"+mall+"/"+openid, &m); m.Member.Balance != 100 || m.Member.AuthorizeState != "DEAUTHORIZED" {
			t.Errorf("the member: %+v", m.Member)
		}
		page, _ := e.page(http.MethodGet, "/transactions/"+mall+"/"+second, nil)
		if !strings.Contains(page, "withdrew the points service") || !strings.Contains(page, "no points") {
			t.Errorf("the payment's page does not say the member withdrew:\n%s", page)
		}
		var audit struct {
			Entries []auditEntry `json:"entries"`
		}
		e.get("/api/audit?action=member.authorization_changed", &audit)
		if len(audit.Entries) != 1 || audit.Entries[0].Subject != openid || field(audit.Entries[0].After, "to") != `"DEAUTHORIZED"` ||
			field(audit.Entries[0].After, "from") != `"AUTHORIZED"` || audit.Entries[0].Actor != "system" {
			t.Errorf("the withdrawal's member event: %+v", audit.Entries)
		}

		// The member authorises again: its activation ends the withdrawal.
		if _, _, err := e.sb.Authorize(sandbox.MemberRequest{AppID: appID, OpenID: openid}); err != nil {
			t.Fatal(err)
		}
		e.eventually("the activation", func() bool {
			e.get("/api/members/"+mall+"/"+openid, &m)
			return m.Member.AuthorizeState == "AUTHORIZED"
		})
		third := e.pay(mall, openid, 5000, "S01")
		if tr := e.synced(mall, third); tr.Transaction.Points != 50 || tr.Transaction.TotalPoints != 150 {
			t.Errorf("after the activation: %+v", tr.Transaction)
		}
	})
}

// WeChat Pay holds the payment of a member without automatic points
// (REGISTERED_MODE) until the member submits it in the plugin: the status
// says PENDING meanwhile; once submitted, the payment arrives with a
// commit_tag, is recorded with it and synced, and the status says FINISHED.
func TestAHeldPaymentIsPendingUntilTheMemberSubmitsIt(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{rulesPath: memberRules(t, "1900000109", 1001),
			server: func(c *server.Config) { c.Status = memberstatus.Config{CacheFor: time.Nanosecond} }})
		mall, openid := e.mchID, "oHeld"
		if _, _, err := e.sb.Authorize(sandbox.MemberRequest{AppID: appID, OpenID: openid, AuthType: "REGISTERED_MODE"}); err != nil {
			t.Fatal(err)
		}
		e.eventually("the card's activation", func() bool { return e.get("/api/members/"+mall+"/"+openid, nil) == http.StatusOK })
		p := e.payment(mall, openid, 8800, "S01")
		if p.HeldUntil == "" || p.NotificationID != "" {
			t.Fatalf("the payment of a member in REGISTERED_MODE: %+v, want held", p)
		}
		if s := e.statusOf(mall, openid); s.PointsCommitStatus != "PENDING" || s.AuthorizeState != "UNAUTHORIZED" || s.CheckedAt == nil || s.LastSync != nil {
			t.Errorf("status while held: %+v", s)
		}
		if tr := e.transactionView(p.TransactionID); tr.Transaction.TransactionID != "" {
			t.Errorf("a held payment reached the service: %+v", tr.Transaction)
		}

		var sub struct {
			CommitTag string `json:"commit_tag"`
			Payments  []struct {
				TransactionID string `json:"transaction_id"`
			} `json:"payments"`
		}
		e.sandboxAdmin("/sandbox/members/"+openid+"/commit", map[string]string{"appid": appID}, &sub)
		if sub.CommitTag == "" || len(sub.Payments) != 1 || sub.Payments[0].TransactionID != p.TransactionID {
			t.Fatalf("the submission: %+v", sub)
		}
		e.synced(mall, p.TransactionID)
		var tr struct {
			Transaction struct {
				CommitTag string `json:"commit_tag"`
				Points    int64  `json:"points"`
			} `json:"transaction"`
			Entries []struct {
				CommitTag string `json:"commit_tag"`
			} `json:"entries"`
		}
		e.get("/api/transactions/"+mall+"/"+p.TransactionID, &tr)
		if tr.Transaction.CommitTag != sub.CommitTag || tr.Transaction.Points != 88 || len(tr.Entries) != 1 || tr.Entries[0].CommitTag != sub.CommitTag {
			t.Errorf("the submitted payment as recorded: %+v; want commit_tag %s", tr, sub.CommitTag)
		}
		if s := e.statusOf(mall, openid); s.PointsCommitStatus != "FINISHED" || s.Balance != 88 || s.LastSync == nil || s.LastSync.State != "synced" {
			t.Errorf("status once synced: %+v", s)
		}
	})
}

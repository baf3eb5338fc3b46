package server_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/server"
)

// parkedPayments starts a service whose mall's CRM answers 500 to every
// call, with two attempts before a decision parks, and makes n payments of
// ¥123.45 that park.
func parkedPayments(t *testing.T, dsn, token string, n int) (*env, *fakeCRM, []string) {
	t.Helper()
	crm := newFakeCRM(t, func(crmCall) (int, string) { return http.StatusInternalServerError, "boom" })
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, dsn, envOptions{rulesPath: crmRules(t, keys.MchID, crm.srv.URL+"/decide"), token: token,
		server: func(c *server.Config) { c.MaxAttempts = 2 }})
	openid := e.member(e.mchID)
	var ids []string
	for range n {
		ids = append(ids, e.pay(e.mchID, openid, 12345, "S01"))
	}
	for _, txid := range ids {
		e.eventually("parked "+txid, func() bool { return e.decision(txid).Transaction.Decision == "parked" })
	}
	return e, crm, ids
}

// callsAbout counts the CRM's calls about a payment.
func (c *fakeCRM) callsAbout(txid string) int {
	n := 0
	for _, call := range c.received() {
		if call.Body.Type == "payment" && call.Body.TransactionID == txid {
			n++
		}
	}
	return n
}

// The dashboard's buttons of a parked decision go through the ledger with
// the request's actor; pressed on a decision no longer parked, they say so
// and change nothing.
func TestDashboardDecisionButtonsDecideAParkedPaymentOnceAndNameTheActor(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e, crm, ids := parkedPayments(t, dsn, "", 2)
		byFile, retried := ids[0], ids[1]
		list, _ := e.page(http.MethodGet, "/decisions?state=parked", nil)
		for _, txid := range ids {
			if !strings.Contains(list, `action="/decisions/payment/`+e.mchID+`/`+txid+`/rules"`) {
				t.Errorf("the decisions page has no button for parked payment %s", txid)
			}
		}
		overview, _ := e.page(http.MethodGet, "/", nil)
		if !strings.Contains(overview, `id="decisions-parked" href="/decisions?state=parked">2<`) {
			t.Error("the overview does not count the two parked decisions")
		}

		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar}
		press := func(txid, action string) string {
			t.Helper()
			resp, err := browser.PostForm(e.admin.URL+"/decisions/payment/"+e.mchID+"/"+txid+"/"+action, url.Values{"next": {"/decisions"}})
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			page, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/decisions" {
				t.Fatalf("%s %s: status %d at %s", action, txid, resp.StatusCode, resp.Request.URL)
			}
			return html.UnescapeString(cell(string(page), "notice"))
		}
		if n := press(byFile, "rules"); n != "Payment "+byFile+" is decided by the rules file, recorded as asked by local." {
			t.Errorf("notice after deciding by the rules file: %q", n)
		}
		e.synced(e.mchID, byFile)
		d := e.decision(byFile)
		if d.Transaction.Decision != "file" || d.Transaction.Points != 123 || d.Transaction.DecisionNote != "decided by the rules file, asked by local" {
			t.Errorf("decided by the rules file: %+v; want 123 points, decision file, the actor named", d.Transaction)
		}
		for _, action := range []string{"retry", "rules"} {
			if n := press(byFile, action); n != "Payment "+byFile+" was not parked any more; nothing changed." {
				t.Errorf("%s on a decided payment: notice %q", action, n)
			}
		}
		if again := e.decision(byFile); again.Transaction.Decision != "file" || again.Transaction.Points != 123 ||
			again.Transaction.DecisionNote != d.Transaction.DecisionNote || len(again.Entries) != 1 {
			t.Errorf("pressing again changed the payment: %+v", again)
		}

		calls := crm.callsAbout(retried)
		if n := press(retried, "retry"); n != "Payment "+retried+": the mall's CRM is asked again." {
			t.Errorf("notice after retry: %q", n)
		}
		// The CRM still fails: it is asked again, and the decision parks again.
		e.eventually("the CRM to be asked again", func() bool { return crm.callsAbout(retried) > calls })
		e.eventually("the retried decision to park again", func() bool { return e.decision(retried).Transaction.Decision == "parked" })
		txPage, _ := e.page(http.MethodGet, "/transactions/"+e.mchID+"/"+byFile, nil)
		who := regexp.MustCompile(`(?s)<dd id="decision" data-decision="file">(.*?)</dd>`).FindStringSubmatch(txPage)
		if who == nil || !strings.Contains(who[1], "decided by the rules file, asked by local") {
			t.Errorf("the transaction page does not say who decided: %q", who)
		}
	})
}

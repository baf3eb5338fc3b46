package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/server"
	"github.com/seed2ac2593f/wxpay/sandbox"
	"github.com/seed2ac2593f/wxpay/webhook"
)

const crmSecret = "test-crm-secret-0123456789abcdef0123456789abcdef"

// fakeCRM is a mall's CRM over loopback HTTP: it verifies each call's
// signature and answers with answer.
type fakeCRM struct {
	t   *testing.T
	srv *httptest.Server

	mu     sync.Mutex
	calls  []crmCall
	answer func(c crmCall) (int, string)
}

// crmCall is one decision call the CRM received.
type crmCall struct {
	ID   string
	Body struct {
		Type          string `json:"type"`
		Mall          string `json:"mall"`
		OpenID        string `json:"openid"`
		TransactionID string `json:"transaction_id"`
		Amount        int64  `json:"amount"`
		RefundID      string `json:"refund_id"`
		RefundAmount  int64  `json:"refund_amount"`
		Earned        int64  `json:"earned"`
		MaxDeduction  *int64 `json:"max_deduction"`
	}
}

func newFakeCRM(t *testing.T, answer func(c crmCall) (int, string)) *fakeCRM {
	c := &fakeCRM{t: t, answer: answer}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(r.Header, body, []byte(crmSecret)); err != nil {
			t.Errorf("a decision call that does not verify: %v", err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		call := crmCall{ID: r.Header.Get(webhook.HeaderID)}
		if err := json.Unmarshal(body, &call.Body); err != nil {
			t.Errorf("decision call body %s: %v", body, err)
		}
		c.mu.Lock()
		c.calls = append(c.calls, call)
		answer := c.answer
		c.mu.Unlock()
		status, out := answer(call)
		w.WriteHeader(status)
		io.WriteString(w, out)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *fakeCRM) setAnswer(a func(crmCall) (int, string)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answer = a
}

func (c *fakeCRM) received() []crmCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]crmCall(nil), c.calls...)
}

// crmRules writes a rules file whose test mall's points its CRM at url
// decides, with the secret in a file, and returns its path.
func crmRules(t *testing.T, mall, url string) string {
	dir := t.TempDir()
	secret := filepath.Join(dir, "crm.secret")
	if err := os.WriteFile(secret, []byte(crmSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rules.yaml")
	rules := fmt.Sprintf("malls:\n  - mchid: %q\n    decide: {url: %q, secret_file: %q, timeout: 2s}\n", mall, url, secret)
	if err := os.WriteFile(path, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// decided is the API's view of a payment's decision.
type decided struct {
	Transaction struct {
		Points       int64  `json:"points"`
		Decision     string `json:"decision"`
		DecisionNote string `json:"decision_note"`
		CRMTotal     *int64 `json:"crm_total"`
		Steps        []struct {
			Step string `json:"step"`
		} `json:"steps"`
		Sync struct {
			State string `json:"state"`
		} `json:"sync"`
	} `json:"transaction"`
	Entries []struct {
		Kind   string `json:"kind"`
		Points int64  `json:"points"`
	} `json:"entries"`
}

func (e *env) decision(txid string) decided {
	e.t.Helper()
	var d decided
	e.eventually("payment "+txid, func() bool {
		d = decided{}
		return e.get("/api/transactions/"+e.mchID+"/"+txid, &d) == http.StatusOK
	})
	return d
}

func TestTheMallsCRMDecidesThePointsAndTheSyncSendsItsTotal(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		crm := newFakeCRM(t, func(c crmCall) (int, string) {
			return http.StatusOK, `{"points": 42, "total_points": 1000}`
		})
		keys, err := testKeys()
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, dsn, envOptions{rulesPath: crmRules(t, keys.MchID, crm.srv.URL+"/decide")})
		openid := e.member(e.mchID)
		txid := e.pay(e.mchID, openid, 12345, "S01")
		e.synced(e.mchID, txid)
		d := e.decision(txid)
		if d.Transaction.Points != 42 || d.Transaction.Decision != "crm" || d.Transaction.CRMTotal == nil ||
			*d.Transaction.CRMTotal != 1000 || len(d.Transaction.Steps) != 1 || d.Transaction.Steps[0].Step != "crm" {
			t.Errorf("the payment as decided: %+v; want 42 points by the CRM, its total 1000, one crm step", d.Transaction)
		}
		if s := e.sandboxSync(txid); s.Body.IncreasedPoints != 42 || s.Body.TotalPoints == nil || *s.Body.TotalPoints != 1000 || !s.Body.EarnPoints {
			t.Errorf("WeChat Pay was told %+v; want 42 points and the CRM's total 1000", s.Body)
		}
		calls := crm.received()
		if len(calls) != 1 {
			t.Fatalf("%d calls to the CRM, want 1", len(calls))
		}
		c := calls[0]
		if c.ID != "payment:"+e.mchID+":"+txid || c.Body.Type != "payment" || c.Body.OpenID != openid ||
			c.Body.TransactionID != txid || c.Body.Amount != 12345 || c.Body.Mall != e.mchID {
			t.Errorf("the CRM was asked %+v", c)
		}

		// A refund is the CRM's to decide too, within what is left of E.
		crm.setAnswer(func(c crmCall) (int, string) { return http.StatusOK, `{"points": 40}` })
		if _, err := e.sb.Refund(sandbox.RefundRequest{TransactionID: txid, RefundAmount: 10000}); err != nil {
			t.Fatal(err)
		}
		e.eventually("the refund's deduction", func() bool {
			d = e.decision(txid)
			return len(d.Entries) == 2
		})
		if d.Entries[1].Kind != "refund" || d.Entries[1].Points != -40 {
			t.Errorf("entries %+v; want the refund's -40", d.Entries)
		}
		calls = crm.received()
		if r := calls[len(calls)-1]; r.Body.Type != "refund" || r.Body.RefundAmount != 10000 || r.Body.Earned != 42 ||
			r.Body.MaxDeduction == nil || *r.Body.MaxDeduction != 42 {
			t.Errorf("the CRM was asked about the refund %+v; want E 42 and at most 42", r.Body)
		}

		// A preview never calls a CRM, whether the rules are in force or
		// uploaded.
		before := len(crm.received())
		upload := fmt.Sprintf("default:\n  decide: {url: %q, secret_env: ANY}\n", crm.srv.URL+"/decide")
		for _, body := range []map[string]any{
			{"payments": []map[string]any{{"mall": e.mchID, "openid": openid, "amount": 100, "time_end": "2026-01-01T10:00:00+08:00"}}},
			{"rules": upload, "payments": []map[string]any{{"mall": e.mchID, "openid": openid, "amount": 100, "time_end": "2026-01-01T10:00:00+08:00"}}},
		} {
			var got struct {
				Results []struct {
					Points int64  `json:"points"`
					CRM    string `json:"crm"`
				} `json:"results"`
			}
			if s := e.do("POST", "/api/rules/preview", body, nil, &got); s != http.StatusOK || len(got.Results) != 1 ||
				got.Results[0].CRM != crm.srv.URL+"/decide" || got.Results[0].Points != 1 {
				t.Errorf("preview: %d %+v; want the rules file's 1 point, naming the CRM", s, got)
			}
		}
		if got := len(crm.received()); got != before {
			t.Errorf("a preview called the CRM (%d calls, had %d)", got, before)
		}
	})
}

func TestAPaymentWaitsWhileTheCRMIsDownAndIsDecidedWhenItIsBack(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		crm := newFakeCRM(t, func(crmCall) (int, string) { return http.StatusServiceUnavailable, "down for maintenance" })
		keys, err := testKeys()
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, dsn, envOptions{rulesPath: crmRules(t, keys.MchID, crm.srv.URL+"/decide")})
		openid := e.member(e.mchID)
		txid := e.pay(e.mchID, openid, 20000, "S01")
		e.eventually("a failed call noted", func() bool { return e.decision(txid).Transaction.DecisionNote != "" })
		d := e.decision(txid)
		if d.Transaction.Decision != "pending" || d.Transaction.Sync.State != "pending" || len(d.Entries) != 0 ||
			d.Transaction.DecisionNote != `crm: answered 503: "down for maintenance"` {
			t.Fatalf("while the CRM is down: %+v; want pending with the failure noted, no entry", d)
		}
		var list struct {
			Decisions []struct {
				Kind     string `json:"kind"`
				Subject  string `json:"subject"`
				Decision string `json:"decision"`
			} `json:"decisions"`
		}
		if e.get("/api/decisions?state=pending", &list); len(list.Decisions) != 1 || list.Decisions[0].Subject != txid {
			t.Errorf("GET /api/decisions: %+v; want the payment", list.Decisions)
		}
		crm.setAnswer(func(c crmCall) (int, string) { return http.StatusOK, `{"points": 200}` })
		e.synced(e.mchID, txid)
		if d = e.decision(txid); d.Transaction.Points != 200 || len(d.Entries) != 1 || d.Entries[0].Points != 200 {
			t.Errorf("after the CRM came back: %+v; want +200", d)
		}
		if e.get("/api/decisions", &list); len(list.Decisions) != 0 {
			t.Errorf("still waiting: %+v", list.Decisions)
		}
	})
}

func TestAParkedDecisionIsRetriedOrDecidedByTheRulesFileFromTheAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		crm := newFakeCRM(t, func(crmCall) (int, string) { return http.StatusInternalServerError, "boom" })
		keys, err := testKeys()
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, dsn, envOptions{rulesPath: crmRules(t, keys.MchID, crm.srv.URL+"/decide"),
			server: func(c *server.Config) { c.MaxAttempts = 2 }})
		openid := e.member(e.mchID)
		byFile := e.pay(e.mchID, openid, 12345, "S01")
		retried := e.pay(e.mchID, openid, 30000, "S01")
		for _, txid := range []string{byFile, retried} {
			e.eventually("parked "+txid, func() bool { return e.decision(txid).Transaction.Decision == "parked" })
		}
		path := "/api/decisions/payment/" + e.mchID + "/"
		if s := e.do("POST", path+byFile, map[string]any{"action": "rules"}, nil, nil); s != http.StatusOK {
			t.Fatalf("decide by the rules file: %d", s)
		}
		e.synced(e.mchID, byFile)
		d := e.decision(byFile)
		if d.Transaction.Decision != "file" || d.Transaction.Points != 123 || d.Transaction.DecisionNote != "decided by the rules file, asked by local" {
			t.Errorf("decided by the rules file: %+v; want 123 points, decision file, the actor named", d.Transaction)
		}
		if s := e.do("POST", path+byFile, map[string]any{"action": "retry"}, nil, nil); s != http.StatusConflict {
			t.Errorf("retrying a decided payment: %d, want 409", s)
		}

		crm.setAnswer(func(crmCall) (int, string) { return http.StatusOK, `{"points": 7, "remark": "ignored"}` })
		if s := e.do("POST", path+retried, map[string]any{"action": "retry"}, nil, nil); s != http.StatusOK {
			t.Fatalf("retry: %d", s)
		}
		e.synced(e.mchID, retried)
		if d := e.decision(retried); d.Transaction.Decision != "crm" || d.Transaction.Points != 7 {
			t.Errorf("retried: %+v; want 7 points by the CRM", d.Transaction)
		}
		for _, c := range []struct {
			path   string
			body   any
			status int
		}{
			{path + "4200000000000000000", map[string]any{"action": "rules"}, http.StatusNotFound},
			{"/api/decisions/invoice/" + e.mchID + "/" + retried, map[string]any{"action": "rules"}, http.StatusBadRequest},
			{path + retried, map[string]any{"action": "delete"}, http.StatusBadRequest},
		} {
			if s := e.do("POST", c.path, c.body, nil, nil); s != c.status {
				t.Errorf("POST %s %v: %d, want %d", c.path, c.body, s, c.status)
			}
		}
	})
}

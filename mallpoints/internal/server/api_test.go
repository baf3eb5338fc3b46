package server_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

func TestAdjustmentsNeedAnIdempotencyKeyAndABodyWithKnownFieldsAndWriteNothingOtherwise(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		openid := e.member(e.mchID)
		e.synced(e.mchID, e.pay(e.mchID, openid, 10000, ""))
		path := "/api/members/" + e.mchID + "/" + openid + "/adjustments"
		key := func(k string) http.Header { return http.Header{"Idempotency-Key": {k}} }
		for _, c := range []struct {
			name   string
			body   any
			header http.Header
			status int
			code   string
			field  string
		}{
			{"a misspelt field", `{"pionts": 5, "reason": "x"}`, key("k1"), 400, "UNKNOWN_FIELD", "pionts"},
			{"a string for a number", `{"points": "5", "reason": "x"}`, key("k1"), 400, "INVALID_FIELD", "points"},
			{"no points", `{"reason": "x"}`, key("k1"), 400, "INVALID_FIELD", "points"},
			{"no reason", `{"points": 5}`, key("k1"), 400, "INVALID_FIELD", "reason"},
			{"not JSON", `{"points": 5,`, key("k1"), 400, "INVALID_JSON", ""},
			{"two objects", `{"points": 5, "reason": "x"} {}`, key("k1"), 400, "INVALID_JSON", ""},
			{"no Idempotency-Key", `{"points": 5, "reason": "x"}`, nil, 400, "MISSING_IDEMPOTENCY_KEY", "Idempotency-Key"},
			{"more than the balance", `{"points": -101, "reason": "a big gift"}`, key("k2"), 409, "INSUFFICIENT_BALANCE", "points"},
		} {
			var got apiError
			if st := e.do(http.MethodPost, path, c.body, c.header, &got); st != c.status || got.Code != c.code || got.Field != c.field {
				t.Errorf("%s: %d %+v; want %d %s field %q", c.name, st, got, c.status, c.code, c.field)
			}
		}
		if m := e.memberView(e.mchID, openid); m.Member.Balance != 100 || len(m.Entries) != 1 {
			t.Fatalf("a refused request wrote something: balance %d, %d entries", m.Member.Balance, len(m.Entries))
		}

		// A redemption, repeated with the same key, counts once.
		var first, again struct {
			Entry struct {
				Seq          int64 `json:"seq"`
				BalanceAfter int64 `json:"balance_after"`
			} `json:"entry"`
		}
		body := map[string]any{"points": -30, "reason": "redeemed a coffee"}
		if st := e.do(http.MethodPost, path, body, key("redeem-7"), &first); st != http.StatusCreated || first.Entry.BalanceAfter != 70 {
			t.Fatalf("redemption: %d %+v", st, first)
		}
		if st := e.do(http.MethodPost, path, body, key("redeem-7"), &again); st != http.StatusOK || again.Entry.Seq != first.Entry.Seq {
			t.Errorf("repeat: %d %+v; want 200 and the first entry", st, again)
		}
		var reused apiError
		if st := e.do(http.MethodPost, path, map[string]any{"points": -31, "reason": "redeemed a coffee"}, key("redeem-7"), &reused); st != http.StatusConflict || reused.Code != "IDEMPOTENCY_KEY_REUSED" {
			t.Errorf("the key with another body: %d %+v", st, reused)
		}
		if b := e.memberView(e.mchID, openid).Member.Balance; b != 70 {
			t.Errorf("balance %d, want 70", b)
		}
		var missing apiError
		if st := e.do(http.MethodPost, "/api/members/"+e.mchID+"/nobody/adjustments", body, key("k3"), &missing); st != http.StatusNotFound {
			t.Errorf("unknown member: %d %+v", st, missing)
		}
	})
}

func TestANotificationThatDoesNotVerifyIsRefusedAndWritesNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		openid := e.member(e.mchID)
		// The sandbox signs the first attempt of the next notification with
		// a key nobody trusts; WeChat Pay then retries, signed correctly.
		if err := e.sb.SetFaults(sandbox.Faults{Notifications: sandbox.NotificationFaults{BadSignatureRate: 1}}); err != nil {
			t.Fatal(err)
		}
		p := e.payment(e.mchID, openid, 4200, "")
		first := e.deliveryOf(p.NotificationID)
		e.sb.SetFaults(sandbox.Faults{})
		e.synced(e.mchID, p.TransactionID)
		if st := e.replay(first); st != http.StatusUnauthorized {
			t.Errorf("the badly signed attempt: status %d, want 401", st)
		}
		// A tampered body: same headers, one byte changed.
		good := e.deliveryOf(p.NotificationID)
		tampered := delivery{good.path, good.header, bytes.Replace(good.body, []byte(`"id":"`), []byte(`"id":"x`), 1)}
		if st := e.replay(tampered); st != http.StatusUnauthorized {
			t.Errorf("a tampered body: status %d, want 401", st)
		}
		var list struct{ Transactions []struct{} }
		e.get("/api/transactions", &list)
		if len(list.Transactions) != 1 {
			t.Errorf("%d transactions, want 1", len(list.Transactions))
		}
		var deliveries []sandbox.Delivery
		for _, d := range e.sb.Deliveries() {
			if d.ID == p.NotificationID {
				deliveries = append(deliveries, d)
			}
		}
		if len(deliveries) != 1 || len(deliveries[0].Attempts) < 2 || deliveries[0].Attempts[0].Status != http.StatusUnauthorized {
			t.Errorf("deliveries %+v: want a refused first attempt, then a success", deliveries)
		}
	})
}

func TestTheAdminSurfaceWantsItsTokenAndRefusesCrossSiteWrites(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{token: "s3cret-token"})
		for _, c := range []struct {
			name, auth string
			status     int
		}{{"no token", "", 401}, {"a wrong token", "Bearer s3cret-tokem", 401}, {"the token", "Bearer s3cret-token", 200}} {
			req, _ := http.NewRequest(http.MethodGet, e.admin.URL+"/api/members", nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
			}
		}
		req, _ := http.NewRequest(http.MethodPost, e.admin.URL+"/api/parkings", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer s3cret-token")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a cross-site POST with the token: status %d, want 403", resp.StatusCode)
		}
	})
}

func TestErasureReplacesTheOpenIDEverywhereAndKeepsTheSums(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		openid := e.member(e.mchID)
		// While a sync waits, erasure waits too: WeChat Pay must get the real openid.
		e.sb.SetFaults(sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{"*": {ErrorRate: 1, ErrorStatus: 500}}})
		tx := e.pay(e.mchID, openid, 30000, "")
		e.eventually("a failed sync attempt", func() bool {
			var tr transaction
			e.get("/api/transactions/"+e.mchID+"/"+tx, &tr)
			return tr.Transaction.Sync.Attempts > 0
		})
		var refused apiError
		if st := e.do(http.MethodPost, "/api/members/"+e.mchID+"/"+openid+"/erasure", nil, nil, &refused); st != http.StatusConflict || refused.Code != "SYNCS_PENDING" {
			t.Errorf("erasure with a sync pending: %d %+v", st, refused)
		}
		e.sb.SetFaults(sandbox.Faults{})
		e.synced(e.mchID, tx)
		e.refund(e.mchID, tx, 10000)
		var erased struct{ Pseudonym string }
		if st := e.do(http.MethodPost, "/api/members/"+e.mchID+"/"+openid+"/erasure", nil, nil, &erased); st != 200 || !strings.HasPrefix(erased.Pseudonym, "erased_") {
			t.Fatalf("erasure: %d %+v", st, erased)
		}
		if st := e.get("/api/members/"+e.mchID+"/"+openid, nil); st != http.StatusNotFound {
			t.Errorf("the erased openid still answers %d", st)
		}
		m := e.memberView(e.mchID, erased.Pseudonym)
		if m.Member.Balance != 200 || !m.Member.Erased || len(m.Entries) != 2 {
			t.Errorf("pseudonymous member %+v: want balance 200 and both entries", m)
		}
		var feed feedPage
		e.get("/api/entries", &feed)
		for _, en := range feed.Entries {
			if en.OpenID == openid {
				t.Errorf("the feed still names the openid: %+v", en)
			}
		}
		var tr transaction
		e.get("/api/transactions/"+e.mchID+"/"+tx, &tr)
		if tr.Transaction.OpenID != erased.Pseudonym {
			t.Errorf("the payment still names %s", tr.Transaction.OpenID)
		}
	})
}

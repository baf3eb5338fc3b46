package sandbox_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// The admin API of the package doc, end to end over HTTP: authorise, pay, sync
// twice (counted, the last body kept), refund (notified only after a sync),
// deliveries listed.
func TestAdminFlow(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	srv := newServer(t, sandbox.WithNotifyURL(rc.URL))

	var mb sandbox.Member
	body := `{"appid":"` + appID + `","openid":"` + openID + `"}`
	if st := adminDo(t, srv, http.MethodPost, "/sandbox/authorizations", body, &mb); st != 201 {
		t.Fatalf("first authorisation = %d, want 201", st)
	}
	if mb.AuthorizeState != "AUTHORIZED" || mb.NotificationID == "" || !regexp.MustCompile(`^[0-9]{12}$`).MatchString(mb.Code) {
		t.Errorf("member = %+v", mb)
	}
	var again sandbox.Member
	if st := adminDo(t, srv, http.MethodPost, "/sandbox/authorizations", body, &again); st != 200 || again.Code != mb.Code {
		t.Errorf("second authorisation = %d %+v, want 200 and the same card", st, again)
	}

	var paid struct {
		TransactionID  string `json:"transaction_id"`
		NotificationID string `json:"notification_id"`
	}
	if st := adminDo(t, srv, http.MethodPost, "/sandbox/transactions",
		`{"appid":"`+appID+`","openid":"`+openID+`","amount":8800,"shop_number":"50001","shop_name":"重庆烤鱼"}`, &paid); st != 201 {
		t.Fatalf("transaction = %d", st)
	}
	if !regexp.MustCompile(`^4200[0-9]{6}20250519[0-9]{10}$`).MatchString(paid.TransactionID) || paid.NotificationID == "" {
		t.Errorf("transaction = %+v, want a 28-digit id and a notification", paid)
	}

	var refund struct {
		RefundID       string `json:"refund_id"`
		NotificationID string `json:"notification_id"`
	}
	if st := adminDo(t, srv, http.MethodPost, "/sandbox/refunds", `{"transaction_id":"`+paid.TransactionID+`","refund_amount":100}`, &refund); st != 201 {
		t.Fatalf("refund = %d", st)
	}
	if refund.RefundID == "" || refund.NotificationID != "" {
		t.Errorf("refund before any sync = %+v, want no notification", refund)
	}

	var points map[string]any
	if st := adminDo(t, srv, http.MethodGet, "/sandbox/points/"+paid.TransactionID, "", &points); st != 200 || points["sync_count"] != float64(0) {
		t.Errorf("points before syncing = %d %v", st, points)
	}
	first := pointsBody(paid.TransactionID)
	second := strings.Replace(first, `"increased_points":100`, `"increased_points":80`, 1) + "\n"
	for _, b := range []string{first, second} {
		if a := send(t, srv, raw{target: "/v3/businesscircle/points/notify", body: b}); a.status != 204 {
			t.Fatalf("sync = %d %s", a.status, a.body)
		}
	}
	var synced struct {
		TransactionID string          `json:"transaction_id"`
		SyncCount     int             `json:"sync_count"`
		LastSync      json.RawMessage `json:"last_sync"`
		LastSyncAt    string          `json:"last_sync_at"`
	}
	adminDo(t, srv, http.MethodGet, "/sandbox/points/"+paid.TransactionID, "", &synced)
	if synced.TransactionID != paid.TransactionID || synced.SyncCount != 2 || string(synced.LastSync) != strings.TrimSpace(second) ||
		synced.LastSyncAt != "2025-05-19T12:00:00+08:00" {
		t.Errorf("points = %+v", synced)
	}

	if st := adminDo(t, srv, http.MethodPost, "/sandbox/refunds", `{"transaction_id":"`+paid.TransactionID+`","refund_amount":8700}`, &refund); st != 201 {
		t.Fatalf("refund = %d", st)
	}
	if refund.NotificationID == "" {
		t.Error("refund after a sync was not notified")
	}
	var e struct{ Error, Field string }
	if st := adminDo(t, srv, http.MethodPost, "/sandbox/refunds", `{"transaction_id":"`+paid.TransactionID+`","refund_amount":1}`, &e); st != 400 || e.Field != "refund_amount" {
		t.Errorf("refund beyond the amount = %d %+v", st, e)
	}

	var list struct{ Deliveries []sandbox.Delivery }
	deadline := time.Now().Add(5 * time.Second)
	for {
		adminDo(t, srv, http.MethodGet, "/sandbox/deliveries", "", &list)
		done := len(list.Deliveries) == 4
		for _, d := range list.Deliveries {
			done = done && d.State == "delivered" && len(d.Attempts) == 1 && d.Attempts[0].Status == 200
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries = %+v, want 4 delivered", list.Deliveries)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := adminDo(t, srv, http.MethodGet, "/sandbox/points/4200000000000000000000000000", "", &e); st != 404 {
		t.Errorf("points of an unknown transaction = %d", st)
	}
}

// Bad admin input is 400 naming the field.
func TestAdminBadInput(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	srv := newServer(t, sandbox.WithNotifyURL(rc.URL), sandbox.WithConfig(func(c *sandbox.Config) {
		partner := c.Merchants[0]
		partner.MchID = "1900000100"
		partner.SubMerchants = []sandbox.SubMerchant{{MchID: subMch}}
		c.Merchants = append(c.Merchants, partner)
	}))
	txID := pay(t, srv.Sandbox, "", true)
	tests := []struct {
		path, body, field string
	}{
		{"/sandbox/transactions", `{"appid":"wx","openid":"o"}`, "amount"},
		{"/sandbox/transactions", `{"appid":"wx","openid":"o","amount":-1}`, "amount"},
		{"/sandbox/transactions", `{"appid":"wx","openid":"o","amount":"88"}`, "amount"},
		{"/sandbox/transactions", `{"appid":"wx","openid":"o","amount":1,"amout":2}`, "amout"},
		{"/sandbox/transactions", `{"openid":"o","amount":1}`, "appid"},
		{"/sandbox/transactions", `{"appid":"wx","amount":1}`, "openid"},
		{"/sandbox/transactions", `{"appid":"wx","openid":"o","amount":1,"mchid":"1"}`, "mchid"},
		{"/sandbox/transactions", `{"appid":"wx","openid":"o","amount":1,"sub_mchid":"1900000888"}`, "sub_mchid"},
		{"/sandbox/transactions", `{"appid":"wx","openid":"o","amount":1,"mchid":"1900000100"}`, "sub_mchid"},
		{"/sandbox/transactions", `{"appid":"wx","openid":"o","amount":1,"shop_name":"` + strings.Repeat("x", 129) + `"}`, "shop_name"},
		{"/sandbox/transactions", `{"appid":"wx","openid":"o","amount":1,"transaction_id":"42x"}`, "transaction_id"},
		{"/sandbox/transactions", `{"appid":"wx","openid":"o","amount":1,"transaction_id":"` + txID + `"}`, "transaction_id"},
		{"/sandbox/transactions", `[1]`, "body"},
		{"/sandbox/authorizations", `null`, "body"},
		{"/sandbox/transactions", `{"appid":"wx","openid":"o","amount":1} {}`, "body"},
		{"/sandbox/authorizations", `{"appid":"wx","openid":"o","auth_type":"MAYBE"}`, "auth_type"},
		{"/sandbox/authorizations/o/revoke", `{"appid":"wx"}`, "openid"},
		{"/sandbox/authorizations/o/revoke", `{"appid":"wx","openid":"o"}`, "openid"},
		{"/sandbox/authorizations/o/revoke", `{"appid":"wx","auth_type":"REGISTERED_MODE"}`, "auth_type"},
		{"/sandbox/members/o/commit", `{"appid":"wx"}`, "openid"},
		{"/sandbox/members/o/commit", `{"openid":"o"}`, "openid"},
		{"/sandbox/members/o/commit", `{}`, "appid"},
		{"/sandbox/refunds", `{"refund_amount":1}`, "transaction_id"},
		{"/sandbox/refunds", `{"transaction_id":"42","refund_amount":1}`, "transaction_id"},
		{"/sandbox/refunds", `{"transaction_id":"` + txID + `","refund_amount":0}`, "refund_amount"},
		{"/sandbox/refunds", `{"transaction_id":"` + txID + `","refund_amount":1,"mchid":"1900000100"}`, "mchid"},
	}
	for _, tt := range tests {
		var e struct{ Error, Field string }
		if st := adminDo(t, srv, http.MethodPost, tt.path, tt.body, &e); st != 400 || e.Field != tt.field || e.Error == "" {
			t.Errorf("POST %s %s = %d %+v, want 400 naming %s", tt.path, tt.body, st, e, tt.field)
		}
	}
	// A chosen transaction id is kept.
	var chosen sandbox.Payment
	if st := adminDo(t, srv, http.MethodPost, "/sandbox/transactions", `{"appid":"wx","openid":"o","amount":1,"transaction_id":"1217752501201407033233368018"}`, &chosen); st != 201 || chosen.TransactionID != "1217752501201407033233368018" {
		t.Errorf("payment with a chosen id = %d %+v", st, chosen)
	}
	// The provider of a sub-merchant is found without mchid.
	var p sandbox.Payment
	if st := adminDo(t, srv, http.MethodPost, "/sandbox/transactions", `{"sub_mchid":"`+subMch+`","appid":"wx","openid":"o","amount":1}`, &p); st != 201 {
		t.Errorf("payment for a sub-merchant = %d", st)
	}
	// ?mchid= narrows what is listed.
	var list struct{ Deliveries []sandbox.Delivery }
	if st := adminDo(t, srv, http.MethodGet, "/sandbox/deliveries?mchid=1900000100", "", &list); st != 200 || len(list.Deliveries) != 0 {
		t.Errorf("deliveries of the provider = %d %+v", st, list)
	}
	if st := adminDo(t, srv, http.MethodGet, "/sandbox/deliveries?mchid="+srv.Keys.MchID, "", &list); st != 200 || len(list.Deliveries) != 2 {
		t.Errorf("deliveries of the merchant = %d %+v, want the authorisation and the payment", st, list)
	}
	var fe struct{ Error, Field string }
	if st := adminDo(t, srv, http.MethodGet, "/sandbox/deliveries?mchid=42", "", &fe); st != 400 || fe.Field != "mchid" {
		t.Errorf("deliveries of an unknown merchant = %d %+v", st, fe)
	}
	if st := adminDo(t, srv, http.MethodGet, "/sandbox/points/"+txID+"?mchid=1900000100", "", nil); st != 404 {
		t.Errorf("points of another merchant's transaction = %d", st)
	}
	if st := adminDo(t, srv, http.MethodGet, "/sandbox/points/"+txID+"?mchid="+srv.Keys.MchID, "", nil); st != 200 {
		t.Errorf("points of the merchant's transaction = %d", st)
	}
	var e struct{ Error string }
	if st := adminDo(t, srv, http.MethodGet, "/sandbox/nothing", "", &e); st != 404 || e.Error == "" {
		t.Errorf("unknown admin path = %d %+v", st, e)
	}
}

// Every admin route answers another method with 405 and the methods it
// takes in Allow, not 404.
func TestAdminOtherMethodIs405WithAllow(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	for _, tt := range []struct{ method, path, allow string }{
		{http.MethodPost, "/sandbox/faults", "GET, PUT"},
		{http.MethodDelete, "/sandbox/faults", "GET, PUT"},
		{http.MethodGet, "/sandbox/authorizations", "POST"},
		{http.MethodPut, "/sandbox/authorizations/o/revoke", "POST"},
		{http.MethodGet, "/sandbox/members/o/commit", "POST"},
		{http.MethodGet, "/sandbox/transactions", "POST"},
		{http.MethodGet, "/sandbox/refunds", "POST"},
		{http.MethodPost, "/sandbox/points/4200", "GET"},
		{http.MethodPost, "/sandbox/parkings", "GET"},
		{http.MethodDelete, "/sandbox/deliveries", "GET"},
	} {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != tt.allow {
			t.Errorf("%s %s = %d Allow %q, want 405 Allow %q", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Allow"), tt.allow)
		}
	}
}

// A web page the developer opens cannot drive the admin API: a cross-site
// browser request is 403 and a state-changing request that is not
// application/json (what a form or a no-preflight fetch sends) is 415, and
// neither creates anything. curl and Go clients, which send no Origin, pass.
func TestAdminRefusesCrossSiteBrowserRequests(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	const body = `{"appid":"wx1","openid":"o1","amount":100,"transaction_id":"42"}`
	for _, tt := range []struct {
		name   string
		header map[string]string
		status int
	}{
		{"text/plain from a foreign page", map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example"}, 403},
		{"text/plain without Origin", map[string]string{"Content-Type": "text/plain"}, 415},
		{"form without Origin", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"no Content-Type", nil, 415},
		{"JSON from a foreign page", map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, 403},
		{"JSON, Sec-Fetch-Site cross-site", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403},
		{"JSON, Sec-Fetch-Site same-site", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-site"}, 403},
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/sandbox/transactions", strings.NewReader(body))
		for k, v := range tt.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
	}
	if p, ok := srv.Sandbox.Points("42"); ok {
		t.Errorf("a refused request created transaction %+v", p)
	}
	for _, ct := range []string{"application/json", "application/json; charset=utf-8"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/sandbox/authorizations", strings.NewReader(`{"appid":"wx1","openid":"o1"}`))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			t.Errorf("same-origin JSON (%s) = %d, want it accepted", ct, resp.StatusCode)
		}
	}
}

// Admin bodies are read by exact member names too, at every level: a name
// given twice or in another case is refused, never resolved silently.
func TestAdminRefusesRepeatedAndCaseVariantMembers(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	for _, tt := range []struct{ method, path, body, field string }{
		{http.MethodPost, "/sandbox/transactions", `{"appid":"wx1","openid":"o1","amount":1,"OPENID":"o2"}`, "OPENID"},
		{http.MethodPost, "/sandbox/transactions", `{"appid":"wx1","openid":"o1","amount":1,"amount":2}`, "amount"},
		{http.MethodPost, "/sandbox/refunds", `{"Transaction_ID":"42","refund_amount":1}`, "Transaction_ID"},
		{http.MethodPut, "/sandbox/faults", `{"notifications":{"probe_rate":0,"PROBE_RATE":1}}`, "notifications/PROBE_RATE"},
		{http.MethodPut, "/sandbox/faults", `{"endpoints":{"*":{"error_rate":0},"*":{"error_rate":1}}}`, "endpoints/*"},
	} {
		var e struct{ Error, Field string }
		if st := adminDo(t, srv, tt.method, tt.path, tt.body, &e); st != 400 || e.Field != tt.field {
			t.Errorf("%s %s %s = %d %+v, want 400 naming %s", tt.method, tt.path, tt.body, st, e, tt.field)
		}
	}
	if f := srv.Sandbox.Faults(); len(f.Endpoints) != 0 || f.Notifications.ProbeRate != 0 {
		t.Errorf("a refused PUT changed the faults: %+v", f)
	}
}

// DNS rebinding: a page whose name now points at 127.0.0.1 is same-origin
// to the browser, but its Host gives it away. A request on loopback must
// name localhost or an IP address.
func TestAdminRefusesRequestsOnLoopbackUnderAForeignName(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	for _, tt := range []struct {
		host   string
		status int
	}{
		{"evil.example" + port, 403},
		{"evil.example", 403},
		{"localhost" + port, 200},
		{"sandbox.localhost" + port, 200},
		{"127.0.0.1" + port, 200},
		{"[::1]" + port, 200},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/sandbox/faults", nil)
		req.Host = tt.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("Host %s: %d, want %d", tt.host, resp.StatusCode, tt.status)
		}
	}
}

// A payment can be backdated with time_end so its points are old enough to
// expire: the notification carries that time, the id its date, and the
// sandbox keeps it for refunds and syncs even past the retention window.
func TestPaymentTimeEnd(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	srv := newServer(t, sandbox.WithNotifyURL(rc.URL))
	if st := adminDo(t, srv, http.MethodPost, "/sandbox/authorizations", `{"appid":"`+appID+`","openid":"`+openID+`"}`, nil); st != 201 {
		t.Fatalf("authorisation = %d", st)
	}
	var paid sandbox.Payment
	if st := adminDo(t, srv, http.MethodPost, "/sandbox/transactions",
		`{"appid":"`+appID+`","openid":"`+openID+`","amount":8800,"time_end":"2023-12-31T23:30:00+08:00"}`, &paid); st != 201 {
		t.Fatalf("backdated transaction = %d", st)
	}
	if !regexp.MustCompile(`^4200[0-9]{6}20231231[0-9]{10}$`).MatchString(paid.TransactionID) {
		t.Errorf("transaction id %q, want the backdated day in it", paid.TransactionID)
	}
	waitFinal(t, srv.Sandbox, paid.NotificationID)
	n := parseEvent(t, srv, rc.requests(), "MALL_TRANSACTION.SUCCESS")
	if !strings.Contains(string(n.Plaintext), `"time_end":"2023-12-31T23:30:00+08:00"`) {
		t.Errorf("plaintext %s, want the backdated time_end", n.Plaintext)
	}
	if st := adminDo(t, srv, http.MethodGet, "/sandbox/points/"+paid.TransactionID, "", nil); st != 200 {
		t.Errorf("a backdated payment older than the retention = %d, want it kept (200)", st)
	}

	tests := []struct{ name, timeEnd string }{
		{"in the future", fixedNow.Add(time.Minute).Format(time.RFC3339)},
		{"not RFC 3339", "2024-05-19 12:00:00"},
		{"a date only", "2024-05-19"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e struct{ Error, Field string }
			if st := adminDo(t, srv, http.MethodPost, "/sandbox/transactions",
				`{"appid":"`+appID+`","openid":"`+openID+`","amount":1,"time_end":"`+tt.timeEnd+`"}`, &e); st != 400 || e.Field != "time_end" {
				t.Errorf("time_end %q = %d %+v, want 400 naming time_end", tt.timeEnd, st, e)
			}
		})
	}
}

package server_test

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
)

// notifyAnswer is the service's answer to a notification.
type notifyAnswer struct {
	status int
	body   string
}

// notify sends the service a notification of eventType whose decrypted
// resource is resource (a JSON object, as raw text so that any value, even
// one the sandbox would refuse to send, can be tried), encrypted with the
// APIv3 key and signed with WeChat Pay's key as WeChat Pay does.
func (e *env) notify(id, eventType, resource string) notifyAnswer {
	e.t.Helper()
	block, err := aes.NewCipher([]byte(e.keys.APIv3Key))
	if err != nil {
		e.t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		e.t.Fatal(err)
	}
	nonce := randomText(12)
	const aad = "mall_transaction"
	envelope, err := json.Marshal(map[string]any{
		"id": id, "create_time": time.Now().Format(time.RFC3339), "event_type": eventType,
		"resource_type": "encrypt-resource", "summary": "test",
		"resource": map[string]string{
			"algorithm": "AEAD_AES_256_GCM", "original_type": "mall_transaction", "associated_data": aad, "nonce": nonce,
			"ciphertext": base64.StdEncoding.EncodeToString(gcm.Seal(nil, []byte(nonce), []byte(resource), []byte(aad))),
		},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sigNonce := randomText(32)
	sum := sha256.Sum256([]byte(ts + "\n" + sigNonce + "\n" + string(envelope) + "\n"))
	sig, err := e.keys.WechatPayKey.Sign(nil, sum[:], crypto.SHA256)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, e.public.URL+"/wechatpay/notify", bytes.NewReader(envelope))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Wechatpay-Timestamp", ts)
	req.Header.Set("Wechatpay-Nonce", sigNonce)
	req.Header.Set("Wechatpay-Serial", e.keys.PublicKeyID)
	req.Header.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	req.Header.Set("Wechatpay-Signature-Type", wxpay.SignatureScheme)
	resp, err := e.public.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return notifyAnswer{resp.StatusCode, string(body)}
}

// randomText is n random lower-case hex characters.
func randomText(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// paymentResource is a MALL_TRANSACTION.SUCCESS resource with every member
// the service stores, as JSON; fields replaces members by raw JSON values.
func (e *env) paymentResource(openid, txid string, fields map[string]string) string {
	v := map[string]string{
		"mchid": strconv.Quote(e.mchID), "merchant_name": `"Mall"`, "shop_name": `"Shop"`, "shop_number": `"S01"`,
		"appid": strconv.Quote(appID), "openid": strconv.Quote(openid), "time_end": strconv.Quote(time.Now().Format(time.RFC3339)),
		"amount": "1000", "transaction_id": strconv.Quote(txid),
	}
	for k, raw := range fields {
		v[k] = raw
	}
	var b strings.Builder
	b.WriteString("{")
	first := true
	for k, raw := range v {
		if !first {
			b.WriteString(",")
		}
		first = false
		b.WriteString(strconv.Quote(k) + ":" + raw)
	}
	b.WriteString("}")
	return b.String()
}

func TestAnOverflowingAdjustmentIsRefusedAndALaterPaymentKeepsTheBalance(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		mall := e.mchID
		alice := e.member(mall)
		var body struct {
			Code  string `json:"code"`
			Field string `json:"field"`
		}
		st := e.do(http.MethodPost, "/api/members/"+mall+"/"+alice+"/adjustments",
			`{"points": 9223372036854775707, "reason": "overflow"}`, http.Header{"Idempotency-Key": {"k-overflow"}}, &body)
		if st != http.StatusBadRequest || body.Field != "points" {
			t.Errorf("adjustment of 9223372036854775707: %d %+v, want 400 naming points", st, body)
		}
		tx := e.pay(mall, alice, 1000, "")
		if tr := e.synced(mall, tx); tr.Transaction.TotalPoints != 10 {
			t.Errorf("total_points after the payment: %d, want 10", tr.Transaction.TotalPoints)
		}
		if s := e.sandboxSync(tx); s.Body.TotalPoints == nil || *s.Body.TotalPoints != 10 {
			t.Errorf("synced total_points %v, want 10", s.Body.TotalPoints)
		}
	})
}

func TestAnAdjustmentTakingTheBalanceAboveTheMaximumIsRefusedWith409(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		mall := e.mchID
		alice := e.member(mall)
		adjust := func(points int64, key string) (int, string) {
			var body struct {
				Code string `json:"code"`
			}
			st := e.do(http.MethodPost, "/api/members/"+mall+"/"+alice+"/adjustments",
				`{"points": `+fmtInt(points)+`, "reason": "bound"}`, http.Header{"Idempotency-Key": {key}}, &body)
			return st, body.Code
		}
		if st, code := adjust(1_000_000_000_000, "k1"); st != http.StatusCreated {
			t.Fatalf("adjustment of exactly the maximum: %d %s, want 201", st, code)
		}
		if st, code := adjust(1, "k2"); st != http.StatusConflict || code != "BALANCE_LIMIT" {
			t.Errorf("one point above the maximum: %d %s, want 409 BALANCE_LIMIT", st, code)
		}
		if st, code := adjust(1_000_000_000_001, "k3"); st != http.StatusBadRequest {
			t.Errorf("an adjustment above the maximum: %d %s, want 400", st, code)
		}
		// A payment at the maximum earns nothing more, and is not refused.
		tx := e.pay(mall, alice, 1000, "")
		tr := e.synced(mall, tx)
		if tr.Transaction.TotalPoints != 1_000_000_000_000 || tr.Transaction.Points != 0 {
			t.Errorf("payment at the maximum: points %d, total %d; want 0 and the maximum", tr.Transaction.Points,
				tr.Transaction.TotalPoints)
		}
		if m := e.memberView(mall, alice); m.Member.Balance != 1_000_000_000_000 {
			t.Errorf("balance %d, want the maximum", m.Member.Balance)
		}
	})
}

func TestAnAmountAboveTheMaximumIsRefusedAtIntakeAndTheDashboardStillAnswers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		mall := e.mchID
		alice := e.member(mall)
		for _, amount := range []string{"9223372036854775000", "10000000001", "-1"} {
			a := e.notify("n-amount-"+amount, businesscircle.EventTypeTransactionSuccess,
				e.paymentResource(alice, "4200000000000000000000"+randomText(6), map[string]string{"amount": amount}))
			if a.status < 400 || a.status >= 500 || !strings.Contains(a.body, "amount") {
				t.Errorf("amount %s: %d %s, want a 4xx naming amount", amount, a.status, a.body)
			}
		}
		var list struct {
			Transactions []any `json:"transactions"`
		}
		if st := e.get("/api/transactions?mall="+mall, &list); st != http.StatusOK || len(list.Transactions) != 0 {
			t.Errorf("transactions: %d, %d stored; want 200 and none", st, len(list.Transactions))
		}
		if _, st := e.page(http.MethodGet, "/", nil); st != http.StatusOK {
			t.Errorf("dashboard: %d, want 200", st)
		}
	})
}

// The day totals sum the amounts of the day's payments: with amounts bounded
// at intake the sums cannot overflow.
func TestTheDayTotalsWithTheLargestAmountsAnswer200(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		mall := e.mchID
		alice := e.member(mall)
		for i := range 3 {
			a := e.notify("n-largest-"+fmtInt(int64(i)), businesscircle.EventTypeTransactionSuccess,
				e.paymentResource(alice, "42000000000000000000000000"+fmtInt(int64(10+i)), map[string]string{"amount": "10000000000"}))
			if a.status != http.StatusNoContent {
				t.Fatalf("payment %d of the largest amount: %d %s", i, a.status, a.body)
			}
		}
		page, st := e.page(http.MethodGet, "/", nil)
		if st != http.StatusOK {
			t.Fatalf("dashboard: %d", st)
		}
		if !strings.Contains(page, "300,000,000") && !strings.Contains(page, "300000000") {
			t.Errorf("the day's total of 3 × 100,000,000 yuan is not on the dashboard")
		}
	})
}

// hostile is a notification the intake must refuse, naming the field and
// the rule it breaks.
type hostile struct {
	name      string
	id        string // the notification id; empty: one of its own
	eventType string
	fields    map[string]string // raw JSON values replacing a valid event's
	field     string
	rule      string
}

// hostileSet is the same for every engine: what SQLite would store and
// PostgreSQL refuse for ever (a NUL, an index row too large) is refused
// alike, before it reaches either.
func hostileSet() []hostile {
	const pay, refund, auth = businesscircle.EventTypeTransactionSuccess, businesscircle.EventTypeRefundSuccess,
		businesscircle.EventTypeAuthActivateCard
	return []hostile{
		{"NUL in openid", "", pay, map[string]string{"openid": `"o\u0000x"`}, "openid", "control_character"},
		{"a 2.8 KB transaction_id", "", pay, map[string]string{"transaction_id": `"` + strings.Repeat("4", 2800) + `"`}, "transaction_id", "too_long"},
		{"a 129-byte openid", "", pay, map[string]string{"openid": `"` + strings.Repeat("o", 129) + `"`}, "openid", "too_long"},
		{"bytes that are not UTF-8 in shop_name", "", pay, map[string]string{"shop_name": "\"Sh\xff\xfeop\""}, "shop_name", "invalid_utf8"},
		{"a bell in shop_number", "", pay, map[string]string{"shop_number": `"S\u0007"`}, "shop_number", "control_character"},
		{"a C1 control in commit_tag", "", pay, map[string]string{"commit_tag": `"tag\u009bx"`}, "commit_tag", "control_character"},
		{"a newline in appid", "", pay, map[string]string{"appid": `"wx\n1"`}, "appid", "control_character"},
		{"a 257-byte shop_name", "", pay, map[string]string{"shop_name": `"` + strings.Repeat("店", 86) + `"`}, "shop_name", "too_long"},
		{"no openid", "", pay, map[string]string{"openid": `""`}, "openid", "missing"},
		{"a 65-byte mchid", "", pay, map[string]string{"mchid": `"` + strings.Repeat("1", 65) + `"`}, "mchid", "too_long"},
		{"a time_end that is not RFC 3339", "", pay, map[string]string{"time_end": `"2026-01-06 14:06:00"`}, "time_end", "format"},
		{"a negative amount", "", pay, map[string]string{"amount": "-1"}, "amount", "out_of_range"},
		{"an amount near 2^63", "", pay, map[string]string{"amount": "9223372036854775807"}, "amount", "out_of_range"},
		{"a 65-byte notification id", strings.Repeat("e", 65), pay, nil, "id", "too_long"},
		{"a tab in the notification id", "EV-1\t2", pay, nil, "id", "control_character"},
		{"a 2.8 KB refund_id", "", refund, map[string]string{"refund_id": `"` + strings.Repeat("5", 2800) + `"`}, "refund_id", "too_long"},
		{"a refund of nothing", "", refund, map[string]string{"refund_amount": "0"}, "refund_amount", "out_of_range"},
		{"a refund near 2^63", "", refund, map[string]string{"refund_amount": "9223372036854775000"}, "refund_amount", "out_of_range"},
		{"a 129-byte openid activating", "", auth, map[string]string{"openid": `"` + strings.Repeat("o", 129) + `"`}, "openid", "too_long"},
		{"NUL in the card code", "", auth, map[string]string{"code": `"12\u00003"`}, "code", "control_character"},
		{"no auth_type", "", auth, map[string]string{"auth_type": `""`}, "auth_type", "missing"},
	}
}

// resource is a valid event of eventType for openid, with fields replaced.
func (e *env) resource(eventType, openid string, fields map[string]string) string {
	switch eventType {
	case businesscircle.EventTypeRefundSuccess:
		base := map[string]string{"transaction_id": `"4200000000000000000000000001"`, "refund_id": `"5000000000000000000000000001"`,
			"refund_amount": "100", "pay_amount": "1000", "refund_time": strconv.Quote(time.Now().Format(time.RFC3339))}
		for k, v := range fields {
			base[k] = v
		}
		return e.paymentResource(openid, "4200000000000000000000000001", base)
	case businesscircle.EventTypeAuthActivateCard:
		v := map[string]string{"mchid": strconv.Quote(e.mchID), "openid": strconv.Quote(openid), "code": `"478515832665"`,
			"auth_type": `"REGISTERED_AND_AUTHORIZATION_MODE"`}
		for k, raw := range fields {
			v[k] = raw
		}
		parts := []string{}
		for k, raw := range v {
			parts = append(parts, strconv.Quote(k)+":"+raw)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return e.paymentResource(openid, "42000000000000000000"+randomText(8), fields)
}

func TestHostileNotificationsAreRefusedWith422NamingTheFieldAndTheRuleOnBothEngines(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		alice := e.member(e.mchID)
		set := hostileSet()
		for i, h := range set {
			id := h.id
			if id == "" {
				id = "n-hostile-" + fmtInt(int64(i))
			}
			a := e.notify(id, h.eventType, e.resource(h.eventType, alice, h.fields))
			var answer struct{ Code, Message string }
			json.Unmarshal([]byte(a.body), &answer)
			want := "field " + h.field + ": " + h.rule
			if a.status != http.StatusUnprocessableEntity || answer.Code != "FAIL" || !strings.HasPrefix(answer.Message, want) {
				t.Errorf("%s: %d %s, want 422 FAIL %q", h.name, a.status, a.body, want)
			}
			// A second delivery is refused alike and counted on the same record.
			if i == 0 {
				if again := e.notify(id, h.eventType, e.resource(h.eventType, alice, h.fields)); again != a {
					t.Errorf("%s again: %d %s, want the same answer", h.name, again.status, again.body)
				}
			}
		}
		var list struct {
			Refusals []struct {
				NotificationID string `json:"notification_id"`
				EventType      string `json:"event_type"`
				Field          string `json:"field"`
				Rule           string `json:"rule"`
				Deliveries     int    `json:"deliveries"`
			} `json:"refusals"`
		}
		if st := e.get("/api/refusals?limit=100", &list); st != http.StatusOK || len(list.Refusals) != len(set) {
			t.Fatalf("GET /api/refusals: %d, %d refusals; want 200 and %d", st, len(list.Refusals), len(set))
		}
		byID := map[string]int{}
		for _, r := range list.Refusals {
			if r.Field == "" || r.Rule == "" || r.EventType == "" || strings.Contains(r.NotificationID, "\t") ||
				len(r.NotificationID) > 64 {
				t.Errorf("refusal %+v", r)
			}
			byID[r.NotificationID] = r.Deliveries
		}
		if byID["n-hostile-0"] != 2 {
			t.Errorf("the refusal delivered twice counts %d deliveries, want 2", byID["n-hostile-0"])
		}
		raw, _ := e.page(http.MethodGet, "/api/refusals?limit=100", nil)
		if strings.Contains(raw, strings.Repeat("4", 100)) || strings.Contains(raw, strings.Repeat("o", 100)) {
			t.Error("the refusals list holds a refused value")
		}
		refused := e.scrape()["mallpoints_notifications_refused_total"]
		var counted float64
		for _, m := range refused.GetMetric() {
			counted += m.GetCounter().GetValue()
		}
		if int(counted) != len(set)+1 {
			t.Errorf("mallpoints_notifications_refused_total sums to %v, want %d", counted, len(set)+1)
		}
		// Nothing was stored, and the service goes on.
		var txs struct {
			Transactions []any `json:"transactions"`
		}
		if st := e.get("/api/transactions", &txs); st != http.StatusOK || len(txs.Transactions) != 0 {
			t.Errorf("transactions: %d, %d stored; want 200 and none", st, len(txs.Transactions))
		}
		if _, st := e.page(http.MethodGet, "/", nil); st != http.StatusOK {
			t.Errorf("dashboard: %d", st)
		}
		e.synced(e.mchID, e.pay(e.mchID, alice, 1000, ""))
	})
}

func TestAnUnknownAuthTypeIsStoredAsGivenAndRanksBelowTheKnownOnes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		activate := func(id, openid, authType string) {
			t.Helper()
			a := e.notify(id, businesscircle.EventTypeAuthActivateCard, e.resource(businesscircle.EventTypeAuthActivateCard,
				openid, map[string]string{"auth_type": strconv.Quote(authType)}))
			if a.status != http.StatusNoContent {
				t.Fatalf("MALL_AUTH.ACTIVATE_CARD with auth_type %q: %d %s, want 204", authType, a.status, a.body)
			}
		}
		activate("n-auth-1", "oNew", "FUTURE_MODE")
		if m := e.memberView(e.mchID, "oNew"); m.Member.AuthType != "FUTURE_MODE" {
			t.Errorf("auth_type %q, want FUTURE_MODE as given", m.Member.AuthType)
		}
		activate("n-auth-2", "oNew", "REGISTERED_MODE")
		if m := e.memberView(e.mchID, "oNew"); m.Member.AuthType != "REGISTERED_MODE" {
			t.Errorf("after REGISTERED_MODE: auth_type %q, want the upgrade", m.Member.AuthType)
		}
		activate("n-auth-3", "oNew", "ANOTHER_MODE")
		if m := e.memberView(e.mchID, "oNew"); m.Member.AuthType != "REGISTERED_MODE" {
			t.Errorf("after an unknown value: auth_type %q, want REGISTERED_MODE kept", m.Member.AuthType)
		}
	})
}

package sandbox_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/notify"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// receiver is a notification URL that records every request and answers
// with the statuses given, then 200.
type receiver struct {
	URL string

	mu       sync.Mutex
	statuses []int
	got      []delivered
}

type delivered struct {
	header http.Header
	body   []byte
}

func newReceiver(t testing.TB, statuses ...int) *receiver {
	rc := &receiver{statuses: statuses}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, delivered{r.Header.Clone(), b})
		status := http.StatusOK
		if len(rc.statuses) > 0 {
			status, rc.statuses = rc.statuses[0], rc.statuses[1:]
		}
		rc.mu.Unlock()
		if status != http.StatusOK {
			w.WriteHeader(status)
			w.Write([]byte(`{"code":"FAIL","message":"失败"}`))
		}
	}))
	t.Cleanup(ts.Close)
	rc.URL = ts.URL
	return rc
}

func (rc *receiver) requests() []delivered {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivered(nil), rc.got...)
}

// parseEvent verifies and decrypts the notifications received and returns
// the one of eventType; they may arrive in any order.
func parseEvent(t testing.TB, srv *sandbox.Server, got []delivered, eventType string) *notify.Notification {
	t.Helper()
	for _, g := range got {
		n, err := srv.Parser.Parse(g.header, g.body)
		if err != nil {
			t.Fatal(err)
		}
		if n.EventType == eventType {
			return n
		}
	}
	t.Fatalf("no %s among %d notifications", eventType, len(got))
	return nil
}

// waitFinal waits for a notification's delivery to end.
func waitFinal(t testing.TB, s *sandbox.Sandbox, id string) sandbox.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := s.WaitDelivery(ctx, id, nil)
	if err != nil {
		t.Fatalf("delivery of %s: %v (%+v)", id, err, d)
	}
	return d
}

// A notification answered 500 is delivered again, re-signed, until it gets
// 200; each attempt verifies and decrypts with the merchant's keys (docs/protocol.md §5).
func TestNotificationRetriedUntilReceived(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, http.StatusInternalServerError)
	srv := newServer(t, sandbox.WithNotifyURL(rc.URL), sandbox.WithRetrySchedule(5*time.Millisecond, 5*time.Millisecond))
	mb, created, err := srv.Sandbox.Authorize(sandbox.MemberRequest{AppID: appID, OpenID: openID})
	if err != nil || !created || mb.NotificationID == "" {
		t.Fatalf("Authorize = %+v, %v, %v", mb, created, err)
	}
	d := waitFinal(t, srv.Sandbox, mb.NotificationID)
	if d.State != "delivered" || len(d.Attempts) != 2 || d.Attempts[0].Status != 500 || d.Attempts[1].Status != 200 ||
		d.EventType != "MALL_AUTH.ACTIVATE_CARD" || d.URL != rc.URL {
		t.Fatalf("delivery = %+v, want 500 then 200", d)
	}

	got := rc.requests()
	if len(got) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(got))
	}
	if string(got[0].body) != string(got[1].body) {
		t.Error("the body changed between attempts")
	}
	for _, h := range []string{"Wechatpay-Nonce", "Wechatpay-Signature", "Request-Id"} {
		if got[0].header.Get(h) == got[1].header.Get(h) {
			t.Errorf("%s is the same on both attempts; each must be signed afresh", h)
		}
	}
	for i, g := range got {
		n, err := srv.Parser.Parse(g.header, g.body)
		if err != nil {
			t.Fatalf("attempt %d does not verify and decrypt: %v", i+1, err)
		}
		if n.ID != mb.NotificationID || n.Serial != srv.Keys.PublicKeyID {
			t.Errorf("attempt %d: id %s serial %s", i+1, n.ID, n.Serial)
		}
		var ev businesscircle.AuthorizationEvent
		if err := n.DecodeResource(&ev); err != nil {
			t.Fatal(err)
		}
		if ev != (businesscircle.AuthorizationEvent{OpenID: openID, Code: mb.Code, MchID: srv.Keys.MchID,
			AuthType: businesscircle.AuthTypeRegisteredAndAuthorizationMode}) {
			t.Errorf("resource = %+v", ev)
		}
	}
	if ct := got[0].header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

// The envelope is exactly docs/protocol.md §5.1: field order, types and formats.
func TestNotificationEnvelope(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	srv := newServer(t, sandbox.WithNotifyURL(rc.URL))
	txID := pay(t, srv.Sandbox, "", true)
	for _, d := range srv.Sandbox.Deliveries() {
		waitFinal(t, srv.Sandbox, d.ID)
	}
	got := rc.requests()
	if len(got) != 2 {
		t.Fatalf("got %d notifications, want the authorisation and the payment", len(got))
	}
	envelope := regexp.MustCompile(`^\{"id":"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",` +
		`"create_time":"2025-05-19T12:00:00\+08:00","resource_type":"encrypt-resource","event_type":"(MALL_AUTH\.ACTIVATE_CARD|MALL_TRANSACTION\.SUCCESS)",` +
		`"summary":"[^"]+","resource":\{"original_type":"(mall_auth|mall_transaction)","algorithm":"AEAD_AES_256_GCM",` +
		`"ciphertext":"[A-Za-z0-9+/]+=*","associated_data":"(mall_auth|mall_transaction)","nonce":"[0-9A-Za-z]{12}"\}\}$`)
	for _, g := range got {
		if !envelope.Match(g.body) {
			t.Errorf("envelope %s does not have the documented shape", g.body)
		}
		for _, h := range []string{"Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial", "Wechatpay-Signature-Type", "Request-Id"} {
			if g.header.Get(h) == "" {
				t.Errorf("notification without %s", h)
			}
		}
	}
	n := parseEvent(t, srv, got, "MALL_TRANSACTION.SUCCESS")
	want := `{"mchid":"1900000109","merchant_name":"微信支付沙盒商圈","shop_name":"沙盒门店","shop_number":"SANDBOX-001","appid":"` + appID +
		`","openid":"` + openID + `","time_end":"2025-05-19T12:00:00+08:00","amount":8800,"transaction_id":"` + txID + `"}`
	if string(n.Plaintext) != want {
		t.Errorf("plaintext\n got %s\nwant %s", n.Plaintext, want)
	}
}

// The whole flow through the notify package: payment, points sync, refund.
// MALL_REFUND.SUCCESS carries the refund of the synced transaction.
func TestNotificationFlow(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	events := map[string][]byte{}
	srv := newServer(t, sandbox.WithNotifyFunc(func(_ context.Context, n *notify.Notification) error {
		mu.Lock()
		defer mu.Unlock()
		events[n.EventType] = n.Plaintext
		return nil
	}))
	ctx := context.Background()
	txID := pay(t, srv.Sandbox, "", true)
	if _, err := businesscircle.New(srv.Client).Businesscircle.Points.Notify.Post(ctx, businesscircle.PointsNotifyRequest{
		TransactionID: txID, AppID: appID, OpenID: openID, EarnPoints: true, IncreasedPoints: 88,
		PointsUpdateTime: "2025-05-19T12:00:00+08:00",
	}); err != nil {
		t.Fatal(err)
	}
	rf, err := srv.Sandbox.Refund(sandbox.RefundRequest{TransactionID: txID, RefundAmount: 800})
	if err != nil || rf.NotificationID == "" {
		t.Fatalf("Refund = %+v, %v", rf, err)
	}
	for _, d := range srv.Sandbox.Deliveries() {
		if d := waitFinal(t, srv.Sandbox, d.ID); d.State != "delivered" {
			t.Fatalf("notification %+v", d)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var ev businesscircle.RefundEvent
	if err := json.Unmarshal(events["MALL_REFUND.SUCCESS"], &ev); err != nil {
		t.Fatal(err)
	}
	want := businesscircle.RefundEvent{MchID: "1900000109", MerchantName: "微信支付沙盒商圈", ShopName: "沙盒门店", ShopNumber: "SANDBOX-001",
		AppID: appID, OpenID: openID, RefundTime: "2025-05-19T12:00:00+08:00", PayAmount: 8800, RefundAmount: 800,
		TransactionID: txID, RefundID: rf.RefundID}
	if ev != want {
		t.Errorf("refund event\n got %+v\nwant %+v", ev, want)
	}
	if len(events) != 3 {
		t.Errorf("events %d, want authorisation, payment and refund", len(events))
	}
}

// A receiver that never succeeds gets every attempt of the schedule, and one
// that answers too late counts as a failure.
func TestNotificationFailsAfterSchedule(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, 500, 503, 404)
	srv := newServer(t, sandbox.WithNotifyURL(rc.URL), sandbox.WithRetrySchedule(time.Millisecond, time.Millisecond))
	mb, _, _ := srv.Sandbox.Authorize(sandbox.MemberRequest{AppID: appID, OpenID: openID})
	d := waitFinal(t, srv.Sandbox, mb.NotificationID)
	if d.State != "failed" || len(d.Attempts) != 3 || d.Attempts[2].Status != 404 {
		t.Errorf("delivery = %+v, want three failed attempts", d)
	}

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(time.Second):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	srv2 := newServer(t, sandbox.WithNotifyURL(slow.URL), sandbox.WithRetrySchedule(), sandbox.WithConfig(func(c *sandbox.Config) {
		c.NotifyTimeout = 30 * time.Millisecond
	}))
	mb2, _, _ := srv2.Sandbox.Authorize(sandbox.MemberRequest{AppID: appID, OpenID: openID})
	d2 := waitFinal(t, srv2.Sandbox, mb2.NotificationID)
	if d2.State != "failed" || len(d2.Attempts) != 1 || !strings.Contains(d2.Attempts[0].Error, "timeout") {
		t.Errorf("slow receiver: %+v", d2)
	}
}

// In partner mode notifications go to the provider, encrypted with its
// APIv3 key, and name the mall; a migration's share decides the key.
func TestNotificationPartnerAndKeys(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	srv := newServer(t, sandbox.WithNotifyURL(rc.URL), sandbox.WithSubMerchants(subMch), sandbox.WithKeyMode(sandbox.MigrationMode),
		sandbox.WithConfig(func(c *sandbox.Config) {
			c.NotifyPublicKeyShare = 0
			c.Merchants[0].SubMerchants[0].Name = "万象天地"
		}))
	p, err := srv.Sandbox.Pay(sandbox.PaymentRequest{SubMchID: subMch, AppID: appID, OpenID: openID, Amount: 1})
	if err != nil || p.NotificationID != "" {
		t.Fatalf("payment of a non-member = %+v, %v; want no notification", p, err)
	}
	txID := pay(t, srv.Sandbox, subMch, true)
	for _, d := range srv.Sandbox.Deliveries() {
		waitFinal(t, srv.Sandbox, d.ID)
	}
	got := rc.requests()
	if len(got) != 2 {
		t.Fatalf("got %d notifications, want 2", len(got))
	}
	n := parseEvent(t, srv, got, "MALL_TRANSACTION.SUCCESS")
	if n.Serial != srv.Keys.PlatformSerial {
		t.Errorf("signed by %s, want the platform certificate (share 0)", n.Serial)
	}
	var ev businesscircle.TransactionEvent
	n.DecodeResource(&ev)
	if ev.MchID != subMch || ev.MerchantName != "万象天地" || ev.TransactionID != txID {
		t.Errorf("event = %+v, want the mall as mchid", ev)
	}
}

// Without a notification URL notifications are made but not sent.
func TestNotificationWithoutURL(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	mb, _, err := srv.Sandbox.Authorize(sandbox.MemberRequest{AppID: appID, OpenID: openID})
	if err != nil || mb.NotificationID == "" {
		t.Fatalf("Authorize = %+v, %v", mb, err)
	}
	if d := srv.Sandbox.Deliveries(); len(d) != 0 {
		t.Errorf("deliveries = %+v, want none", d)
	}
}

package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/merchants"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/notify"
	"github.com/seed2ac2593f/wxpay/sandbox"
	"github.com/seed2ac2593f/wxpay/webhook"
)

// receiver is a CRM's webhook endpoint: it verifies each delivery and keeps
// the events it answered 2xx, in arrival order; the members in down are
// answered 503.
type receiver struct {
	t      *testing.T
	secret []byte
	mu     sync.Mutex
	got    []storage.Event
	tries  map[string]int // by member
	down   map[string]bool
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := webhook.Verify(r.Header, body, rc.secret); err != nil {
		rc.t.Errorf("delivery does not verify: %v", err)
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	var ev storage.Event
	if err := json.Unmarshal(body, &ev); err != nil || r.Header.Get(webhook.HeaderID) != ev.ID || ev.ID != storage.EventID(ev.Seq) {
		rc.t.Errorf("delivery %s: id header %q, %v", body, r.Header.Get(webhook.HeaderID), err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.tries[ev.OpenID]++
	if rc.down[ev.OpenID] {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	rc.got = append(rc.got, ev)
}

func (rc *receiver) setDown(openid string, down bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.down[openid] = down
}

// of lists the seqs a member's events arrived in.
func (rc *receiver) of(openid string) []int64 {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var seqs []int64
	for _, ev := range rc.got {
		if ev.OpenID == openid {
			seqs = append(seqs, ev.Seq)
		}
	}
	return seqs
}

type webhookRig struct {
	db     *storage.DB
	ledger *ledger.Service
	out    *Outbox
	rc     *receiver
	mall   string
}

// newWebhookRig starts an outbox with a webhook to a receiver, in the
// rules file loaded from disk (so its secret is read), and maxAttempts.
func newWebhookRig(t *testing.T, dsn string, maxAttempts int) *webhookRig {
	db := openMigrated(t, dsn)
	srv := sandbox.NewServer(sandbox.WithClientOptions(wxpay.WithoutRetries()))
	t.Cleanup(srv.Close)
	rc := &receiver{t: t, secret: []byte("0123456789abcdef0123456789abcdef"), tries: map[string]int{}, down: map[string]bool{}}
	hs := httptest.NewServer(rc)
	t.Cleanup(hs.Close)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	rulesFile := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(secretFile, rc.secret, 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf("default:\n  webhooks:\n    - {name: crm, url: %q, secret_file: %q}\n", hs.URL+"/events", secretFile)
	if err := os.WriteFile(rulesFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := rules.Load(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	current := rules.NewCurrent(set)
	o := startOutbox(t, Config{DB: db, Signers: signers{merchants.Single(srv.Keys.MchID, srv.Client, nil)}, Rules: current,
		RetryBase: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, MaxAttempts: maxAttempts})
	return &webhookRig{db: db, ledger: ledger.New(db, o, current, nil), out: o, rc: rc, mall: srv.Keys.MchID}
}

// adjust activates the member (member.activated) and adjusts its points n
// times, and returns the seqs of its events.
func (r *webhookRig) adjust(t *testing.T, openid string, n int) []int64 {
	t.Helper()
	ctx := context.Background()
	_, err := r.ledger.Authorization(ctx, &notify.Notification{ID: "auth-" + openid, EventType: businesscircle.EventTypeAuthActivateCard},
		&businesscircle.AuthorizationEvent{MchID: r.mall, OpenID: openid, AuthType: businesscircle.AuthTypeRegisteredMode})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		_, _, err := r.ledger.Adjust(context.Background(), ledger.Adjustment{Mall: r.mall, OpenID: openid, Points: int64(10 + i),
			Reason: "test", IdempotencyKey: fmt.Sprintf("%s-%d-%d", openid, i, time.Now().UnixNano())})
		if err != nil {
			t.Fatal(err)
		}
	}
	events, err := r.db.EventsAfter(ctx, r.mall, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, ev := range events {
		if ev.OpenID == openid {
			seqs = append(seqs, ev.Seq)
		}
	}
	if len(seqs) != n+1 {
		t.Fatalf("%d events of %s, want %d", len(seqs), openid, n+1)
	}
	return seqs
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Every entry's event reaches the receiver, verified, in order per member;
// while the receiver fails one member, that member's later events wait and
// the others' do not; once it answers, they follow in order.
func TestWebhookEventsArriveInOrderPerMemberAndAnOutageHoldsOnlyItsMember(t *testing.T) {
	t.Parallel()
	for name, dsn := range expiryEngines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newWebhookRig(t, dsn(t), 1000)
			r.rc.setDown("oDown", true)
			down := r.adjust(t, "oDown", 3)
			var others [][]int64
			for i := range 3 {
				others = append(others, r.adjust(t, fmt.Sprint("oUp", i), 4))
			}
			for i, want := range others {
				waitFor(t, "the other members' events", func() bool { return slices.Equal(r.rc.of(fmt.Sprint("oUp", i)), want) })
			}
			r.rc.mu.Lock()
			tries := r.rc.tries["oDown"]
			r.rc.mu.Unlock()
			if tries < 2 || len(r.rc.of("oDown")) != 0 {
				t.Fatalf("member down: %d tries, %v delivered; want retries and nothing", tries, r.rc.of("oDown"))
			}
			d, err := r.db.Delivery(context.Background(), "crm", down[1])
			if err != nil || d.Attempts != 0 || d.State != storage.DeliveryPending {
				t.Fatalf("the member's second event %+v, %v: want pending, never tried", d, err)
			}
			r.rc.setDown("oDown", false)
			waitFor(t, "the held member's events in order", func() bool { return slices.Equal(r.rc.of("oDown"), down) })
		})
	}
}

// After MaxAttempts a delivery is parked and holds its member's later
// events; a redelivery from before it sends them all, in order, with their
// ids; a redelivery after a seq re-sends only the events above it.
func TestAParkedWebhookDeliveryHoldsTheMemberUntilRedelivered(t *testing.T) {
	t.Parallel()
	for name, dsn := range expiryEngines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			r := newWebhookRig(t, dsn(t), 2)
			r.rc.setDown("oPark", true)
			seqs := r.adjust(t, "oPark", 3)
			waitFor(t, "the first delivery parked", func() bool {
				d, err := r.db.Delivery(ctx, "crm", seqs[0])
				return err == nil && d.State == storage.DeliveryParked
			})
			parked, err := r.db.Deliveries(ctx, nil, storage.DeliveryParked, 10)
			if err != nil || len(parked) != 1 || parked[0].Seq != seqs[0] {
				t.Fatalf("parked %+v, %v; want the first event's only", parked, err)
			}
			counts, err := r.db.DeliveryCounts(ctx)
			if err != nil || counts[storage.DeliveryParked] != 1 || counts[storage.DeliveryPending] != 3 {
				t.Fatalf("counts %v, %v; want 1 parked, 3 pending behind it", counts, err)
			}
			r.rc.setDown("oPark", false)
			time.Sleep(300 * time.Millisecond)
			if got := r.rc.of("oPark"); len(got) != 0 {
				t.Fatalf("delivered %v while the first event is parked", got)
			}
			n, err := r.out.Redeliver(ctx, "crm", "", seqs[0]-1)
			if err != nil || n != 1 {
				t.Fatalf("redeliver: %d, %v; want the parked one started again", n, err)
			}
			waitFor(t, "every event in order", func() bool { return slices.Equal(r.rc.of("oPark"), seqs) })
			if n, err = r.out.Redeliver(ctx, "crm", "", seqs[0]); err != nil || n != 3 {
				t.Fatalf("redeliver after %d: %d, %v; want 3", seqs[0], n, err)
			}
			want := append(slices.Clone(seqs), seqs[1:]...)
			waitFor(t, "the events above the seq again", func() bool { return slices.Equal(r.rc.of("oPark"), want) })
		})
	}
}

// An erasure rewrites the member's stored events to its pseudonym, and is
// itself an event: a redelivery carries the pseudonym under the same ids.
func TestErasureRewritesStoredWebhookEventsToThePseudonym(t *testing.T) {
	t.Parallel()
	for name, dsn := range expiryEngines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			r := newWebhookRig(t, dsn(t), 1000)
			seqs := r.adjust(t, "oErase", 2)
			waitFor(t, "the events", func() bool { return slices.Equal(r.rc.of("oErase"), seqs) })
			p, err := r.ledger.Erase(ctx, r.mall, "oErase")
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "member.erased", func() bool { return len(r.rc.of(p)) == 1 })
			for _, seq := range seqs {
				ev, err := r.db.Event(ctx, seq)
				if err != nil || ev.OpenID != p {
					t.Fatalf("event %d: %+v, %v; want the pseudonym", seq, ev, err)
				}
			}
			if _, err := r.out.Redeliver(ctx, "crm", r.mall, 0); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the events again, under the pseudonym", func() bool { return len(r.rc.of(p)) == 5 })
			r.rc.mu.Lock()
			defer r.rc.mu.Unlock()
			var types []string
			for _, ev := range r.rc.got {
				if ev.OpenID == p {
					types = append(types, ev.Type)
				}
			}
			if want := []string{storage.EventMemberErased, storage.EventMemberActivated, storage.EventEntryAdjust,
				storage.EventEntryAdjust, storage.EventMemberErased}; !slices.Equal(types, want) {
				t.Errorf("types %v, want %v", types, want)
			}
		})
	}
}

// A payment, its refund and an adjustment are each an event of their
// kind, whose data carries the payment's shop and amount, the refund's
// amount, and nothing about the member but its openid.
func TestEveryEntryIsAnEventWithItsPaymentsShopAndAmount(t *testing.T) {
	t.Parallel()
	for name, dsn := range expiryEngines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			r := newWebhookRig(t, dsn(t), 1000)
			const openid, txid = "oPay", "4200000000000000000000000901"
			r.adjust(t, openid, 1)
			if _, err := r.ledger.Transaction(ctx, &notify.Notification{ID: "pay", EventType: businesscircle.EventTypeTransactionSuccess},
				&businesscircle.TransactionEvent{MchID: r.mall, AppID: "wxd678efh567hg6787", OpenID: openid, ShopNumber: "S01",
					TransactionID: txid, Amount: 12300, TimeEnd: time.Now().Format(time.RFC3339)}); err != nil {
				t.Fatal(err)
			}
			if _, err := r.ledger.Refund(ctx, &notify.Notification{ID: "refund", EventType: businesscircle.EventTypeRefundSuccess},
				&businesscircle.RefundEvent{MchID: r.mall, AppID: "wxd678efh567hg6787", OpenID: openid, ShopNumber: "S01",
					TransactionID: txid, RefundID: "50300000000000000000000000901", PayAmount: 12300, RefundAmount: 2000,
					RefundTime: time.Now().Format(time.RFC3339)}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the four events", func() bool { return len(r.rc.of(openid)) == 4 })
			r.rc.mu.Lock()
			defer r.rc.mu.Unlock()
			var types []string
			allowed := []string{"kind", "points", "balance_after", "transaction_id", "refund_id", "shop_number", "amount", "reason",
				"auth_type", "member_id", "unionid"}
			for _, ev := range r.rc.got {
				types = append(types, ev.Type)
				var data map[string]any
				if err := json.Unmarshal(ev.Data, &data); err != nil {
					t.Fatal(err)
				}
				for k := range data {
					if !slices.Contains(allowed, k) {
						t.Errorf("event %s: data key %q is not one the docs list", ev.ID, k)
					}
				}
				switch ev.Type {
				case storage.EventEntryEarn:
					if data["shop_number"] != "S01" || data["amount"] != 12300.0 || data["transaction_id"] != txid || data["points"].(float64) <= 0 {
						t.Errorf("earn event data %s", ev.Data)
					}
				case storage.EventEntryDeduct:
					if data["amount"] != 2000.0 || data["refund_id"] == nil || data["points"].(float64) >= 0 {
						t.Errorf("deduct event data %s", ev.Data)
					}
				}
			}
			want := []string{storage.EventMemberActivated, storage.EventEntryAdjust, storage.EventEntryEarn, storage.EventEntryDeduct}
			if !slices.Equal(types, want) {
				t.Errorf("types %v, want %v", types, want)
			}
		})
	}
}

func TestTheRulesOfferEveryEventTypeAndEachEntryKindHasOne(t *testing.T) {
	t.Parallel()
	if !slices.Equal(rules.WebhookEvents, storage.EventTypes) {
		t.Errorf("rules offer %v, storage writes %v", rules.WebhookEvents, storage.EventTypes)
	}
	for kind, typ := range map[string]string{storage.EntryEarn: storage.EventEntryEarn, storage.EntryRefund: storage.EventEntryDeduct,
		storage.EntryAdjustment: storage.EventEntryAdjust, storage.EntryExpire: storage.EventEntryExpire} {
		if got := storage.EntryEventType(kind); got != typ {
			t.Errorf("entry kind %s: event %s, want %s", kind, got, typ)
		}
	}
}

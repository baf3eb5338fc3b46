package ledger

import (
	"context"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/notify"
)

// TestTheLedgerInvariantsHoldAfterEveryEventOnBothEngines applies runs of
// events and checks after each one that the balance is the sum of the
// member's entries and never below zero, that entries are numbered without
// gaps, and that a payment is recorded once with one earning entry.
func TestTheLedgerInvariantsHoldAfterEveryEventOnBothEngines(t *testing.T) {
	t.Parallel()
	type event struct {
		kind   string // pay, refund or adjust
		id     string // notification id, or Idempotency-Key
		key    string // transaction_id or refund_id
		amount int64  // fen, or points for adjust
	}
	const txid = "4200000000000000000000000001"
	for _, c := range []struct {
		name        string
		events      []event
		wantBalance int64
		wantEntries int
	}{
		{"a payment delivered again, and under a new notification id", []event{
			{"pay", "n-1", txid, 1000}, {"pay", "n-1", txid, 1000}, {"pay", "n-2", txid, 1000}}, 10, 1},
		{"a refund past what is left of the balance", []event{
			{"pay", "n-1", txid, 1000}, {"adjust", "k-1", "", -8}, {"refund", "n-r1", "r-1", 1000}}, 0, 3},
		{"a refund delivered again, and under a new notification id", []event{
			{"pay", "n-1", txid, 1000}, {"refund", "n-r1", "r-1", 300}, {"refund", "n-r1", "r-1", 300},
			{"refund", "n-r2", "r-1", 300}}, 7, 2},
		{"partial refunds on the running total, then beyond the payment", []event{
			{"pay", "n-1", txid, 1000}, {"refund", "n-r1", "r-1", 300}, {"refund", "n-r2", "r-2", 300},
			{"refund", "n-r3", "r-3", 900}}, 0, 4},
	} {
		for _, dsn := range testDatabases(t) {
			t.Run(dsn.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				db := openDB(t, dsn.dsn(t))
				s := New(db, noQueue{}, rules.NewCurrent(mustRules(t, "default:\n  min_amount_fen: 0\n")), nil)
				for i, e := range c.events {
					var err error
					switch e.kind {
					case "pay":
						_, err = s.Transaction(ctx, &notify.Notification{ID: e.id, EventType: businesscircle.EventTypeTransactionSuccess},
							&businesscircle.TransactionEvent{MchID: "1900000109", AppID: "wxapp", OpenID: "oA",
								TransactionID: e.key, Amount: e.amount, TimeEnd: time.Now().Format(time.RFC3339)})
					case "refund":
						_, err = s.Refund(ctx, &notify.Notification{ID: e.id, EventType: businesscircle.EventTypeRefundSuccess},
							&businesscircle.RefundEvent{MchID: "1900000109", TransactionID: txid, RefundID: e.key,
								RefundAmount: e.amount})
					case "adjust":
						_, _, err = s.Adjust(ctx, Adjustment{Mall: "1900000109", OpenID: "oA", Points: e.amount,
							Reason: "redeemed", IdempotencyKey: e.id})
					}
					if err != nil {
						t.Fatalf("event %d (%s %s): %v", i+1, e.kind, e.id, err)
					}
					checkInvariants(t, db, txid)
				}
				m, err := db.Member(ctx, "1900000109", "oA")
				if err != nil || m.Balance != c.wantBalance {
					t.Errorf("balance %d, %v; want %d", m.Balance, err, c.wantBalance)
				}
				if entries, err := db.EntriesAfter(ctx, nil, "1900000109", 0, 100); err != nil || len(entries) != c.wantEntries {
					t.Errorf("%d entries, %v; want %d", len(entries), err, c.wantEntries)
				}
			})
		}
	}
}

// checkInvariants fails t when the ledger of member oA breaks a rule.
func checkInvariants(t *testing.T, db *storage.DB, txid string) {
	t.Helper()
	ctx := context.Background()
	m, err := db.Member(ctx, "1900000109", "oA")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := db.BalanceCheck(ctx, "1900000109", "oA")
	if err != nil || sum != m.Balance || m.Balance < 0 {
		t.Errorf("balance %d, sum of entries %d (%v): the balance must be the sum, and never below zero", m.Balance, sum, err)
	}
	entries, err := db.EntriesAfter(ctx, nil, "1900000109", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	earned := 0
	for i, e := range entries {
		if i > 0 && e.Seq <= entries[i-1].Seq {
			t.Errorf("entry %d has seq %d after %d: the feed is not in seq order", i+1, e.Seq, entries[i-1].Seq)
		}
		if e.Kind == storage.EntryEarn && e.TransactionID == txid {
			earned++
		}
	}
	list, err := db.Transactions(ctx, storage.TransactionFilter{Mall: "1900000109", Limit: 100})
	if err != nil || len(list) != 1 || earned != 1 {
		t.Errorf("payment %s: %d recorded, %d earning entries (%v); want 1 and 1", txid, len(list), earned, err)
	}
}

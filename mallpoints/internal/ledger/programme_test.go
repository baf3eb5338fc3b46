package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/notify"
)

// The points programme at intake, on both engines: the tier comes from the
// spend of the window before the payment less its refunds (the payment that
// crosses a threshold earns at the old tier), the monthly cap counts the
// Beijing calendar month's points after caps without the bonus, the bonus
// goes once to the first earning payment, and a refund deducts from points
// plus bonus.
func TestTheProgrammeAtIntakeOnBothEngines(t *testing.T) {
	t.Parallel()
	set := mustRules(t, `
default:
  monthly_cap: 250
  first_payment_bonus: 7
  tiers:
    window_months: 1
    levels:
      - {name: 普卡, min_spend_fen: 0, multiplier: 1}
      - {name: 银卡, min_spend_fen: 20000, multiplier: 2}
`)
	const mall = "1900000109"
	beijing := time.FixedZone("UTC+8", 8*3600)
	for _, dsn := range testDatabases(t) {
		t.Run(dsn.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := New(openDB(t, dsn.dsn(t)), noQueue{}, rules.NewCurrent(set), nil)
			n := 0
			pay := func(amount int64, at time.Time) storage.Transaction {
				t.Helper()
				n++
				txid := fmt.Sprintf("42000000000000000000000000%02d", n)
				if _, err := s.Transaction(ctx, &notify.Notification{ID: "n-" + txid, EventType: businesscircle.EventTypeTransactionSuccess},
					&businesscircle.TransactionEvent{MchID: mall, AppID: "wxapp", OpenID: "oP", TransactionID: txid,
						Amount: amount, TimeEnd: at.Format(time.RFC3339)}); err != nil {
					t.Fatal(err)
				}
				got, err := s.db.Transaction(ctx, mall, txid)
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			refund := func(txid string, amount int64) {
				t.Helper()
				n++
				if _, err := s.Refund(ctx, &notify.Notification{ID: fmt.Sprintf("r-%d", n), EventType: businesscircle.EventTypeRefundSuccess},
					&businesscircle.RefundEvent{MchID: mall, RefundID: fmt.Sprintf("50000%d", n), TransactionID: txid, RefundAmount: amount}); err != nil {
					t.Fatal(err)
				}
			}
			check := func(what string, got storage.Transaction, points, bonus int64, tier string) {
				t.Helper()
				if got.Points != points || got.Bonus != bonus || got.Tier != tier {
					t.Errorf("%s: points %d bonus %d tier %q (%s); want %d, %d, %q", what, got.Points, got.Bonus, got.Tier, got.Explain, points, bonus, tier)
				}
			}
			// 2026-03: the first payment takes the bonus, and crosses 银卡's
			// threshold at the old tier.
			p1 := pay(20000, time.Date(2026, 3, 10, 12, 0, 0, 0, beijing))
			check("the first payment", p1, 200, 7, "普卡")
			var steps []rules.Step
			if err := json.Unmarshal(p1.Steps, &steps); err != nil || len(steps) == 0 || steps[len(steps)-1].Step != "first_payment_bonus" {
				t.Errorf("the payment's steps %s, %v; want them ending with first_payment_bonus", p1.Steps, err)
			}
			entries, err := s.db.TransactionEntries(ctx, mall, p1.TransactionID)
			if err != nil || len(entries) != 1 || entries[0].Points != 207 || string(entries[0].Steps) != string(p1.Steps) {
				t.Errorf("the earning entry %+v, %v; want 207 points with the payment's steps", entries, err)
			}
			// The next earns at 银卡 ×2, with no second bonus, and the
			// monthly cap (250) has 50 left of the 200 counted without the bonus.
			check("the next payment that month", pay(10000, time.Date(2026, 3, 11, 12, 0, 0, 0, beijing)), 50, 0, "银卡")
			check("the cap reached", pay(10000, time.Date(2026, 3, 31, 23, 59, 0, 0, beijing)), 0, 0, "银卡")
			// April 1 00:00 Beijing (March 31 16:00 UTC) is a new month; the
			// window of one month still holds the March payments after the 1st.
			check("a new Beijing month", pay(10000, time.Date(2026, 3, 31, 16, 0, 0, 0, time.UTC)), 200, 0, "银卡")
			// Refunding the first payment in full deducts its points and its
			// bonus, and takes its amount out of the spend.
			refund(p1.TransactionID, 20000)
			m, err := s.db.Member(ctx, mall, "oP")
			if err != nil {
				t.Fatal(err)
			}
			if m.Balance != 250 {
				t.Errorf("balance %d after refunding the first payment; want 50 + 0 + 200 = 250", m.Balance)
			}
			// Spend on 2026-04-10 over [03-10, 04-10): 10000 + 10000 + 10000 = 30000 ≥ 20000.
			check("after the refund", pay(100, time.Date(2026, 4, 10, 12, 0, 0, 0, beijing)), 2, 0, "银卡")
			// On 04-12 the window [03-12, 04-12) holds 10000 (03-31) + 10000 (04-01) + 100: 20100.
			check("the window moves", pay(100, time.Date(2026, 4, 12, 12, 0, 0, 0, beijing)), 2, 0, "银卡")
			// On 04-30 the window [03-30, 04-30) holds the same 20200; on 05-02 [04-02, 05-02) holds 200: 普卡.
			check("out of the window", pay(100, time.Date(2026, 5, 2, 12, 0, 0, 0, beijing)), 1, 0, "普卡")
		})
	}
}

package ledger

import (
	"context"
	"fmt"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

// refundAllRules use every rule that changes what a payment earns: a tier
// reached by spend, a per-payment and a daily cap, and a first-payment
// bonus.
const refundAllRules = `default:
  min_amount_fen: 0
  per_payment_cap: 400
  daily_cap: 900
  first_payment_bonus: 10
  tiers:
    window_months: 12
    levels:
      - {name: 普卡, min_spend_fen: 0, multiplier: 1}
      - {name: 金卡, min_spend_fen: 50000, multiplier: 1.5}
`

// FuzzRefundingEveryPaymentLeavesTheAdjustments: whatever the payments and
// credits, refunding every payment in full leaves the balance equal to the
// sum of the credits, and the ledger's entries sum to it.
func FuzzRefundingEveryPaymentLeavesTheAdjustments(f *testing.F) {
	f.Add([]byte{10, 0, 200, 3, 250, 0, 90, 7})
	f.Add([]byte{255, 255, 255, 0, 1, 1, 128, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 24 {
			data = data[:24]
		}
		s := New(openDB(t, testDatabases(t)[0].dsn(t)), noQueue{}, rules.NewCurrent(mustRules(t, refundAllRules)), nil)
		b := &expiryBed{t: t, s: s, ctx: context.Background()}
		// The member exists from a first payment on; credits need one.
		amounts := []int64{10000}
		var credits int64
		if err := b.apply(op{pay: amounts[0], at: "2026-01-01"}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(data); i += 2 {
			v := int64(data[i]) * int64(data[i+1]+1) * 7 // up to about 450 yuan
			if data[i]%4 == 3 {
				credit := int64(data[i+1]) + 1
				if err := b.apply(op{adjust: credit}); err != nil {
					t.Fatal(err)
				}
				credits += credit
				continue
			}
			if v == 0 {
				continue // WeChat Pay sends no payment of nothing
			}
			day := fmt.Sprintf("2026-%02d-%02d", 1+i%12, 1+int(data[i+1])%28)
			if err := b.apply(op{pay: v, at: day}); err != nil {
				t.Fatal(err)
			}
			amounts = append(amounts, v)
		}
		for i, a := range amounts {
			if err := b.apply(op{refund: i + 1, amount: a}); err != nil {
				t.Fatal(err)
			}
		}
		m, err := s.db.Member(b.ctx, expiryMall, expiryMember)
		if err != nil {
			t.Fatal(err)
		}
		if m.Balance != credits {
			t.Errorf("after refunding every payment the balance is %d, want the credits' %d", m.Balance, credits)
		}
		if sum, err := s.db.BalanceCheck(b.ctx, expiryMall, expiryMember); err != nil || sum != m.Balance {
			t.Errorf("entries sum to %d (%v), balance %d", sum, err, m.Balance)
		}
	})
}

package rules_test

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

func TestRefundDeduction(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                                 string
		earned, paid, refundedBefore, refund int64
		want                                 int64
	}{
		{"a full refund takes back every point", 10, 300, 0, 300, 10},
		{"the first of three refunds of 100 on 300 that earned 10", 10, 300, 0, 100, 3},
		{"the second", 10, 300, 100, 100, 3},
		{"the third takes the remainder", 10, 300, 200, 100, 4},
		{"a refund too small for a point deducts 0", 10, 300, 0, 29, 0},
		{"which the next refund makes up", 10, 300, 29, 1, 1},
		{"a refund beyond what was paid is clamped to the rest", 10, 300, 200, 500, 4},
		{"nothing is left once all was refunded", 10, 300, 300, 100, 0},
		{"refunded before beyond paid counts as all", 10, 300, 900, 100, 0},
		{"a negative refund deducts nothing", 10, 300, 0, -100, 0},
		{"negative refunded before counts as 0", 10, 300, -50, 150, 5},
		{"a payment that earned nothing deducts nothing", 0, 300, 0, 300, 0},
		{"a payment of 0 deducts nothing", 10, 0, 0, 300, 0},
		{"no overflow at the largest values", math.MaxInt64, math.MaxInt64, 0, math.MaxInt64 - 1, math.MaxInt64 - 1},
		{"no overflow in the product", math.MaxInt64, math.MaxInt64, math.MaxInt64 / 2, math.MaxInt64/2 + 1, math.MaxInt64/2 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := rules.RefundDeduction(tt.earned, tt.paid, tt.refundedBefore, tt.refund); got != tt.want {
				t.Errorf("RefundDeduction(%d, %d, %d, %d) = %d, want %d", tt.earned, tt.paid, tt.refundedBefore, tt.refund, got, tt.want)
			}
		})
	}
}

// Whatever the refunds, their deductions add up to floor(E × ΣR / P) with
// ΣR clamped to P, each is at least 0, and the total never exceeds E.
func TestRefundDeductionsSumToTheShareRefunded(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		var earned, paid int64
		switch i % 3 {
		case 0: // mall-sized
			paid, earned = 1+rng.Int64N(1_000_000), rng.Int64N(20_000)
		case 1: // huge, where E × R overflows int64
			paid, earned = 1+rng.Int64N(math.MaxInt64), rng.Int64N(math.MaxInt64)
		default: // tiny, where rounding matters most
			paid, earned = 1+rng.Int64N(10), rng.Int64N(10)
		}
		var refunded, total int64
		for n := rng.IntN(6); n >= 0; n-- {
			r := rng.Int64N(paid/2 + 2)
			d := rules.RefundDeduction(earned, paid, refunded, r)
			if d < 0 {
				t.Fatalf("E=%d P=%d Rb=%d R=%d: deduction %d < 0", earned, paid, refunded, r, d)
			}
			total += d
			refunded += min(r, paid-refunded)
			if want := floorShare(earned, refunded, paid); total != want {
				t.Fatalf("E=%d P=%d: after refunds of %d, deducted %d in total, want floor(E×R/P) = %d", earned, paid, refunded, total, want)
			}
		}
		if total > earned {
			t.Fatalf("E=%d P=%d: deducted %d, more than earned", earned, paid, total)
		}
	}
}

func floorShare(e, r, p int64) int64 {
	q := new(big.Int).Mul(big.NewInt(e), big.NewInt(r))
	return q.Quo(q, big.NewInt(p)).Int64()
}

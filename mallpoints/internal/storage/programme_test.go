package storage

import (
	"context"
	"testing"
	"time"
)

// The programme's reads, on both engines: the tier spend sums the amounts
// of the window [from, to) less their refunds, and no other member's, mall's
// or time's; the monthly cap's EarnedBetween counts points, never bonuses;
// HasEarned sees points or a bonus.
func TestTierSpendMonthlyTotalAndHasEarnedOnBothEngines(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		day := func(d int) time.Time { return time.Date(2026, 3, d, 4, 0, 0, 0, time.UTC) }
		var earned bool
		inTx(t, db, func(tx *Tx) (err error) { earned, err = tx.HasEarned(ctx, mall, "oA"); return err })
		if earned {
			t.Error("a member without payments has earned")
		}
		payment(t, db, "oA", "4200000001", 10, day(1))  // 1000 fen
		payment(t, db, "oA", "4200000002", 20, day(10)) // 2000 fen
		payment(t, db, "oA", "4200000003", 30, day(20)) // 3000 fen
		payment(t, db, "oB", "4200000004", 40, day(10)) // another member
		inTx(t, db, func(tx *Tx) error {
			return tx.AddRefund(ctx, mall, "4200000002", 500, 5)
		})
		inTx(t, db, func(tx *Tx) error {
			_, err := tx.exec(ctx, `UPDATE transactions SET bonus = 100 WHERE transaction_id = '4200000003'`)
			return err
		})
		inTx(t, db, func(tx *Tx) error {
			for _, c := range []struct {
				from, to time.Time
				want     int64
			}{
				{day(1), day(20), 1000 + 1500}, // [from, to): the payment at to is not counted
				{day(2), day(21), 1500 + 3000},
				{day(21), day(30), 0},
			} {
				got, err := tx.TierSpend(ctx, mall, "oA", c.from, c.to)
				if err != nil || got != c.want {
					t.Errorf("TierSpend [%s, %s) = %d, %v; want %d", c.from, c.to, got, err, c.want)
				}
			}
			month, err := tx.EarnedBetween(ctx, mall, "oA", day(1), day(31))
			if err != nil || month != 60 {
				t.Errorf("EarnedBetween the month = %d, %v; want 60 (points, not the bonus, not reduced by refunds)", month, err)
			}
			if earned, err = tx.HasEarned(ctx, mall, "oA"); err != nil || !earned {
				t.Errorf("HasEarned = %v, %v; want true", earned, err)
			}
			return nil
		})
	})
}

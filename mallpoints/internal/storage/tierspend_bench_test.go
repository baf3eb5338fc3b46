package storage

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/pgtest"
)

// BenchmarkTierSpendOfAMemberWith10000Payments is the cost of the tier
// computation intake makes at every payment when the rules have tiers: the
// sum of a member's spend over a 12-month window, read over its 10,000
// payments (two years of them, so half are in the window), among another
// member's. It runs on each engine.
func BenchmarkTierSpendOfAMemberWith10000Payments(b *testing.B) {
	ctx := context.Background()
	dsns := map[string]string{"sqlite": filepath.Join(b.TempDir(), "mallpoints.db")}
	if base, ok := pgtest.Optional(b); ok {
		dsns["postgres"] = pgtest.NewDatabase(b, base, "storage_bench")
	}
	for _, name := range []string{"sqlite", "postgres"} {
		dsn, ok := dsns[name]
		if !ok {
			continue
		}
		b.Run(name, func(b *testing.B) {
			db, err := Open(ctx, dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			end := time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)
			const n = 10000
			err = db.InTx(ctx, func(tx *Tx) error {
				for _, openid := range []string{"oBig", "oOther"} {
					if _, err := tx.LockMember(ctx, mall, openid, "wxapp"); err != nil {
						return err
					}
					for i := range n {
						txid := fmt.Sprintf("%s-%05d", openid, i)
						s, err := tx.NewSync(ctx, SyncPoints, mall, txid)
						if err != nil {
							return err
						}
						if _, err := tx.InsertTransaction(ctx, &Transaction{Mall: mall, TransactionID: txid, NotificationID: "n-" + txid,
							OpenID: openid, AppID: "wxapp", Amount: 10000, TimeEnd: end.Add(-time.Duration(i) * 2 * time.Hour * 365 * 24 / n),
							Points: 100, EarnPoints: true, RuleVersion: "v1", SyncID: s.ID}); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				err := db.ReadTx(ctx, func(tx *Tx) error {
					spend, err := tx.TierSpend(ctx, mall, "oBig", end.AddDate(-1, 0, 0), end)
					if err == nil && (spend < 4900*10000 || spend > 5100*10000) {
						err = fmt.Errorf("spend %d; want about half of the payments", spend)
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

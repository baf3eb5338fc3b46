package storage

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/pgtest"
)

// BenchmarkConcurrentEntriesOnPostgres writes ledger entries from 16
// goroutines per CPU at once, each entry in a transaction of its own,
// through the pool a replica has by default, into one mall and into 50:
// what numbering costs when writers contend for it.
//
//	go test -run '^$' -bench ConcurrentEntries -benchtime 4000x ./internal/storage
func BenchmarkConcurrentEntriesOnPostgres(b *testing.B) {
	base := pgtest.Require(b)
	ctx := context.Background()
	for _, malls := range []int{1, 50} {
		b.Run(fmt.Sprintf("malls=%d", malls), func(b *testing.B) {
			db, err := Open(ctx, pgtest.NewDatabase(b, base, "storage_bench"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					e := Entry{Mall: fmt.Sprintf("19%08d", n.Add(1)%int64(malls)), OpenID: "oA", Kind: EntryAdjustment,
						Points: 1, Requested: 1, BalanceAfter: 1}
					if err := db.InTx(ctx, func(tx *Tx) error { return tx.AppendEntry(ctx, &e) }); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

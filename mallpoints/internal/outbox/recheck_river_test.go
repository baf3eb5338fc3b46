package outbox

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/merchants"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// The periodic re-check through real River clients: it runs every
// RecheckEvery, one run at a time, with two replicas on PostgreSQL too (a
// run still going when the next is due makes that one a duplicate).
func TestThePeriodicRecheckRunsOneAtATimeThroughRiver(t *testing.T) {
	t.Parallel()
	for name, dsn := range expiryEngines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := openMigrated(t, dsn(t))
			srv := sandbox.NewServer(sandbox.WithClientOptions(wxpay.WithoutRetries()))
			t.Cleanup(srv.Close)
			var runs, running, overlaps atomic.Int32
			recheck := func(ctx context.Context) error {
				if running.Add(1) > 1 {
					overlaps.Add(1)
				}
				defer running.Add(-1)
				runs.Add(1)
				time.Sleep(150 * time.Millisecond) // longer than the interval
				return nil
			}
			replicas := 1
			if db.Engine() == storage.Postgres {
				replicas = 2
			}
			for range replicas {
				startOutbox(t, Config{DB: db, Signers: signers{merchants.Single(srv.Keys.MchID, srv.Client, nil)},
					Recheck: recheck, RecheckEvery: 50 * time.Millisecond})
			}
			deadline := time.Now().Add(30 * time.Second)
			for runs.Load() < 3 {
				if time.Now().After(deadline) {
					t.Fatalf("after 30 s, %d runs", runs.Load())
				}
				time.Sleep(50 * time.Millisecond)
			}
			if n := overlaps.Load(); n != 0 {
				t.Errorf("%d runs overlapped another", n)
			}
		})
	}
}

package outbox

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/riverqueue/river"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/cputime"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/pgtest"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// doneWorker works a job by telling its waiter that it ran: what is left of
// a sync when the call to WeChat Pay and the record of the attempt are taken
// away.
type doneWorker struct {
	river.WorkerDefaults[SyncArgs]
	waiting sync.Map // sync id → chan struct{}
}

func (w *doneWorker) Work(_ context.Context, job *river.Job[SyncArgs]) error {
	if ch, ok := w.waiting.LoadAndDelete(job.Args.SyncID); ok {
		close(ch.(chan struct{}))
	}
	return nil
}

// BenchmarkRiverCostPerSync is River's own share of a sync, as mallpointsd
// configures it (job=river): the job inserted in a transaction, fetched,
// worked by a worker that does nothing, and completed, with 32 jobs in
// flight as under load. job=none runs the same transactions without a job,
// so the difference between the two is River's. cpu-µs/op is the process's
// CPU time per job (rusage), River's idle polling included; on PostgreSQL it
// leaves out the server's, as the load generator's figure for the service
// does. What River costs is a floor under the service's cost per payment
// that no change to the service's own code can lower.
func BenchmarkRiverCostPerSync(b *testing.B) {
	engines := []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "river.db") }},
		{"postgres", func(b *testing.B) string {
			return pgtest.NewDatabase(b, pgtest.Require(b), "mallpoints_river_bench")
		}},
	}
	for _, e := range engines {
		for _, job := range []bool{false, true} {
			name := "engine=" + e.name + "/job=none"
			if job {
				name = "engine=" + e.name + "/job=river"
			}
			b.Run(name, func(b *testing.B) { benchRiverCost(b, e.dsn(b), job) })
		}
	}
}

func benchRiverCost(b *testing.B, dsn string, job bool) {
	ctx := context.Background()
	db, err := storage.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	w := &doneWorker{}
	o, err := newOutbox(ctx, Config{DB: db, Logger: slog.New(slog.DiscardHandler)}, w)
	if err != nil {
		b.Fatal(err)
	}
	if job {
		if err := o.Start(ctx); err != nil {
			b.Fatal(err)
		}
		defer o.Stop(ctx)
	}
	const inFlight = 32
	var next, left atomic.Int64
	left.Store(int64(b.N))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	var wg sync.WaitGroup
	for range inFlight {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				id := next.Add(1)
				ran := make(chan struct{})
				if !job {
					close(ran)
				} else {
					w.waiting.Store(id, ran)
				}
				if err := db.InTx(ctx, func(tx *storage.Tx) error {
					if !job {
						return nil
					}
					return o.Enqueue(ctx, tx, id)
				}); err != nil {
					b.Error(err)
					return
				}
				<-ran
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(cputime.MicrosPerOp(cpu0, b.N), "cpu-µs/op")
}

package outbox

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/merchants"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/pgtest"
	"github.com/seed2ac2593f/wxpay/notify"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// expiryEngines are SQLite, always, and PostgreSQL, as the ledger's tests
// find it (skipped without a server, except with CI=true).
func expiryEngines(t *testing.T) map[string]func(t *testing.T) string {
	list := map[string]func(t *testing.T) string{"sqlite": func(t *testing.T) string { return filepath.Join(t.TempDir(), "mallpoints.db") }}
	if base, ok := pgtest.Optional(t); ok {
		list["postgres"] = func(t *testing.T) string { return pgtest.NewDatabase(t, base, "outbox_test") }
	}
	return list
}

func openMigrated(t *testing.T, dsn string) *storage.DB {
	t.Helper()
	db, err := storage.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// expiryJobs counts the expiry jobs River holds, in any state.
func expiryJobs(t *testing.T, db *storage.DB) int {
	t.Helper()
	var n int
	var err error
	if db.Engine() == storage.Postgres {
		err = db.Pool().QueryRow(context.Background(), `SELECT COUNT(*) FROM river_job WHERE kind = $1`, ExpiryKind).Scan(&n)
	} else {
		err = db.SQL().QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = ?`, ExpiryKind).Scan(&n)
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The periodic expiry job through real River clients: with its schedule
// shortened to ExpiryEvery, it runs and writes the expire entries; with two
// replicas on one database, one run per date happens however often the
// schedule fires (the leader inserts it, unique by its as_of), and an insert
// of the same date again is a duplicate.
func TestThePeriodicExpiryJobRunsOncePerDateThroughRiver(t *testing.T) {
	t.Parallel()
	for name, dsn := range expiryEngines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openMigrated(t, dsn(t))
			srv := sandbox.NewServer(sandbox.WithClientOptions(wxpay.WithoutRetries()))
			t.Cleanup(srv.Close)
			set, err := rules.Parse([]byte("default:\n  expiry: {policy: end_of_year, years: 0, start: 2020-01-01}\n"))
			if err != nil {
				t.Fatal(err)
			}
			l := ledger.New(db, noQueue{}, rules.NewCurrent(set), nil)
			l.SetExpiryConfig(ledger.ExpiryConfig{Pause: -1})
			last := time.Now().In(beijing).AddDate(-1, 0, 0).Format("2006") + "-05-01T12:00:00+08:00"
			const members = 3
			for i := range members {
				_, err := l.Transaction(ctx, &notify.Notification{ID: fmt.Sprint("n", i), EventType: businesscircle.EventTypeTransactionSuccess},
					&businesscircle.TransactionEvent{MchID: srv.Keys.MchID, AppID: "wxd678efh567hg6787", OpenID: fmt.Sprint("oRiver", i),
						TransactionID: fmt.Sprintf("42000000000000000000000009%02d", i), Amount: 1000, TimeEnd: last})
				if err != nil {
					t.Fatal(err)
				}
			}
			var runs atomic.Int32
			replicas := 1
			if db.Engine() == storage.Postgres {
				replicas = 2 // SQLite is one process's file
			}
			var outboxes []*Outbox
			for range replicas {
				o, err := New(ctx, Config{DB: db, Signers: signers{merchants.Single(srv.Keys.MchID, srv.Client, nil)}, ExpiryEvery: 200 * time.Millisecond,
					Expire: func(ctx context.Context, asOf string) error {
						runs.Add(1)
						_, err := l.Expire(ctx, asOf)
						return err
					}})
				if err != nil {
					t.Fatal(err)
				}
				if err := o.Start(ctx); err != nil {
					t.Fatal(err)
				}
				outboxes = append(outboxes, o)
			}
			t.Cleanup(func() {
				for _, o := range outboxes {
					stop, cancel := context.WithTimeout(ctx, 5*time.Second)
					_ = o.Stop(stop)
					cancel()
				}
			})
			expired := func() int {
				n := 0
				for i := range members {
					m, err := db.Member(ctx, srv.Keys.MchID, fmt.Sprint("oRiver", i))
					if err != nil {
						t.Fatal(err)
					}
					if m.Balance == 0 {
						n++
					}
				}
				return n
			}
			deadline := time.Now().Add(30 * time.Second)
			for expired() < members {
				if time.Now().After(deadline) {
					t.Fatalf("after 30 s, %d of %d members expired (%d runs)", expired(), members, runs.Load())
				}
				time.Sleep(100 * time.Millisecond)
			}
			// Several more firings of the schedule: all duplicates of the date's job.
			time.Sleep(time.Second)
			if n := runs.Load(); n != 1 {
				t.Errorf("%d runs with %d replicas, want 1", n, replicas)
			}
			if n := expiryJobs(t, db); n != 1 {
				t.Errorf("%d expiry jobs, want 1", n)
			}
			for i := range members {
				entries, err := db.MemberEntries(ctx, srv.Keys.MchID, fmt.Sprint("oRiver", i), 100)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, e := range entries {
					if e.Kind == storage.EntryExpire {
						n++
					}
				}
				if n != 1 {
					t.Errorf("member %d: %d expire entries, want 1", i, n)
				}
			}
			// At the insert: the date's job again is a duplicate, another date's is not.
			today := time.Now().In(beijing).Format(time.DateOnly)
			for _, c := range []struct {
				asOf      string
				duplicate bool
			}{{today, true}, {"2020-01-01", false}, {"2020-01-01", true}} {
				var dup bool
				err := db.InTx(ctx, func(tx *storage.Tx) error {
					var err error
					dup, err = outboxes[0].insert(ctx, tx, ExpiryArgs{AsOf: c.asOf})
					return err
				})
				if err != nil || dup != c.duplicate {
					t.Errorf("insert as of %s: duplicate %v, %v; want %v", c.asOf, dup, err, c.duplicate)
				}
			}
		})
	}
}

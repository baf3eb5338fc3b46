package outbox

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
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

// expiryBed is a database with members points of a past year are due
// for, and a ledger with expiry on.
type expiryBed struct {
	db     *storage.DB
	l      *ledger.Service
	srv    *sandbox.Server
	openid []string
}

// newExpiryBed writes members who each earned 10 points last year, due
// today; the ledger's runs expire a batch of batch members and rest pause.
func newExpiryBed(t *testing.T, dsn string, members int, cfg ledger.ExpiryConfig) *expiryBed {
	t.Helper()
	ctx := context.Background()
	b := &expiryBed{db: openMigrated(t, dsn)}
	b.srv = sandbox.NewServer(sandbox.WithClientOptions(wxpay.WithoutRetries()))
	t.Cleanup(b.srv.Close)
	set, err := rules.Parse([]byte("default:\n  expiry: {policy: end_of_year, years: 0, start: 2020-01-01}\n"))
	if err != nil {
		t.Fatal(err)
	}
	b.l = ledger.New(b.db, noQueue{}, rules.NewCurrent(set), nil)
	b.l.SetExpiryConfig(cfg)
	last := time.Now().In(beijing).AddDate(-1, 0, 0).Format("2006") + "-05-01T12:00:00+08:00"
	for i := range members {
		openid := fmt.Sprint("oRiver", i)
		_, err := b.l.Transaction(ctx, &notify.Notification{ID: fmt.Sprint("n", i), EventType: businesscircle.EventTypeTransactionSuccess},
			&businesscircle.TransactionEvent{MchID: b.srv.Keys.MchID, AppID: "wxd678efh567hg6787", OpenID: openid,
				TransactionID: fmt.Sprintf("42000000000000000000000009%02d", i), Amount: 1000, TimeEnd: last})
		if err != nil {
			t.Fatal(err)
		}
		b.openid = append(b.openid, openid)
	}
	return b
}

// start starts an outbox on the bed's database with cfg, whose DB and
// Signers it fills in, and stops it when the test ends.
func (b *expiryBed) start(t *testing.T, cfg Config) *Outbox {
	t.Helper()
	cfg.DB, cfg.Signers = b.db, signers{merchants.Single(b.srv.Keys.MchID, b.srv.Client, nil)}
	return startOutbox(t, cfg)
}

// expired counts the bed's members whose balance is 0.
func (b *expiryBed) expired(t *testing.T) int {
	t.Helper()
	n := 0
	for _, openid := range b.openid {
		m, err := b.db.Member(context.Background(), b.srv.Keys.MchID, openid)
		if err != nil {
			t.Fatal(err)
		}
		if m.Balance == 0 {
			n++
		}
	}
	return n
}

// outcome is what ledger.Expire did, as an Expirer answers it.
func outcome(res ledger.ExpiryResult) ExpiryOutcome {
	return ExpiryOutcome{Points: res.Points, Members: len(res.Members)}
}

// The periodic expiry job through real River clients: it runs and writes
// the expire entries; with two replicas on one database, the leader alone
// inserts it, so the date is run once. While a date's job is queued or
// running an insert of it is a duplicate; once it is done, a new insert
// runs it again (and expires nothing more).
func TestThePeriodicExpiryJobRunsOncePerDateThroughRiver(t *testing.T) {
	t.Parallel()
	for name, dsn := range expiryEngines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			const members = 3
			b := newExpiryBed(t, dsn(t), members, ledger.ExpiryConfig{Pause: -1})
			var runs atomic.Int32
			replicas := 1
			if b.db.Engine() == storage.Postgres {
				replicas = 2 // SQLite is one process's file
			}
			var outboxes []*Outbox
			for range replicas {
				// Every hour, and once at the start: by the leader only.
				outboxes = append(outboxes, b.start(t, Config{ExpiryEvery: time.Hour,
					Expire: func(ctx context.Context, _ int64, asOf string) (ExpiryOutcome, error) {
						runs.Add(1)
						res, err := b.l.Expire(ctx, asOf)
						return outcome(res), err
					}}))
			}
			deadline := time.Now().Add(30 * time.Second)
			for b.expired(t) < members {
				if time.Now().After(deadline) {
					t.Fatalf("after 30 s, %d of %d members expired (%d runs)", b.expired(t), members, runs.Load())
				}
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(time.Second)
			if n := runs.Load(); n != 1 {
				t.Errorf("%d runs with %d replicas, want 1", n, replicas)
			}
			if n := expiryJobs(t, b.db); n != 1 {
				t.Errorf("%d expiry jobs, want 1", n)
			}
			for _, openid := range b.openid {
				entries, err := b.db.MemberEntries(ctx, b.srv.Keys.MchID, openid, 100)
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
					t.Errorf("member %s: %d expire entries, want 1", openid, n)
				}
			}
			// At the insert: today's job is done, so a new one is not a
			// duplicate; another date's is not, and inserted twice in one
			// transaction (the first one queued) the second is.
			today := time.Now().In(beijing).Format(time.DateOnly)
			for _, inserts := range [][]struct {
				asOf      string
				duplicate bool
			}{{{today, false}}, {{"2020-01-01", false}, {"2020-01-01", true}}} {
				err := b.db.InTx(ctx, func(tx *storage.Tx) error {
					for _, c := range inserts {
						res, err := outboxes[0].insert(ctx, tx, ExpiryArgs{AsOf: c.asOf})
						if err != nil {
							return err
						}
						if res.UniqueSkippedAsDuplicate != c.duplicate {
							t.Errorf("insert as of %s: duplicate %v, want %v", c.asOf, res.UniqueSkippedAsDuplicate, c.duplicate)
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// A run asked for on demand is the daily run's job: its state is queued,
// running, retrying after an attempt that failed (with that attempt's
// error), then done, and what it expired is the sum of its attempts': the
// first stops half-way (its time runs out in the pause after its first
// member), the second expires the rest. While it is under way a request for
// its date answers it; once done, a request queues a new run. A job of
// another kind, or none, is no run, and the list of runs, newest first,
// leaves it out.
func TestAnExpiryRunTellsItsStateAndWhatItsAttemptsExpired(t *testing.T) {
	t.Parallel()
	for name, dsn := range expiryEngines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			const members = 3
			b := newExpiryBed(t, dsn(t), members, ledger.ExpiryConfig{Batch: 1, Pause: 1500 * time.Millisecond})
			var attempts atomic.Int32
			var runIDs sync.Map
			o := b.start(t, Config{RetryBase: 2 * time.Second,
				Expire: func(ctx context.Context, run int64, asOf string) (ExpiryOutcome, error) {
					runIDs.Store(run, true)
					if attempts.Add(1) == 1 {
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, 700*time.Millisecond)
						defer cancel()
					}
					res, err := b.l.Expire(ctx, asOf)
					return outcome(res), err
				}})
			today := time.Now().In(beijing).Format(time.DateOnly)
			run, created, err := o.RunExpiry(ctx, today)
			if err != nil || !created || run.ID <= 0 || run.AsOf != today || (run.State != ExpiryQueued && run.State != ExpiryRunning) {
				t.Fatalf("RunExpiry: %+v, new %v, %v; want a new run, queued", run, created, err)
			}
			again, created, err := o.RunExpiry(ctx, today)
			if err != nil || created || again.ID != run.ID {
				t.Errorf("RunExpiry again at once: %+v, new %v, %v; want run %d", again, created, err, run.ID)
			}
			wait := func(state string) ExpiryRun {
				t.Helper()
				deadline := time.Now().Add(30 * time.Second)
				for {
					got, err := o.ExpiryRun(ctx, run.ID)
					if err != nil {
						t.Fatal(err)
					}
					if got.State == state {
						return got
					}
					if time.Now().After(deadline) {
						t.Fatalf("after 30 s the run is %+v, want %s", got, state)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			retrying := wait(ExpiryRetrying)
			if retrying.Attempts != 1 || !strings.Contains(retrying.Error, "deadline exceeded") || retrying.Members != 1 || retrying.Points != 10 {
				t.Errorf("the run after its first attempt: %+v; want 1 attempt, its error, one member's 10 points", retrying)
			}
			if dup, created, err := o.RunExpiry(ctx, today); err != nil || created || dup.ID != run.ID {
				t.Errorf("RunExpiry while the run waits to retry: %+v, new %v, %v; want run %d", dup, created, err, run.ID)
			}
			done := wait(ExpiryDone)
			if done.Attempts != 2 || done.Error != "" || done.Members != members || done.Points != 10*members ||
				done.StartedAt == nil || done.FinishedAt == nil || done.QueuedAt.After(*done.StartedAt) {
				t.Errorf("the run done: %+v; want 2 attempts, every member's points, its times", done)
			}
			if n := b.expired(t); n != members {
				t.Errorf("%d of %d members expired", n, members)
			}
			next, created, err := o.RunExpiry(ctx, today)
			if err != nil || !created || next.ID == run.ID {
				t.Errorf("RunExpiry once the run is done: %+v, new %v, %v; want a new run", next, created, err)
			}
			if _, ok := runIDs.Load(run.ID); !ok {
				t.Errorf("the Expirer was not told the run's id %d", run.ID)
			}

			var other int64
			err = b.db.InTx(ctx, func(tx *storage.Tx) error {
				res, err := o.insert(ctx, tx, SyncArgs{SyncID: 1 << 40})
				if err == nil {
					other = res.Job.ID
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []int64{other, 1 << 50} {
				if got, err := o.ExpiryRun(ctx, id); !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("ExpiryRun(%d): %+v, %v; want storage.ErrNotFound", id, got, err)
				}
			}
			// The list is of runs alone, newest first, as many as asked for.
			runs, err := o.ExpiryRuns(ctx, 10)
			if err != nil || len(runs) != 2 || runs[0].ID != next.ID || runs[1].ID != run.ID || runs[1].State != ExpiryDone ||
				runs[1].Points != 10*members {
				t.Errorf("ExpiryRuns(10): %+v, %v; want run %d, then run %d done", runs, err, next.ID, run.ID)
			}
			if runs, err := o.ExpiryRuns(ctx, 1); err != nil || len(runs) != 1 || runs[0].ID != next.ID {
				t.Errorf("ExpiryRuns(1): %+v, %v; want run %d alone", runs, err, next.ID)
			}
		})
	}
}

package ledger

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/pgtest"
	"github.com/seed2ac2593f/wxpay/notify"
)

// noQueue enqueues nothing: these tests look at the ledger only.
type noQueue struct{}

func (noQueue) Enqueue(context.Context, *storage.Tx, int64) error { return nil }
func (noQueue) EnqueueDecision(context.Context, *storage.Tx, string, string, string) error {
	return nil
}
func (noQueue) Publish(context.Context, *storage.Tx, storage.Event) error { return nil }

func TestADailyCapSetLaterInTheDayCountsThePointsEarnedBeforeIt(t *testing.T) {
	t.Parallel()
	uncapped := mustRules(t, "default:\n  min_amount_fen: 0\n")
	capped := mustRules(t, "default:\n  min_amount_fen: 0\n  daily_cap: 25\n")
	for _, dsn := range testDatabases(t) {
		t.Run(dsn.name, func(t *testing.T) {
			t.Parallel()
			current := rules.NewCurrent(uncapped)
			s := New(openDB(t, dsn.dsn(t)), noQueue{}, current, nil)
			timeEnd := time.Now().Format(time.RFC3339) // one Beijing day for every payment
			// Payments without a cap skip the day's sum; the cap, once set,
			// still counts them.
			for i, step := range []struct {
				rules       *rules.Set
				amount      int64
				points      int64
				totalPoints int64
			}{
				{uncapped, 1000, 10, 10},
				{uncapped, 1200, 12, 22},
				{capped, 1000, 3, 25},
				{capped, 1000, 0, 25},
				{uncapped, 500, 5, 30},
			} {
				current.Store(step.rules)
				txid := fmt.Sprintf("42000000000000000000000000%02d", i)
				n := &notify.Notification{ID: "n-" + txid, EventType: businesscircle.EventTypeTransactionSuccess}
				if _, err := s.Transaction(context.Background(), n, &businesscircle.TransactionEvent{
					MchID: "1900000109", AppID: "wxapp", OpenID: "oCapped", TransactionID: txid,
					Amount: step.amount, TimeEnd: timeEnd}); err != nil {
					t.Fatal(err)
				}
				got, err := s.db.Transaction(context.Background(), "1900000109", txid)
				if err != nil {
					t.Fatal(err)
				}
				if got.Points != step.points || got.TotalPoints != step.totalPoints {
					t.Errorf("payment %d of %d fen: points %d, total %d; want %d, %d", i, step.amount, got.Points,
						got.TotalPoints, step.points, step.totalPoints)
				}
			}
		})
	}
}

func TestANotificationOfAnErasedMembersPaymentChangesNothingAndDoesNotBringTheOpenIDBack(t *testing.T) {
	t.Parallel()
	for _, dsn := range testDatabases(t) {
		for _, tc := range []struct {
			name    string
			againID string // the id of the second notification of the payment
			outcome Outcome
		}{
			{"the same notification again", "n-first", OutcomeDuplicateID},
			// WeChat Pay may notify one payment under a second id.
			{"a new notification id", "n-second", OutcomeDuplicateKey},
		} {
			t.Run(dsn.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				db := openDB(t, dsn.dsn(t))
				q := &lastSync{}
				s := New(db, q, rules.NewCurrent(mustRules(t, "default:\n  min_amount_fen: 0\n")), nil)
				pay := &businesscircle.TransactionEvent{MchID: "1900000109", AppID: "wxapp", OpenID: "oErased",
					TransactionID: "4200000000000000000000000099", Amount: 1000, TimeEnd: time.Now().Format(time.RFC3339)}
				first := &notify.Notification{ID: "n-first", EventType: businesscircle.EventTypeTransactionSuccess}
				if _, err := s.Transaction(ctx, first, pay); err != nil {
					t.Fatal(err)
				}
				if ok, err := db.RecordAttempt(ctx, storage.Attempt{SyncID: q.id, Attempt: 1, Outcome: storage.AttemptOK,
					Status: 204, At: time.Now()}, storage.SyncSynced); err != nil || !ok {
					t.Fatal(ok, err)
				}
				pseudonym, err := s.Erase(ctx, "1900000109", "oErased")
				if err != nil {
					t.Fatal(err)
				}
				again := &notify.Notification{ID: tc.againID, EventType: businesscircle.EventTypeTransactionSuccess}
				outcome, err := s.Transaction(ctx, again, pay)
				if err != nil {
					t.Fatal(err)
				}
				if outcome != tc.outcome {
					t.Errorf("outcome %q, want %q", outcome, tc.outcome)
				}
				if m, err := db.Member(ctx, "1900000109", "oErased"); !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("the erased openid is back: %+v, %v", m, err)
				}
				if m, err := db.Member(ctx, "1900000109", pseudonym); err != nil || m.Balance != 10 {
					t.Errorf("the erased member: %+v, %v; want balance 10", m, err)
				}
			})
		}
	}
}

func mustRules(t testing.TB, yaml string) *rules.Set {
	t.Helper()
	set, err := rules.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// testDatabase is an engine to run a test on.
type testDatabase struct {
	name string
	dsn  func(t testing.TB) string
}

// testDatabases are SQLite, always, and PostgreSQL: MALLPOINTS_TEST_POSTGRES
// (a URL) or the local server at 127.0.0.1:5432 as user postgres. Without a
// reachable server the PostgreSQL runs skip, except with CI=true.
func testDatabases(t testing.TB) []testDatabase {
	list := []testDatabase{{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "ledger.db") }}}
	base, ok := pgtest.Optional(t)
	if !ok {
		return list
	}
	return append(list, testDatabase{"postgres", func(t testing.TB) string { return pgtest.NewDatabase(t, base, "ledger_test") }})
}

// openDB opens and migrates dsn, closing it when the test ends.
func openDB(t testing.TB, dsn string) *storage.DB {
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

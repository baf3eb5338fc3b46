package storage

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestTheTablesRebuiltForFewerPagesKeepEveryRowBothWays fills the tables
// that SQLite's migration 4 rebuilds, migrates up and down again, and reads
// the same rows at every step.
func TestTheTablesRebuiltForFewerPagesKeepEveryRowBothWays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "rebuild.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := db.migrator()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	db.SetClock(func() time.Time { return at })
	var syncID int64
	if err := db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.RecordNotification(ctx, Notification{ID: "n-1", EventType: "MALL_TRANSACTION.SUCCESS",
			Mall: "1900000109", BusinessKey: "4200000001", Outcome: "applied", RequestID: "r-1"}); err != nil {
			return err
		}
		s, err := tx.NewSync(ctx, SyncPoints, "1900000109", "4200000001")
		syncID = s.ID
		if err != nil {
			return err
		}
		return tx.AppendEntry(ctx, &Entry{Mall: "1900000109", OpenID: "oA", Kind: EntryEarn, Points: 12, Requested: 12,
			BalanceAfter: 12, TransactionID: "4200000001", NotificationID: "n-1", RuleVersion: "r-1", Reason: "floor"})
	}); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.RecordAttempt(ctx, Attempt{SyncID: syncID, Attempt: 1, Outcome: AttemptOK, Status: 204,
		RequestID: "req-1", At: at, Elapsed: 3 * time.Millisecond}, SyncSynced); err != nil || !ok {
		t.Fatal(ok, err)
	}
	check := func(step string) {
		t.Helper()
		n, err := db.Notification(ctx, "n-1")
		if err != nil || n.BusinessKey != "4200000001" || n.RequestID != "r-1" || !n.ReceivedAt.Equal(at) {
			t.Errorf("%s: notification %+v, %v", step, n, err)
		}
		e, err := db.EntriesAfter(ctx, 0, 10)
		if err != nil || len(e) != 1 || e[0].Seq != 1 || e[0].Points != 12 || e[0].Reason != "floor" {
			t.Errorf("%s: entries %+v, %v", step, e, err)
		}
		a, err := db.Attempts(ctx, syncID)
		if err != nil || len(a) != 1 || a[0].RequestID != "req-1" || a[0].Elapsed != 3*time.Millisecond {
			t.Errorf("%s: attempts %+v, %v", step, a, err)
		}
	}
	check("before")
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	check("up")
	if _, err := p.DownTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	check("down")
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	check("up again")
}

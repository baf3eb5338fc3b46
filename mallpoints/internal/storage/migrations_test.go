package storage

import (
	"context"
	"testing"
	"time"
)

// TestTheTablesRebuiltForFewerPagesKeepEveryRowBothWays fills the tables
// that SQLite's migrations 4 and 5 rebuild or replace, migrates up, down and
// up again, and reads the same rows at every step; the ledger numbering goes
// on where it was.
func TestTheTablesRebuiltForFewerPagesKeepEveryRowBothWays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testSQLite(t, false)
	p, err := db.migrator()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	// Rows as version 3 wrote them.
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	const syncID = 1
	for _, q := range []string{
		`INSERT INTO notifications (id, event_type, mall, business_key, outcome, request_id, received_at)
			VALUES ('n-1', 'MALL_TRANSACTION.SUCCESS', '1900000109', '4200000001', 'applied', 'r-1', $1)`,
		`INSERT INTO syncs (id, kind, mall, subject, state, created_at) VALUES (1, 'points', '1900000109', '4200000001', 'synced', $1)`,
		`INSERT INTO sync_attempts (sync_id, attempt, outcome, status, request_id, at, elapsed_us)
			VALUES (1, 1, 'ok', 204, 'req-1', $1, 3000)`,
		`UPDATE ledger_seq SET value = 1 WHERE id = 1`,
		`INSERT INTO ledger_entries (seq, mall, openid, kind, points, requested, shortfall, balance_after,
			transaction_id, notification_id, rule_version, reason, created_at)
			VALUES (1, '1900000109', 'oA', 'earn', 12, 12, 0, 12, '4200000001', 'n-1', 'r-1', 'floor', $1)`,
	} {
		if _, err := db.sql.ExecContext(ctx, q, micros(at)); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
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
	var counter int64
	if err := db.sql.QueryRowContext(ctx, `SELECT value FROM ledger_seq WHERE id = 1`).Scan(&counter); err != nil || counter != 1 {
		t.Errorf("down: ledger_seq %d, %v; want 1", counter, err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	check("up again")
	e := Entry{Mall: "1900000109", OpenID: "oA", Kind: EntryAdjustment, Points: -2, Requested: -2, BalanceAfter: 10}
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.AppendEntry(ctx, &e) }); err != nil || e.Seq != 2 {
		t.Errorf("the next entry: seq %d, %v; want 2", e.Seq, err)
	}
}

package storage

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// notificationAt records a notification of mall received at at.
func notificationAt(t *testing.T, db *DB, id, mall string, at time.Time) {
	t.Helper()
	if _, err := db.exec(context.Background(), `INSERT INTO notifications (id, event_type, mall, business_key, outcome, received_at)
		VALUES ($1, 'MALL_AUTH.ACTIVATE_CARD', $2, 'o', 'applied', $3)`, id, mall, micros(at)); err != nil {
		t.Fatal(err)
	}
}

// attempts records n attempts of the sync at at, the last one leaving it in
// state.
func attempts(t *testing.T, db *DB, syncID int64, n int, at time.Time, state string) {
	t.Helper()
	for i := 1; i <= n; i++ {
		a, s := Attempt{SyncID: syncID, Attempt: i, Outcome: AttemptRetry, Status: 500, At: at}, SyncPending
		if i == n {
			s = state
			if state == SyncSynced {
				a.Outcome, a.Status = AttemptOK, 204
			}
		}
		if ok, err := db.RecordAttempt(context.Background(), a, s); err != nil || !ok {
			t.Fatalf("attempt %d of sync %d: %v, %v", i, syncID, ok, err)
		}
	}
}

// count counts the rows of a table that match where.
func count(t *testing.T, db *DB, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.queryRow(context.Background(), `SELECT COUNT(*) FROM `+table+` WHERE `+where, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func testPurge(t *testing.T, ctx context.Context, db *DB) {
	now := time.Now()
	cutoff, old := now.Add(-3*24*time.Hour), now.Add(-10*24*time.Hour)
	const mallB, mallC = "1900000110", "1900000111"
	// The mall of the payments: five old notifications, and the payments' own, new.
	for i := range 5 {
		notificationAt(t, db, fmt.Sprint("a-old-", i), mall, old.Add(time.Duration(i)*time.Second))
	}
	// A mall silent since before the cutoff: its newest stays.
	for i := range 4 {
		notificationAt(t, db, fmt.Sprint("b-old-", i), mallB, old.Add(time.Duration(i)*time.Second))
	}
	notificationAt(t, db, "c-new", mallC, now.Add(-time.Hour))
	var syncs []int64
	for i, txid := range []string{"4200000001", "4200000002", "4200000003"} {
		e := payment(t, db, fmt.Sprint("o", i), txid, 10, now)
		tr, err := db.Transaction(ctx, mall, e.TransactionID)
		if err != nil {
			t.Fatal(err)
		}
		syncs = append(syncs, tr.SyncID)
	}
	attempts(t, db, syncs[0], 7, old, SyncSynced) // old, done: they go
	attempts(t, db, syncs[1], 4, old, SyncParked) // old, but a retry reads them: they stay
	attempts(t, db, syncs[2], 2, now, SyncSynced) // new: they stay
	entries := count(t, db, "ledger_entries", "TRUE")
	// Webhook deliveries: delivered long ago go; undelivered ones, however
	// old, and recent ones stay.
	for i, d := range []struct {
		state string
		at    time.Time
	}{{DeliveryDelivered, old}, {DeliveryDelivered, old}, {DeliveryDelivered, old}, {DeliveryDelivered, old},
		{DeliveryParked, old}, {DeliveryPending, old}, {DeliveryDelivered, now}} {
		if _, err := db.exec(ctx, `INSERT INTO webhook_deliveries (webhook, seq, mall, openid, state, created_at, updated_at)
			VALUES ('crm', $1, $2, 'o', $3, $4, $4)`, i+1, mall, d.state, micros(d.at)); err != nil {
			t.Fatal(err)
		}
	}

	const batch = 3
	var statements []int64
	cfg := PurgeConfig{Before: cutoff, Batch: batch, After: func(_ context.Context, table string, n int64) error {
		if n > batch {
			t.Errorf("a statement deleted %d rows of %s, more than the batch of %d", n, table, batch)
		}
		statements = append(statements, n)
		return nil
	}}
	// Cut short after its first statement, then run again: it resumes.
	stop := errors.New("stop")
	short := cfg
	short.After = func(ctx context.Context, table string, n int64) error {
		cfg.After(ctx, table, n)
		return stop
	}
	if got, err := db.Purge(ctx, short); !errors.Is(err, stop) || got[TableNotifications] != batch {
		t.Fatalf("a purge stopped after one statement: %v, %v; want %d notifications and the error", got, err, batch)
	}
	got, err := db.Purge(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Purged{TableNotifications: 5, TableSyncAttempts: 7, TableDeliveries: 4}); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("resumed purge deleted %v, want %v (after %d of the first)", got, want, batch)
	}
	var sum int64
	for _, n := range statements {
		sum += n
	}
	if sum != 5+batch+7+4 {
		t.Errorf("statements deleted %v, %d in all; want %d", statements, sum, 5+batch+7+4)
	}
	for _, c := range []struct {
		what        string
		table, cond string
		args        []any
		want        int64
	}{
		{"the old notifications of a mall that is notified", "notifications", "mall = $1 AND received_at < $2", []any{mall, micros(cutoff)}, 0},
		{"the new notifications", "notifications", "mall = $1 AND received_at >= $2", []any{mall, micros(cutoff)}, 3},
		{"a silent mall's newest notification", "notifications", "mall = $1", []any{mallB}, 1},
		{"a silent mall's newest is its last", "notifications", "id = $1", []any{"b-old-3"}, 1},
		{"a recent notification", "notifications", "mall = $1", []any{mallC}, 1},
		{"the attempts of an old synced sync", "sync_attempts", "sync_id = $1", []any{syncs[0]}, 0},
		{"the attempts of a parked sync", "sync_attempts", "sync_id = $1", []any{syncs[1]}, 4},
		{"the attempts made after the cutoff", "sync_attempts", "sync_id = $1", []any{syncs[2]}, 2},
		{"the syncs", "syncs", "TRUE", nil, 3},
		{"the payments", "transactions", "TRUE", nil, 3},
		{"the ledger", "ledger_entries", "TRUE", nil, entries},
		{"the old delivered deliveries", "webhook_deliveries", "state = 'delivered' AND updated_at < $1", []any{micros(cutoff)}, 0},
		{"the undelivered and recent deliveries", "webhook_deliveries", "TRUE", nil, 3},
	} {
		if n := count(t, db, c.table, c.cond, c.args...); n != c.want {
			t.Errorf("%s: %d rows, want %d", c.what, n, c.want)
		}
	}
	st, err := db.State(ctx)
	if err != nil || len(st.LastNotification) != 3 || !st.LastNotification[mallB].Equal(fromMicros(micros(old.Add(3*time.Second)))) {
		t.Errorf("after a purge, the last notification of each mall: %v, %v", st.LastNotification, err)
	}
	if again, err := db.Purge(ctx, cfg); err != nil || again[TableNotifications]+again[TableSyncAttempts]+again[TableDeliveries] != 0 {
		t.Errorf("a purge again deleted %v, %v; want nothing", again, err)
	}
	if _, err := db.Purge(ctx, PurgeConfig{Before: now.Add(-MinRetention + time.Minute)}); err == nil {
		t.Error("a cutoff less than MinRetention ago was taken")
	}
}

package storage

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Retention. Three tables record what happened around the ledger and grow
// with every payment: notifications (one row per delivery id), sync
// attempts (one row per call to WeChat Pay) and webhook deliveries (one row
// per event and webhook). Purge deletes their rows older than a cutoff, a
// bounded batch per statement: of the deliveries, those delivered only (a
// redelivery makes new ones from the events, which are kept with the
// ledger). The ledger, and everything
// it refers to (members, payments, refunds, adjustments, syncs), is never
// purged; neither is the audit log (append-only) nor the refusals (one row
// per refused notification, few).

// MinRetention is the shortest age at which rows may be purged. WeChat Pay
// delivers a notification again for 24h4m, and a repeat is known by its id
// in notifications: a purged id would be taken again. Two days leave a day
// of margin for clocks and late retries.
const MinRetention = 48 * time.Hour

// DefaultPurgeBatch bounds the rows one statement of a purge deletes.
const DefaultPurgeBatch = 1000

// The tables a purge deletes from, as PurgeConfig.After and Purged name them.
const (
	TableNotifications = "notifications"
	TableSyncAttempts  = "sync_attempts"
	TableDeliveries    = "webhook_deliveries"
)

// PurgeConfig says what a purge deletes and at what pace.
type PurgeConfig struct {
	// Before is the cutoff: rows recorded before it go. It must be at least
	// MinRetention ago.
	Before time.Time
	// Batch bounds the rows one statement deletes; 0 means
	// DefaultPurgeBatch.
	Batch int
	// After, if set, is called after each statement with its table and the
	// rows it deleted; an error ends the purge there. The daily job pauses
	// in it, so that a large backlog leaves the database to the intake
	// between statements.
	After func(ctx context.Context, table string, deleted int64) error
}

// Purged counts the rows one purge deleted, by table.
type Purged map[string]int64

// The purge's statements; indexes_test.go checks each one's plan.
const (
	// A mall's notifications received before $2, oldest first, through
	// notifications_by_mall_time.
	qPurgeNotifications = `DELETE FROM notifications WHERE id IN (
		SELECT id FROM notifications WHERE mall = $1 AND received_at < $2 ORDER BY received_at LIMIT $3)`
	// The next attempts by id: ids grow with time, give or take the
	// replicas' clocks, so the oldest rows come first.
	qAttemptsAfter = `SELECT id, at FROM sync_attempts WHERE id > $1 ORDER BY id LIMIT $2`
	// The attempts of an id range older than $3, but those of a sync still
	// open (pending, parked or synced_unconfirmed): a retry of it reads
	// them (HadUnknownOutcome).
	qPurgeAttempts = `DELETE FROM sync_attempts WHERE id > $1 AND id <= $2 AND at < $3
		AND sync_id NOT IN (SELECT id FROM syncs WHERE state IN ($4, $5, $6))`
	// Deliveries delivered before $1, oldest first, through webhook_delivered.
	qPurgeDeliveries = `DELETE FROM webhook_deliveries WHERE (webhook, seq) IN (
		SELECT webhook, seq FROM webhook_deliveries WHERE state = 'delivered' AND updated_at < $1
		ORDER BY updated_at LIMIT $2)`
)

// Purge deletes the notifications and sync attempts recorded before
// cfg.Before, at most cfg.Batch rows per statement, each statement its own
// transaction. It keeps each mall's newest notification, whatever its age,
// so the time of a mall's last notification (State) survives a purge. It
// is idempotent, and resumable: a purge cut short deleted the oldest rows,
// and the next one starts from the oldest left.
func (db *DB) Purge(ctx context.Context, cfg PurgeConfig) (Purged, error) {
	if limit := time.Now().Add(-MinRetention); cfg.Before.After(limit) {
		return nil, fmt.Errorf("storage: purge: a cutoff of %s is less than %s ago; WeChat Pay redelivers notifications for 24h4m",
			cfg.Before.Format(time.RFC3339), MinRetention)
	}
	cfg.Batch = cmp.Or(cfg.Batch, DefaultPurgeBatch)
	if cfg.After == nil {
		cfg.After = func(context.Context, string, int64) error { return nil }
	}
	purged := Purged{TableNotifications: 0, TableSyncAttempts: 0, TableDeliveries: 0}
	n, err := db.purgeNotifications(ctx, cfg)
	purged[TableNotifications] = n
	if err != nil {
		return purged, err
	}
	n, err = db.purgeAttempts(ctx, cfg)
	purged[TableSyncAttempts] = n
	if err != nil {
		return purged, err
	}
	n, err = db.purgeDeliveries(ctx, cfg)
	purged[TableDeliveries] = n
	return purged, err
}

// purgeDeliveries deletes the webhook deliveries delivered before the
// cutoff.
func (db *DB) purgeDeliveries(ctx context.Context, cfg PurgeConfig) (int64, error) {
	var total int64
	for {
		n, err := db.exec(ctx, qPurgeDeliveries, micros(cfg.Before), cfg.Batch)
		if err != nil {
			return total, fmt.Errorf("storage: purge webhook deliveries: %w", err)
		}
		total += n
		if err := cfg.After(ctx, TableDeliveries, n); err != nil {
			return total, err
		}
		if n < int64(cfg.Batch) {
			return total, nil
		}
	}
}

// purgeNotifications deletes each mall's notifications received before the
// cutoff and before its newest, mall by mall.
func (db *DB) purgeNotifications(ctx context.Context, cfg PurgeConfig) (int64, error) {
	last, err := db.lastNotifications(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, mall := range slices.Sorted(maps.Keys(last)) {
		before := micros(cfg.Before)
		if newest := micros(last[mall]); newest < before {
			before = newest
		}
		for {
			n, err := db.exec(ctx, qPurgeNotifications, mall, before, cfg.Batch)
			if err != nil {
				return total, fmt.Errorf("storage: purge notifications: %w", err)
			}
			total += n
			if err := cfg.After(ctx, TableNotifications, n); err != nil {
				return total, err
			}
			if n < int64(cfg.Batch) {
				break
			}
		}
	}
	return total, nil
}

// purgeAttempts deletes the sync attempts made before the cutoff, in id
// order, and stops at the first attempt made after it.
func (db *DB) purgeAttempts(ctx context.Context, cfg PurgeConfig) (int64, error) {
	before := micros(cfg.Before)
	var total, after int64
	for {
		rs, err := db.query(ctx, qAttemptsAfter, after, cfg.Batch)
		if err != nil {
			return total, fmt.Errorf("storage: purge sync attempts: %w", err)
		}
		type attempt struct{ id, at int64 }
		next, err := collect(rs, func(r row) (attempt, error) {
			var a attempt
			return a, r.Scan(&a.id, &a.at)
		})
		if err != nil {
			return total, fmt.Errorf("storage: purge sync attempts: %w", err)
		}
		old := 0 // the leading attempts made before the cutoff
		for old < len(next) && next[old].at < before {
			old++
		}
		if old == 0 {
			return total, nil
		}
		upTo := next[old-1].id
		n, err := db.exec(ctx, qPurgeAttempts, after, upTo, before, SyncPending, SyncParked, SyncUnconfirmed)
		if err != nil {
			return total, fmt.Errorf("storage: purge sync attempts: %w", err)
		}
		total += n
		if err := cfg.After(ctx, TableSyncAttempts, n); err != nil {
			return total, err
		}
		if old < len(next) || len(next) < cfg.Batch {
			return total, nil
		}
		after = upTo
	}
}

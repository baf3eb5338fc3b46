package storage

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// State is what the metrics read from the database at scrape time: the
// outbox's backlog and how long each mall has been silent. Every replica
// reads the same rows, so the figures agree whichever replica is scraped.
type State struct {
	// Pending is the number of syncs waiting to be sent or retried, and
	// OldestPending the creation time of the oldest of them (zero when none).
	Pending       int64
	OldestPending time.Time
	// Parked is the number of syncs waiting for a person.
	Parked int64
	// LedgerEntries is the number of ledger entries ever written (they are
	// never deleted), read from a count kept as they are written
	// (dialect.entryCount).
	LedgerEntries int64
	// LastNotification is, per mall, when its last notification arrived:
	// every mall that ever sent one, since a purge keeps each mall's newest.
	LastNotification map[string]time.Time
	// Decisions counts the payments and refunds waiting for their mall's
	// CRM, by state (DecisionPending, DecisionParked), and OldestDecision
	// is when the oldest pending one arrived (zero when none).
	Decisions      map[string]int64
	OldestDecision time.Time
	// Deliveries counts the webhook deliveries not yet delivered, by state
	// (DeliveryPending, DeliveryParked).
	Deliveries map[string]int64
	// OldestAuthorizationCheck is the oldest authorisation check among the
	// members active in the last ActiveWindow, a member never checked
	// counting from when it was first seen; zero when none is active.
	OldestAuthorizationCheck time.Time
}

// ActiveWindow is how recent a member's last payment or activation must
// be for the re-check of authorisations to keep its state current.
const ActiveWindow = 30 * 24 * time.Hour

// The scrape-time queries; indexes_test.go checks each one's plan.
const (
	qBacklog    = `SELECT COUNT(*), COALESCE(MIN(created_at), 0) FROM syncs WHERE state = $1`
	qCountState = `SELECT COUNT(*) FROM syncs WHERE state = $1`
	// The first row of members_recheck among the active members.
	qOldestCheck = `SELECT authorize_checked_at, created_at FROM members WHERE active_at > 0 AND active_at >= $1
		ORDER BY authorize_checked_at, active_at LIMIT 1`
	// A recursive query walks the distinct malls of the index, so the cost
	// grows with the number of malls, not of notifications.
	qLastNotifications = `WITH RECURSIVE malls (mall) AS (
			SELECT MIN(mall) FROM notifications
			UNION ALL
			SELECT (SELECT MIN(n.mall) FROM notifications n WHERE n.mall > malls.mall) FROM malls WHERE malls.mall IS NOT NULL
		)
		SELECT mall, (SELECT MAX(n.received_at) FROM notifications n WHERE n.mall = malls.mall)
		FROM malls WHERE mall IS NOT NULL`
)

// State reads the state the metrics report. Each query is a seek or a
// range scan on an index: syncs_by_state for the backlog and the parked
// syncs, the malls' entry counts or the last seq for the entries, a loose scan of
// notifications_by_mall_time (one seek per mall) for the last notification,
// and the partial indexes of undecided payments and refunds.
func (db *DB) State(ctx context.Context) (State, error) {
	var st State
	var oldest int64
	if err := db.queryRow(ctx, qBacklog, SyncPending).Scan(&st.Pending, &oldest); err != nil {
		return st, fmt.Errorf("storage: pending syncs: %w", err)
	}
	st.OldestPending = fromMicros(oldest)
	if err := db.queryRow(ctx, qCountState, SyncParked).Scan(&st.Parked); err != nil {
		return st, fmt.Errorf("storage: parked syncs: %w", err)
	}
	if err := db.queryRow(ctx, db.dialect.entryCount).Scan(&st.LedgerEntries); err != nil {
		return st, fmt.Errorf("storage: ledger entries: %w", err)
	}
	last, err := db.lastNotifications(ctx)
	if err != nil {
		return st, err
	}
	st.LastNotification = last
	counts, since, err := db.DecisionCounts(ctx, nil)
	if err != nil {
		return st, err
	}
	st.Decisions, st.OldestDecision = counts, since[DecisionPending]
	if st.Deliveries, err = db.DeliveryCounts(ctx); err != nil {
		return st, err
	}
	var checked, created int64
	switch err := noRows(db.queryRow(ctx, qOldestCheck, micros(time.Now().Add(-ActiveWindow))).Scan(&checked, &created)); {
	case err == nil && checked > 0:
		st.OldestAuthorizationCheck = fromMicros(checked)
	case err == nil:
		st.OldestAuthorizationCheck = fromMicros(created)
	case !errors.Is(err, ErrNotFound):
		return st, fmt.Errorf("storage: oldest authorisation check: %w", err)
	}
	return st, nil
}

// lastNotifications reads when each mall's last notification arrived, by
// a loose scan of notifications_by_mall_time.
func (db *DB) lastNotifications(ctx context.Context) (map[string]time.Time, error) {
	rs, err := db.query(ctx, qLastNotifications)
	if err != nil {
		return nil, fmt.Errorf("storage: last notifications: %w", err)
	}
	type last struct {
		mall string
		at   int64
	}
	list, err := collect(rs, func(r row) (last, error) {
		var l last
		return l, r.Scan(&l.mall, &l.at)
	})
	if err != nil {
		return nil, fmt.Errorf("storage: last notifications: %w", err)
	}
	out := make(map[string]time.Time, len(list))
	for _, l := range list {
		out[l.mall] = fromMicros(l.at)
	}
	return out, nil
}

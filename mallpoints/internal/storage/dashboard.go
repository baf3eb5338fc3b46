package storage

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// The dashboard's queries; indexes_test.go checks each one's plan. Each
// reads every mall as written; for an account confined to some malls, a
// condition on them goes at the end of the WHERE clause (before the
// ...End part where there is one).
const (
	qPayments = `SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM transactions WHERE created_at >= $1 AND created_at < $2`
	qPoints   = `SELECT COALESCE(SUM(CASE WHEN points > 0 THEN points ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN points < 0 THEN -points ELSE 0 END), 0) FROM ledger_entries
		WHERE created_at >= $1 AND created_at < $2`
	qLags        = `SELECT synced_at - created_at FROM syncs WHERE synced_at > 0 AND synced_at >= $1 AND synced_at < $2`
	qHourlyWhere = `SELECT (created_at - $1) / $3, COUNT(*), COALESCE(SUM(points), 0) FROM transactions
		WHERE created_at >= $1 AND created_at < $2`
	qHourlyEnd            = ` GROUP BY 1`
	qHourly               = qHourlyWhere + qHourlyEnd
	qMembersByOpenIDWhere = `SELECT ` + memberColumns + ` FROM members WHERE openid = $1`
	qMembersByOpenIDEnd   = ` ORDER BY mall`
	qMembersByOpenID      = qMembersByOpenIDWhere + qMembersByOpenIDEnd
	qEntriesBetweenWhere  = `SELECT ` + entryColumns + ` FROM ledger_entries
		WHERE created_at >= $1 AND created_at < $2 AND seq > $3`
	qEntriesBetweenEnd = ` ORDER BY seq LIMIT $4`
	qEntriesBetween    = qEntriesBetweenWhere + qEntriesBetweenEnd
)

// Overview sums up a period for the dashboard: the payments that arrived in
// it, the points the ledger gave and took, and how fast syncs went out.
type Overview struct {
	Payments       int64 // payments recorded in the period
	Amount         int64 // their amounts, in fen
	PointsIssued   int64 // the sum of the period's positive ledger entries
	PointsDeducted int64 // the sum of its negative entries, as a positive number
	Pending        int64 // syncs waiting to be sent or retried, now
	Parked         int64 // syncs waiting for a person, now
	Unconfirmed    int64 // syncs synced_unconfirmed, now
	Synced         int64 // syncs that went out in the period
	// LagP50 and LagP99 are percentiles of the time from a sync's creation
	// (the payment's commit) to WeChat Pay's 204, over the syncs done in the
	// period; zero when there were none.
	LagP50, LagP99 time.Duration
}

// Overview reads the summary of [from, to) over scope's malls. Each query
// is a range scan of a time index (transactions_by_time, ledger_by_time,
// syncs_by_synced) or of syncs_by_state.
func (db *DB) Overview(ctx context.Context, scope Malls, from, to time.Time) (Overview, error) {
	var o Overview
	f, t := micros(from), micros(to)
	in, args := scope.and("mall", 3)
	if err := db.queryRow(ctx, qPayments+in, append([]any{f, t}, args...)...).Scan(&o.Payments, &o.Amount); err != nil {
		return o, fmt.Errorf("storage: overview payments: %w", err)
	}
	if err := db.queryRow(ctx, qPoints+in, append([]any{f, t}, args...)...).Scan(&o.PointsIssued, &o.PointsDeducted); err != nil {
		return o, fmt.Errorf("storage: overview points: %w", err)
	}
	stateIn, stateArgs := scope.and("mall", 2)
	for _, c := range []struct {
		state string
		n     *int64
	}{{SyncPending, &o.Pending}, {SyncParked, &o.Parked}, {SyncUnconfirmed, &o.Unconfirmed}} {
		if err := db.queryRow(ctx, qCountState+stateIn, append([]any{c.state}, stateArgs...)...).Scan(c.n); err != nil {
			return o, fmt.Errorf("storage: overview syncs: %w", err)
		}
	}
	rs, err := db.query(ctx, qLags+in, append([]any{f, t}, args...)...)
	if err != nil {
		return o, fmt.Errorf("storage: overview lag: %w", err)
	}
	lags, err := collect(rs, func(r row) (int64, error) {
		var us int64
		return us, r.Scan(&us)
	})
	if err != nil {
		return o, fmt.Errorf("storage: overview lag: %w", err)
	}
	o.Synced = int64(len(lags))
	slices.Sort(lags)
	o.LagP50 = time.Duration(percentile(lags, 50)) * time.Microsecond
	o.LagP99 = time.Duration(percentile(lags, 99)) * time.Microsecond
	return o, nil
}

// percentile is the nearest-rank p-th percentile of sorted; 0 when empty.
func percentile(sorted []int64, p int) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 × n), 1-based
	return sorted[max(rank, 1)-1]
}

// Hour is one hour of the dashboard's chart.
type Hour struct {
	Start    time.Time
	Payments int64 // payments recorded in the hour
	Points   int64 // points they earned
}

// Hourly returns n hours of the payments of scope's malls from from on, one
// Hour per hour, empty hours included. It is one range scan of
// transactions_by_time.
func (db *DB) Hourly(ctx context.Context, scope Malls, from time.Time, n int) ([]Hour, error) {
	const hourUS = int64(time.Hour / time.Microsecond)
	f := micros(from)
	in, args := scope.and("mall", 4)
	rs, err := db.query(ctx, qHourlyWhere+in+qHourlyEnd, append([]any{f, f + int64(n)*hourUS, hourUS}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("storage: hourly payments: %w", err)
	}
	type bucket struct{ i, payments, points int64 }
	list, err := collect(rs, func(r row) (bucket, error) {
		var b bucket
		return b, r.Scan(&b.i, &b.payments, &b.points)
	})
	if err != nil {
		return nil, fmt.Errorf("storage: hourly payments: %w", err)
	}
	hours := make([]Hour, n)
	for i := range hours {
		hours[i].Start = from.Add(time.Duration(i) * time.Hour).UTC()
	}
	for _, b := range list {
		if b.i >= 0 && b.i < int64(n) {
			hours[b.i].Payments, hours[b.i].Points = b.payments, b.points
		}
	}
	return hours, nil
}

// MembersByOpenID finds an openid in every mall of scope (members_by_openid).
func (db *DB) MembersByOpenID(ctx context.Context, scope Malls, openid string) ([]Member, error) {
	in, args := scope.and("mall", 2)
	rs, err := db.query(ctx, qMembersByOpenIDWhere+in+qMembersByOpenIDEnd, append([]any{openid}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("storage: members by openid: %w", err)
	}
	return collect(rs, scanMember)
}

// EntriesBetween lists the entries of scope's malls written in [from, to)
// numbered above after, in seq order, at most limit: the pages of a
// day's export (ledger_by_time).
func (db *DB) EntriesBetween(ctx context.Context, scope Malls, from, to time.Time, after int64, limit int) ([]Entry, error) {
	in, args := scope.and("mall", 5)
	rs, err := db.query(ctx, qEntriesBetweenWhere+in+qEntriesBetweenEnd, append([]any{micros(from), micros(to), after, limit}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("storage: entries of the day: %w", err)
	}
	return collect(rs, scanEntry)
}

package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The dashboard's queries; indexes_test.go checks each one's plan. Each
// reads every mall as written; for an account confined to some malls, a
// condition on them goes at the end of the WHERE clause (before the
// ...End part where there is one).
const (
	qPayments    = `SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM transactions WHERE created_at >= $1 AND created_at < $2`
	qPointsWhere = `SELECT kind, ` + qPointSums + ` FROM ledger_entries WHERE created_at >= $1 AND created_at < $2`
	qPointsEnd   = ` GROUP BY kind`
	qPoints      = qPointsWhere + qPointsEnd
	qLags        = `SELECT synced_at - created_at FROM syncs WHERE synced_at > 0 AND synced_at >= $1 AND synced_at < $2`
	qHourlyWhere = `SELECT (created_at - $1) / $3, COUNT(*), COALESCE(SUM(points), 0) FROM transactions
		WHERE created_at >= $1 AND created_at < $2`
	qHourlyEnd = ` GROUP BY 1`
	qHourly    = qHourlyWhere + qHourlyEnd
	// qSearchMembers lists members by openid from $1 up to $2 whose
	// openid starts with $4 (of $3 bytes), after the member ($5, $6); with
	// no end ($2 = ''), qSearchMembersAll ends it instead of
	// qSearchMembersEnd. The index is read from $1 to $2 alone.
	qSearchMembers    = `SELECT ` + memberColumns + ` FROM members WHERE openid >= $1 AND substr(openid, 1, $3) = $4 AND NOT (openid = $5 AND mall <= $6)`
	qSearchMembersEnd = ` AND openid < $2`
	qSearchMembersAll = ` AND $2 = ''`
	qSearchMembersBy  = ` ORDER BY openid, mall LIMIT $7`
	qPointTotals      = `SELECT kind, ` + qPointSums + ` FROM ledger_entries WHERE mall = $1 AND openid = $2 GROUP BY kind`
	qPointSums        = `COALESCE(SUM(CASE WHEN points > 0 THEN points ELSE 0 END), 0), COALESCE(SUM(CASE WHEN points < 0 THEN -points ELSE 0 END), 0)`
	qLastSynced       = `SELECT ` + transactionColumns + `, ` + syncColumns + transactionSyncFrom + `
		WHERE t.mall = $1 AND t.openid = $2 AND s.state = $3 ORDER BY s.synced_at DESC, s.id DESC LIMIT 1`
)

// The day's entries of the export.
var (
	// qEntriesBetween reads a day's entries with the shop and the amount
	// of the payment or refund each is for (transactions' and refunds'
	// primary keys).
	qEntriesBetweenWhere = `SELECT ` + entryColumnsOf("e") + `, COALESCE(t.shop_number, ''), COALESCE(t.shop_name, ''),
		COALESCE(r.refund_amount, t.amount, 0) FROM ledger_entries e
		LEFT JOIN transactions t ON t.mall = e.mall AND t.transaction_id = e.transaction_id AND e.transaction_id <> ''
		LEFT JOIN refunds r ON r.mall = e.mall AND r.refund_id = e.refund_id AND e.refund_id <> ''
		WHERE e.created_at >= $1 AND e.created_at < $2 AND e.seq > $3`
	qEntriesBetweenEnd = ` ORDER BY e.seq LIMIT $4`
	qEntriesBetween    = qEntriesBetweenWhere + qEntriesBetweenEnd
)

// entryColumnsOf is entryColumns of the table named alias.
func entryColumnsOf(alias string) string {
	cols := strings.Fields(strings.ReplaceAll(entryColumns, ",", " "))
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}

// Overview sums up a period for the dashboard: the payments that arrived in
// it, the points the ledger gave and took, and how fast syncs went out.
type Overview struct {
	Payments    int64       // payments recorded in the period
	Amount      int64       // their amounts, in fen
	Points      PointTotals // the period's ledger entries
	Pending     int64       // syncs waiting to be sent or retried, now
	Parked      int64       // syncs waiting for a person, now
	Unconfirmed int64       // syncs synced_unconfirmed, now
	Synced      int64       // syncs that went out in the period
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
	rs, err := db.query(ctx, qPointsWhere+in+qPointsEnd, append([]any{f, t}, args...)...)
	if err != nil {
		return o, fmt.Errorf("storage: overview points: %w", err)
	}
	if o.Points, err = pointTotals(rs); err != nil {
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
	if rs, err = db.query(ctx, qLags+in, append([]any{f, t}, args...)...); err != nil {
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

// PointTotals add up ledger entries by what caused them: the points
// earned by payments and credited by adjustments (corrections), and the
// points deducted, split into refunds, redemptions (adjustments that
// deduct) and expiry.
type PointTotals struct {
	Earned   int64 // earn entries
	Credited int64 // adjustments that add points
	Refunded int64 // refund entries, as a positive number
	Redeemed int64 // adjustments that deduct points, as a positive number
	Expired  int64 // expire entries, as a positive number
}

// Issued is every point given.
func (p PointTotals) Issued() int64 { return p.Earned + p.Credited }

// Deducted is every point taken, as a positive number.
func (p PointTotals) Deducted() int64 { return p.Refunded + p.Redeemed + p.Expired }

// pointTotals reads rows of (kind, sum of gains, sum of losses).
func pointTotals(rs rows) (PointTotals, error) {
	type sums struct {
		kind       string
		gain, loss int64
	}
	list, err := collect(rs, func(r row) (sums, error) {
		var s sums
		return s, r.Scan(&s.kind, &s.gain, &s.loss)
	})
	var p PointTotals
	for _, s := range list {
		switch s.kind {
		case EntryEarn:
			p.Earned += s.gain
		case EntryRefund:
			p.Refunded += s.loss
		case EntryExpire:
			p.Expired += s.loss
		case EntryAdjustment:
			p.Credited += s.gain
			p.Redeemed += s.loss
		}
		// Entries of another kind cannot be written: AppendEntry's callers
		// name one of the four.
	}
	return p, err
}

// MemberPointTotals adds up a member's ledger entries by cause
// (ledger_by_member).
func (db *DB) MemberPointTotals(ctx context.Context, mall, openid string) (PointTotals, error) {
	rs, err := db.query(ctx, qPointTotals, mall, openid)
	if err != nil {
		return PointTotals{}, fmt.Errorf("storage: member point totals: %w", err)
	}
	p, err := pointTotals(rs)
	if err != nil {
		return p, fmt.Errorf("storage: member point totals: %w", err)
	}
	return p, nil
}

// SearchMembers lists the members of scope's malls whose openid starts
// with prefix ("" lists every member), by openid and then mall, after the
// member after (the zero MemberRef: from the first), at most limit. It
// reads members_by_openid from the prefix to the first openid past it, in
// the byte order of the openids (SQLite's, and PostgreSQL's in a database
// of collation C or C.UTF-8; deploy.md says so).
func (db *DB) SearchMembers(ctx context.Context, scope Malls, prefix string, after MemberRef, limit int) ([]Member, error) {
	q, end := qSearchMembers+qSearchMembersEnd, prefixEnd(prefix)
	if end == "" {
		q = qSearchMembers + qSearchMembersAll
	}
	in, args := scope.and("mall", 8)
	rs, err := db.query(ctx, q+in+qSearchMembersBy, append([]any{max(prefix, after.OpenID), end, len(prefix), prefix,
		after.OpenID, after.Mall, limit}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("storage: search members: %w", err)
	}
	return collect(rs, scanMember)
}

// prefixEnd is the first string past every string that starts with
// prefix, in byte order: prefix with its last character's code point one
// higher (a character already at the top is dropped first); "" when there
// is none.
func prefixEnd(prefix string) string {
	for prefix != "" {
		r, size := utf8.DecodeLastRuneInString(prefix)
		prefix = prefix[:len(prefix)-size]
		switch {
		case r == utf8.RuneError && size == 1:
			continue
		case r == 0xD7FF:
			return prefix + string(rune(0xE000)) // past the surrogates, which UTF-8 cannot hold
		case r < utf8.MaxRune:
			return prefix + string(r+1)
		}
	}
	return ""
}

// LastSynced is a member's payment whose points sync WeChat Pay accepted
// last, with the member's total as WeChat Pay last heard it.
type LastSynced struct {
	TransactionID string
	// Total is the total_points of the sync WeChat Pay accepted (the
	// member's balance when it was sent, or the total the mall's CRM gave);
	// for a sync accepted before the service recorded that, the payment's
	// own figure: the CRM's total, else the balance right after it.
	Total int64
	At    time.Time // when WeChat Pay accepted the sync
}

// LastSynced finds the member's payment synced last; ErrNotFound when none
// was (transactions_by_member_day, then each payment's sync by its key).
func (db *DB) LastSynced(ctx context.Context, mall, openid string) (LastSynced, error) {
	t, err := scanTransactionSync(db.queryRow(ctx, qLastSynced, mall, openid, SyncSynced))
	if err != nil {
		return LastSynced{}, err
	}
	ls := LastSynced{TransactionID: t.TransactionID, Total: t.TotalPoints, At: t.Sync.SyncedAt}
	switch {
	case t.Sync.SyncedTotal != nil:
		ls.Total = *t.Sync.SyncedTotal
	case t.CRMTotal != nil:
		ls.Total = *t.CRMTotal
	}
	return ls, nil
}

// DayEntry is a ledger entry as a day's export lists it: with the shop of
// its payment and the amount of its payment or refund.
type DayEntry struct {
	Entry
	ShopNumber, ShopName string
	Amount               int64 // in fen: the refund's for a refund, the payment's for an earning; 0 for others
}

// EntriesBetween lists the entries of scope's malls written in [from, to)
// numbered above after, in seq order, at most limit: the pages of a
// day's export (ledger_by_time).
func (db *DB) EntriesBetween(ctx context.Context, scope Malls, from, to time.Time, after int64, limit int) ([]DayEntry, error) {
	in, args := scope.and("e.mall", 5)
	rs, err := db.query(ctx, qEntriesBetweenWhere+in+qEntriesBetweenEnd, append([]any{micros(from), micros(to), after, limit}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("storage: entries of the day: %w", err)
	}
	return collect(rs, func(r row) (DayEntry, error) {
		var d DayEntry
		var err error
		d.Entry, err = scanEntry(extraRow{r, []any{&d.ShopNumber, &d.ShopName, &d.Amount}})
		return d, err
	})
}

// extraRow scans a row of some type's columns followed by extra ones, with
// that type's scan function.
type extraRow struct {
	row
	extra []any
}

func (r extraRow) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra...)...) }

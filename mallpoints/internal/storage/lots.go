package storage

import (
	"context"
	"fmt"
	"time"
)

// EntryExpire is the kind of the entry that expires a member's due lots in
// one expiry run; its IdempotencyKey is ExpireKey(asOf).
const EntryExpire = "expire"

// ExpireKey is the idempotency key of the expire entry of the run as of a
// Beijing date (2027-01-01): one per member and run.
func ExpireKey(asOf string) string { return "expire:" + asOf }

// Lot sources: what wrote a lot.
const (
	LotFromTransaction = "tx:"  // and the transaction_id
	LotFromAdjustment  = "adj:" // and the Idempotency-Key
)

// Lot is points earned together, with the expiry fixed when they were
// written. Remaining = Points - Consumed - Expired, never below zero.
type Lot struct {
	Mall      string    `json:"mall"`
	OpenID    string    `json:"openid"`
	Source    string    `json:"source"`
	EarnedAt  time.Time `json:"earned_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"` // zero: never
	Points    int64     `json:"points"`
	Consumed  int64     `json:"consumed"`
	Expired   int64     `json:"expired"`
	// Excused is the part of Expired that the lot's own refunds did not
	// deduct again.
	Excused int64 `json:"excused"`
}

// Remaining is what is left of the lot to consume or expire.
func (l Lot) Remaining() int64 { return l.Points - l.Consumed - l.Expired }

const lotColumns = `mall, openid, source, earned_at, expires_at, points, consumed, expired, excused`

func scanLot(r row) (Lot, error) {
	var l Lot
	var earned, expires int64
	err := r.Scan(&l.Mall, &l.OpenID, &l.Source, &earned, &expires, &l.Points, &l.Consumed, &l.Expired, &l.Excused)
	l.EarnedAt, l.ExpiresAt = fromMicros(earned), fromMicros(expires)
	return l, noRows(err)
}

// InsertLot writes a new lot of points. Call it under the member's lock.
func (tx *Tx) InsertLot(ctx context.Context, l Lot) error {
	if l.Points <= 0 {
		return nil
	}
	_, err := tx.exec(ctx, `INSERT INTO point_lots (`+lotColumns+`) VALUES ($1, $2, $3, $4, $5, $6, 0, 0, 0)`,
		l.Mall, l.OpenID, l.Source, micros(l.EarnedAt), micros(l.ExpiresAt), l.Points)
	if err != nil {
		return fmt.Errorf("storage: write lot: %w", err)
	}
	return nil
}

// Lot reads one lot by its source, inside tx.
func (tx *Tx) Lot(ctx context.Context, mall, source string) (Lot, error) {
	return scanLot(tx.queryRow(ctx, `SELECT `+lotColumns+` FROM point_lots WHERE mall = $1 AND source = $2`, mall, source))
}

// MemberLots lists a member's lots, first in first.
func (db *DB) MemberLots(ctx context.Context, mall, openid string) ([]Lot, error) {
	rs, err := db.query(ctx, `SELECT `+lotColumns+` FROM point_lots WHERE mall = $1 AND openid = $2
		ORDER BY earned_at, source`, mall, openid)
	if err != nil {
		return nil, fmt.Errorf("storage: lots: %w", err)
	}
	return collect(rs, scanLot)
}

// Consume takes n points from a member's lots: from the lot first (its own
// payment's, for a refund; "" for none), then first in, first out. It
// returns what it could not take, which is 0 when the balance covers n (the
// balance is the sum of what remains of the lots). Call it under the
// member's lock.
func (tx *Tx) Consume(ctx context.Context, mall, openid, first string, n int64) (short int64, err error) {
	if n <= 0 {
		return 0, nil
	}
	rs, err := tx.query(ctx, `SELECT `+lotColumns+` FROM point_lots
		WHERE mall = $1 AND openid = $2 AND consumed + expired < points
		ORDER BY CASE WHEN source = $3 THEN 0 ELSE 1 END, earned_at, source`, mall, openid, first)
	if err != nil {
		return n, fmt.Errorf("storage: lots to consume: %w", err)
	}
	lots, err := collect(rs, scanLot)
	if err != nil {
		return n, fmt.Errorf("storage: lots to consume: %w", err)
	}
	for _, l := range lots {
		if n == 0 {
			break
		}
		take := min(n, l.Remaining())
		if _, err := tx.exec(ctx, `UPDATE point_lots SET consumed = consumed + $3 WHERE mall = $1 AND source = $2`,
			mall, l.Source, take); err != nil {
			return n, fmt.Errorf("storage: consume lot: %w", err)
		}
		n -= take
	}
	return n, nil
}

// Excuse records that up to n points of a lot's expired part are not to be
// deducted again by its refunds, and returns how many were: what expired and
// was not excused before.
func (tx *Tx) Excuse(ctx context.Context, mall, source string, n int64) (int64, error) {
	l, err := tx.Lot(ctx, mall, source)
	if err == ErrNotFound || n <= 0 {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("storage: lot: %w", err)
	}
	x := min(n, l.Expired-l.Excused)
	if x <= 0 {
		return 0, nil
	}
	_, err = tx.exec(ctx, `UPDATE point_lots SET excused = excused + $3 WHERE mall = $1 AND source = $2`, mall, source, x)
	if err != nil {
		return 0, fmt.Errorf("storage: excuse lot: %w", err)
	}
	return x, nil
}

const qExpireDue = `SELECT COALESCE(SUM(points - consumed - expired), 0) FROM point_lots
	WHERE mall = $1 AND openid = $2 AND expires_at > 0 AND expires_at <= $3 AND consumed + expired < points`

// ExpireDue expires what remains of a member's lots due at or before asOf
// and returns how many points that was. Call it under the member's lock.
func (tx *Tx) ExpireDue(ctx context.Context, mall, openid string, asOf time.Time) (int64, error) {
	var due int64
	err := tx.queryRow(ctx, qExpireDue, mall, openid, micros(asOf)).Scan(&due)
	if err != nil || due == 0 {
		return 0, noRows(err)
	}
	_, err = tx.exec(ctx, `UPDATE point_lots SET expired = points - consumed
		WHERE mall = $1 AND openid = $2 AND expires_at > 0 AND expires_at <= $3 AND consumed + expired < points`,
		mall, openid, micros(asOf))
	if err != nil {
		return 0, fmt.Errorf("storage: expire lots: %w", err)
	}
	return due, nil
}

// MemberRef names a member of a mall.
type MemberRef struct {
	Mall   string `json:"mall"`
	OpenID string `json:"openid"`
}

const qMembersDue = `SELECT DISTINCT mall, openid FROM point_lots
	WHERE expires_at > 0 AND expires_at <= $1 AND consumed + expired < points AND (mall, openid) > ($2, $3)
	ORDER BY mall, openid LIMIT $4`

// MembersDue lists, in (mall, openid) order after the member after, at most
// limit members with points due to expire at or before asOf: one batch of
// an expiry run. It walks point_lots_due_by_member from after, so a run
// reads each lot once however many batches it takes.
func (db *DB) MembersDue(ctx context.Context, asOf time.Time, after MemberRef, limit int) ([]MemberRef, error) {
	rs, err := db.query(ctx, qMembersDue, micros(asOf), after.Mall, after.OpenID, limit)
	if err != nil {
		return nil, fmt.Errorf("storage: members due: %w", err)
	}
	return collect(rs, func(r row) (MemberRef, error) {
		var m MemberRef
		return m, r.Scan(&m.Mall, &m.OpenID)
	})
}

// qHasExpireEntry names the kind as a literal: only then does the
// partial index ledger_expire_once match the query in PostgreSQL's generic
// plan, which a prepared statement comes to keep. With the kind as a
// parameter that plan searched an index on mall alone and read every entry
// of the mall for each member, so that a run slowed as it went.
const qHasExpireEntry = `SELECT EXISTS (SELECT 1 FROM ledger_entries
	WHERE mall = $1 AND openid = $2 AND kind = '` + EntryExpire + `' AND idempotency_key = $3)`

// HasExpireEntry reports whether the member has the expire entry of key.
func (tx *Tx) HasExpireEntry(ctx context.Context, mall, openid, key string) (bool, error) {
	var found bool
	err := tx.queryRow(ctx, qHasExpireEntry, mall, openid, key).Scan(&found)
	return found, err
}

// Expiring sums what remains of a member's lots that expire after from and
// at or before to: the points expiring soon.
func (db *DB) Expiring(ctx context.Context, mall, openid string, from, to time.Time) (int64, error) {
	var n int64
	err := db.queryRow(ctx, `SELECT COALESCE(SUM(points - consumed - expired), 0) FROM point_lots
		WHERE mall = $1 AND openid = $2 AND expires_at > $3 AND expires_at <= $4`,
		mall, openid, micros(from), micros(to)).Scan(&n)
	return n, err
}

// ExpiringInPage is Expiring for every member of the page that Members
// lists with the same scope, mall, after and limit, in one grouped query;
// members with nothing expiring are absent from the map.
func (db *DB) ExpiringInPage(ctx context.Context, scope Malls, mall, after string, limit int, from, to time.Time) (map[MemberRef]int64, error) {
	in, args := scope.and("mall", 6)
	rs, err := db.query(ctx, `SELECT p.mall, p.openid, SUM(l.points - l.consumed - l.expired)
		FROM (SELECT mall, openid FROM members WHERE ($1 = '' OR mall = $1) AND openid > $2`+in+`
			ORDER BY openid, mall LIMIT $3) p
		JOIN point_lots l ON l.mall = p.mall AND l.openid = p.openid AND l.expires_at > $4 AND l.expires_at <= $5
		GROUP BY p.mall, p.openid`, append([]any{mall, after, limit, micros(from), micros(to)}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("storage: expiring: %w", err)
	}
	type due struct {
		ref MemberRef
		n   int64
	}
	list, err := collect(rs, func(r row) (due, error) {
		var x due
		return x, r.Scan(&x.ref.Mall, &x.ref.OpenID, &x.n)
	})
	if err != nil {
		return nil, fmt.Errorf("storage: expiring: %w", err)
	}
	out := make(map[MemberRef]int64, len(list))
	for _, x := range list {
		out[x.ref] = x.n
	}
	return out, nil
}

// LotTotals are the sums of a member's lots: Earned = Consumed + Expired +
// what remains, which must equal the balance.
type LotTotals struct {
	Earned, Consumed, Expired int64
}

// MemberLotTotals sums a member's lots.
func (db *DB) MemberLotTotals(ctx context.Context, mall, openid string) (LotTotals, error) {
	var t LotTotals
	err := db.queryRow(ctx, `SELECT COALESCE(SUM(points), 0), COALESCE(SUM(consumed), 0), COALESCE(SUM(expired), 0)
		FROM point_lots WHERE mall = $1 AND openid = $2`, mall, openid).Scan(&t.Earned, &t.Consumed, &t.Expired)
	return t, err
}

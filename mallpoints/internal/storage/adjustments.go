package storage

import (
	"context"
	"fmt"
	"time"
)

// Adjustment is a change of balance made in the mall's own systems (a
// redemption, a correction), kept once per Idempotency-Key.
type Adjustment struct {
	Mall           string    `json:"mall"`
	IdempotencyKey string    `json:"idempotency_key"`
	RequestHash    string    `json:"-"`
	OpenID         string    `json:"openid"`
	Points         int64     `json:"points"`
	Reason         string    `json:"reason"`
	EntrySeq       int64     `json:"entry_seq"`
	CreatedAt      time.Time `json:"created_at"`
	// Actor is who asked for it on the admin surface: an account's name,
	// "token" (the admin token) or "local" (the implicit administrator).
	Actor string `json:"actor"`
}

const adjustmentQuery = `SELECT mall, idempotency_key, request_hash, openid, points, reason, entry_seq, created_at, actor
	FROM adjustments WHERE mall = $1 AND idempotency_key = $2`

func scanAdjustment(r row) (Adjustment, error) {
	var a Adjustment
	var at int64
	err := r.Scan(&a.Mall, &a.IdempotencyKey, &a.RequestHash, &a.OpenID, &a.Points, &a.Reason, &a.EntrySeq, &at, &a.Actor)
	a.CreatedAt = fromMicros(at)
	return a, noRows(err)
}

// Adjustment reads the adjustment made under key, inside tx.
func (tx *Tx) Adjustment(ctx context.Context, mall, key string) (Adjustment, error) {
	return scanAdjustment(tx.queryRow(ctx, adjustmentQuery+tx.db.dialect.forUpdate, mall, key))
}

// Adjustment reads the adjustment made under key.
func (db *DB) Adjustment(ctx context.Context, mall, key string) (Adjustment, error) {
	return scanAdjustment(db.queryRow(ctx, adjustmentQuery, mall, key))
}

// InsertAdjustment writes a unless its key is recorded, and reports whether
// it was new. On PostgreSQL a concurrent transaction writing the same key
// makes it wait, then report false if that one committed.
func (tx *Tx) InsertAdjustment(ctx context.Context, a *Adjustment) (bool, error) {
	a.CreatedAt = time.Now().UTC()
	c, err := tx.exec(ctx, `INSERT INTO adjustments (mall, idempotency_key, request_hash, openid, points, reason,
		entry_seq, created_at, actor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (mall, idempotency_key) DO NOTHING`,
		a.Mall, a.IdempotencyKey, a.RequestHash, a.OpenID, a.Points, a.Reason, a.EntrySeq, micros(a.CreatedAt), a.Actor)
	if err != nil {
		return false, fmt.Errorf("storage: write adjustment: %w", err)
	}
	return c == 1, nil
}

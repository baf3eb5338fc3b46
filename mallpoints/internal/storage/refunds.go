package storage

import (
	"context"
	"fmt"
	"time"
)

// Refund is a refund and the points it deducted.
type Refund struct {
	Mall           string `json:"mall"`
	RefundID       string `json:"refund_id"`
	TransactionID  string `json:"transaction_id"`
	NotificationID string `json:"notification_id"`
	OpenID         string `json:"openid"`
	RefundAmount   int64  `json:"refund_amount"`
	Deducted       int64  `json:"deducted"`
	Shortfall      int64  `json:"shortfall"`
	// Surplus is the part of RefundAmount beyond what was left of the
	// payment's amount: it is not added to the payment's refunded total.
	Surplus   int64     `json:"surplus,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Decision and DecisionNote are as a Transaction's: a refund of a
	// payment whose CRM decides, or of a payment not decided yet, waits
	// for its deduction.
	Decision     string `json:"decision,omitempty"`
	DecisionNote string `json:"decision_note,omitempty"`
}

// InsertRefund writes r unless (mall, refund_id) is known, reporting
// whether it was new.
func (tx *Tx) InsertRefund(ctx context.Context, r *Refund) (bool, error) {
	r.CreatedAt = time.Now().UTC()
	c, err := tx.exec(ctx, `INSERT INTO refunds (mall, refund_id, transaction_id, notification_id, openid,
		refund_amount, deducted, shortfall, surplus, created_at, decision, decision_note)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (mall, refund_id) DO NOTHING`, r.Mall, r.RefundID, r.TransactionID, r.NotificationID, r.OpenID,
		r.RefundAmount, r.Deducted, r.Shortfall, r.Surplus, micros(r.CreatedAt), r.Decision, r.DecisionNote)
	if err != nil {
		return false, fmt.Errorf("storage: write refund: %w", err)
	}
	return c == 1, nil
}

// AddRefund adds a refund's amount (what the payment's amount had left of
// it) and deduction to its payment's totals.
func (tx *Tx) AddRefund(ctx context.Context, mall, transactionID string, amount, deducted int64) error {
	_, err := tx.exec(ctx, `UPDATE transactions SET refunded = refunded + $3, points_deducted = points_deducted + $4
		WHERE mall = $1 AND transaction_id = $2`, mall, transactionID, amount, deducted)
	if err != nil {
		return fmt.Errorf("storage: refund totals: %w", err)
	}
	return nil
}

const refundColumns = `mall, refund_id, transaction_id, notification_id, openid, refund_amount,
	deducted, shortfall, surplus, created_at, decision, decision_note`

func scanRefund(r row) (Refund, error) {
	var f Refund
	var at int64
	err := r.Scan(&f.Mall, &f.RefundID, &f.TransactionID, &f.NotificationID, &f.OpenID, &f.RefundAmount,
		&f.Deducted, &f.Shortfall, &f.Surplus, &at, &f.Decision, &f.DecisionNote)
	f.CreatedAt = fromMicros(at)
	return f, noRows(err)
}

// Refunds lists the refunds of a payment, oldest first.
func (db *DB) Refunds(ctx context.Context, mall, transactionID string) ([]Refund, error) {
	rs, err := db.query(ctx, `SELECT `+refundColumns+` FROM refunds WHERE mall = $1 AND transaction_id = $2
		ORDER BY created_at, refund_id`, mall, transactionID)
	if err != nil {
		return nil, fmt.Errorf("storage: refunds: %w", err)
	}
	return collect(rs, scanRefund)
}

// Refund reads one refund, inside tx.
func (tx *Tx) Refund(ctx context.Context, mall, refundID string) (Refund, error) {
	return scanRefund(tx.queryRow(ctx, `SELECT `+refundColumns+` FROM refunds WHERE mall = $1 AND refund_id = $2`,
		mall, refundID))
}

// UndecidedRefunds lists the refunds of a payment still waiting for their
// deduction, in the order they arrived.
func (tx *Tx) UndecidedRefunds(ctx context.Context, mall, transactionID string) ([]Refund, error) {
	rs, err := tx.query(ctx, `SELECT `+refundColumns+` FROM refunds WHERE mall = $1 AND transaction_id = $2
		AND decision IN ('pending', 'parked') ORDER BY created_at, refund_id`, mall, transactionID)
	if err != nil {
		return nil, fmt.Errorf("storage: undecided refunds: %w", err)
	}
	return collect(rs, scanRefund)
}

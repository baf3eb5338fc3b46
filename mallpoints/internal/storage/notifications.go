package storage

import (
	"context"
	"fmt"
	"time"
)

// Notification is the record of one verified notification.
type Notification struct {
	ID          string    `json:"id"`
	EventType   string    `json:"event_type"`
	Mall        string    `json:"mall"`
	BusinessKey string    `json:"business_key"` // transaction_id, refund_id or openid
	Outcome     string    `json:"outcome"`
	RequestID   string    `json:"request_id,omitempty"`
	ReceivedAt  time.Time `json:"received_at"`
}

// RecordNotification writes n unless its id is known, and reports whether
// it was new. A second delivery of the same id waits here until the first
// one's transaction ends, then finds it.
func (tx *Tx) RecordNotification(ctx context.Context, n Notification) (bool, error) {
	c, err := tx.exec(ctx, `INSERT INTO notifications (id, event_type, mall, business_key, outcome, request_id, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
		n.ID, n.EventType, n.Mall, n.BusinessKey, n.Outcome, n.RequestID, micros(time.Now()))
	if err != nil {
		return false, fmt.Errorf("storage: record notification: %w", err)
	}
	return c == 1, nil
}

// SetNotificationOutcome changes the outcome of a notification recorded in
// this transaction.
func (tx *Tx) SetNotificationOutcome(ctx context.Context, id, outcome string) error {
	_, err := tx.exec(ctx, `UPDATE notifications SET outcome = $2 WHERE id = $1`, id, outcome)
	return err
}

// Notification returns the record of a notification.
func (db *DB) Notification(ctx context.Context, id string) (Notification, error) {
	var n Notification
	var at int64
	err := db.queryRow(ctx, `SELECT id, event_type, mall, business_key, outcome, request_id, received_at
		FROM notifications WHERE id = $1`, id).Scan(&n.ID, &n.EventType, &n.Mall, &n.BusinessKey, &n.Outcome, &n.RequestID, &at)
	n.ReceivedAt = fromMicros(at)
	return n, noRows(err)
}

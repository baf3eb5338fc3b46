package storage

import (
	"context"
	"fmt"
	"time"
)

// Refusal is the dead-letter record of a notification refused at intake:
// which field broke which rule, never the value.
type Refusal struct {
	NotificationID string    `json:"notification_id"`
	EventType      string    `json:"event_type"`
	Mall           string    `json:"mall,omitempty"`
	Field          string    `json:"field"`
	Rule           string    `json:"rule"`
	Deliveries     int       `json:"deliveries"` // how often WeChat Pay delivered it
	FirstAt        time.Time `json:"first_at"`
	LastAt         time.Time `json:"last_at"`
}

// RecordRefusal records one refused delivery of r's notification: the
// first creates its record, each later one counts on it.
func (db *DB) RecordRefusal(ctx context.Context, r Refusal) error {
	now := micros(time.Now())
	_, err := db.exec(ctx, `INSERT INTO refusals (notification_id, event_type, mall, field, rule, deliveries,
		first_at, last_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $6)
		ON CONFLICT (notification_id) DO UPDATE SET deliveries = refusals.deliveries + 1, last_at = $6,
		field = $4, rule = $5`, r.NotificationID, r.EventType, r.Mall, r.Field, r.Rule, now)
	if err != nil {
		return fmt.Errorf("storage: record refusal: %w", err)
	}
	return nil
}

// Refusals lists the refused notifications of scope's malls, the most
// recently delivered first, at most limit.
func (db *DB) Refusals(ctx context.Context, scope Malls, limit int) ([]Refusal, error) {
	in, args := scope.and("mall", 2)
	rs, err := db.query(ctx, `SELECT notification_id, event_type, mall, field, rule, deliveries, first_at, last_at
		FROM refusals WHERE TRUE`+in+` ORDER BY last_at DESC LIMIT $1`, append([]any{limit}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("storage: refusals: %w", err)
	}
	return collect(rs, func(r row) (Refusal, error) {
		var f Refusal
		var first, last int64
		err := r.Scan(&f.NotificationID, &f.EventType, &f.Mall, &f.Field, &f.Rule, &f.Deliveries, &first, &last)
		f.FirstAt, f.LastAt = fromMicros(first), fromMicros(last)
		return f, err
	})
}

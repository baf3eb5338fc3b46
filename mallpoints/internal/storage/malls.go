package storage

import (
	"context"
	"fmt"
	"time"
)

// Mall is a mall the service has had notifications of.
type Mall struct {
	MchID string `json:"mall"`
	// Merchant is the merchant whose notification URL received them: it
	// signs the mall's syncs when the merchants file lists the mall nowhere.
	Merchant string `json:"merchant"`
	// Name is merchant_name as WeChat Pay last gave it; "" when never given.
	Name      string    `json:"name,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
}

// NoteMall records that m's notifications arrive at m.Merchant's URL, and
// the name WeChat Pay gives it; an empty name keeps the one recorded.
func (db *DB) NoteMall(ctx context.Context, m Mall) error {
	_, err := db.exec(ctx, `INSERT INTO malls (mall, merchant, name, first_seen) VALUES ($1, $2, $3, $4)
		ON CONFLICT (mall) DO UPDATE SET merchant = excluded.merchant,
		name = CASE WHEN excluded.name = '' THEN malls.name ELSE excluded.name END`,
		m.MchID, m.Merchant, m.Name, micros(time.Now()))
	if err != nil {
		return fmt.Errorf("storage: note mall: %w", err)
	}
	return nil
}

// Mall returns the record of a mall, or ErrNotFound.
func (db *DB) Mall(ctx context.Context, mall string) (Mall, error) {
	var m Mall
	var at int64
	err := db.queryRow(ctx, `SELECT mall, merchant, name, first_seen FROM malls WHERE mall = $1`, mall).
		Scan(&m.MchID, &m.Merchant, &m.Name, &at)
	m.FirstSeen = fromMicros(at)
	return m, noRows(err)
}

// Malls lists every mall recorded, by mchid.
func (db *DB) Malls(ctx context.Context) ([]Mall, error) {
	rs, err := db.query(ctx, `SELECT mall, merchant, name, first_seen FROM malls ORDER BY mall`)
	if err != nil {
		return nil, fmt.Errorf("storage: malls: %w", err)
	}
	return collect(rs, func(r row) (Mall, error) {
		var m Mall
		var at int64
		err := r.Scan(&m.MchID, &m.Merchant, &m.Name, &at)
		m.FirstSeen = fromMicros(at)
		return m, err
	})
}

// PendingSyncsByMall counts the syncs of each mall still to be sent.
func (db *DB) PendingSyncsByMall(ctx context.Context) (map[string]int64, error) {
	rs, err := db.query(ctx, `SELECT mall, count(*) FROM syncs WHERE state = $1 GROUP BY mall`, SyncPending)
	if err != nil {
		return nil, fmt.Errorf("storage: pending syncs: %w", err)
	}
	type count struct {
		mall string
		n    int64
	}
	list, err := collect(rs, func(r row) (count, error) {
		var c count
		return c, r.Scan(&c.mall, &c.n)
	})
	if err != nil {
		return nil, fmt.Errorf("storage: pending syncs: %w", err)
	}
	out := make(map[string]int64, len(list))
	for _, c := range list {
		out[c.mall] = c.n
	}
	return out, nil
}

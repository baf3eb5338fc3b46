package storage

import (
	"context"
	"fmt"
	"time"
)

// Parking is a parking state sent to WeChat Pay.
type Parking struct {
	ID             int64     `json:"id"`
	Mall           string    `json:"mall"`
	OpenID         string    `json:"openid"`
	AppID          string    `json:"appid"`
	PlateNumber    string    `json:"plate_number"`
	State          string    `json:"state"`
	Time           string    `json:"time"`
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	SyncID         int64     `json:"sync_id"`
	CreatedAt      time.Time `json:"created_at"`
	Sync           *Sync     `json:"sync,omitempty"`
}

const parkingColumns = `p.id, p.mall, p.openid, p.appid, p.plate_number, p.state, p.time,
	COALESCE(p.idempotency_key, ''), p.sync_id, p.created_at`

func scanParkingSync(r row) (Parking, error) {
	var p Parking
	var s Sync
	var at int64
	sdest, finish := syncDest(&s)
	err := r.Scan(append([]any{&p.ID, &p.Mall, &p.OpenID, &p.AppID, &p.PlateNumber, &p.State, &p.Time,
		&p.IdempotencyKey, &p.SyncID, &at}, sdest...)...)
	if err != nil {
		return p, noRows(err)
	}
	finish()
	p.CreatedAt, p.Sync = fromMicros(at), &s
	return p, nil
}

// ParkingByKey reads the parking recorded under an Idempotency-Key.
func (tx *Tx) ParkingByKey(ctx context.Context, mall, key string) (Parking, error) {
	return scanParkingSync(tx.queryRow(ctx, `SELECT `+parkingColumns+`, `+syncColumns+`
		FROM parkings p JOIN syncs s ON s.id = p.sync_id WHERE p.mall = $1 AND p.idempotency_key = $2`, mall, key))
}

// InsertParking writes p, which names its sync.
func (tx *Tx) InsertParking(ctx context.Context, p *Parking) error {
	var key any
	if p.IdempotencyKey != "" {
		key = p.IdempotencyKey
	}
	p.CreatedAt = time.Now().UTC()
	err := tx.queryRow(ctx, `INSERT INTO parkings (mall, openid, appid, plate_number, state, time, idempotency_key,
		sync_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, p.Mall, p.OpenID, p.AppID,
		p.PlateNumber, p.State, p.Time, key, p.SyncID, micros(p.CreatedAt)).Scan(&p.ID)
	if err != nil {
		return fmt.Errorf("storage: write parking: %w", err)
	}
	return nil
}

// Parking reads one parking with its sync.
func (db *DB) Parking(ctx context.Context, id int64) (Parking, error) {
	return scanParkingSync(db.queryRow(ctx, `SELECT `+parkingColumns+`, `+syncColumns+`
		FROM parkings p JOIN syncs s ON s.id = p.sync_id WHERE p.id = $1`, id))
}

// Parkings lists the parkings of scope's malls newest first, with an id
// below before (0: the newest), at most limit.
func (db *DB) Parkings(ctx context.Context, scope Malls, before int64, limit int) ([]Parking, error) {
	if before == 0 {
		before = 1<<63 - 1
	}
	in, args := scope.and("p.mall", 3)
	rs, err := db.query(ctx, `SELECT `+parkingColumns+`, `+syncColumns+`
		FROM parkings p JOIN syncs s ON s.id = p.sync_id WHERE p.id < $1`+in+` ORDER BY p.id DESC LIMIT $2`,
		append([]any{before, limit}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("storage: parkings: %w", err)
	}
	return collect(rs, scanParkingSync)
}

// ParkingBySync reads the parking a sync reports.
func (db *DB) ParkingBySync(ctx context.Context, syncID int64) (Parking, error) {
	return scanParkingSync(db.queryRow(ctx, `SELECT `+parkingColumns+`, `+syncColumns+`
		FROM parkings p JOIN syncs s ON s.id = p.sync_id WHERE p.sync_id = $1`, syncID))
}

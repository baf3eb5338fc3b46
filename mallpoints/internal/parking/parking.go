// Package parking sends a mall's parking states to WeChat Pay (停车状态同步,
// POST /v3/businesscircle/parkings), so a member's car entering or leaving
// shows in the business circle. Park records a state and inserts its job in
// one transaction; Worker sends it through the outbox, which records every
// attempt as for points syncs.
package parking

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// Args is the job of one parking sync; like a points sync's, it carries only
// the sync's id, and the request is built from the database when it runs.
type Args struct {
	SyncID int64 `json:"sync_id"`
	// Round is the number of attempts made before a retry through the API;
	// 0 for the first job.
	Round int `json:"round,omitempty"`
}

// Kind is the River job kind.
func (Args) Kind() string { return "mallpoints.parking" }

// InsertOpts makes the job unique by its arguments: one job per sync and round.
func (Args) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Inserter inserts a job into a transaction: package outbox.
type Inserter interface {
	Insert(ctx context.Context, tx *storage.Tx, args river.JobArgs) error
}

// Service records parking states.
type Service struct {
	db    *storage.DB
	rules *rules.Current
	queue Inserter
}

// New returns a Service over db that inserts its jobs with q; current gives
// a mall's app ids.
func New(db *storage.DB, current *rules.Current, q Inserter) *Service {
	return &Service{db: db, rules: current, queue: q}
}

// Event is a parking state to send to WeChat Pay.
type Event struct {
	Mall           string
	OpenID         string
	AppID          string // empty: the member's app id, else the mall's first in the rules
	PlateNumber    string
	State          string // IN or OUT
	Time           string // RFC 3339
	IdempotencyKey string // optional
}

// Park records a parking state and queues its sync in one transaction.
// The request is validated as the SDK will before sending (brand id aside,
// which the rules give when the sync runs); a *businesscircle.ValidationError
// names the field. With an Idempotency-Key already used it returns the
// earlier parking and false.
func (s *Service) Park(ctx context.Context, e Event) (storage.Parking, bool, error) {
	if e.AppID == "" {
		if m, err := s.db.Member(ctx, e.Mall, e.OpenID); err == nil && m.AppID != "" {
			e.AppID = m.AppID
		} else if ids := s.rules.Load().Mall(e.Mall).AppIDs; len(ids) > 0 {
			e.AppID = ids[0]
		}
	}
	rec := storage.Parking{Mall: e.Mall, OpenID: e.OpenID, AppID: e.AppID, PlateNumber: e.PlateNumber,
		State: e.State, Time: e.Time, IdempotencyKey: e.IdempotencyKey}
	if err := Request(rec, 1, "").Validate(); err != nil {
		return storage.Parking{}, false, err
	}
	created := false
	err := s.db.InTx(ctx, func(tx *storage.Tx) error {
		if e.IdempotencyKey != "" {
			old, err := tx.ParkingByKey(ctx, e.Mall, e.IdempotencyKey)
			if err == nil {
				rec = old
				return nil
			}
			if !errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("parking: by key: %w", err)
			}
		}
		sync, err := tx.NewSync(ctx, storage.SyncParking, e.Mall, newReference())
		if err != nil {
			return fmt.Errorf("parking: new sync: %w", err)
		}
		rec.SyncID = sync.ID
		if err := tx.InsertParking(ctx, &rec); err != nil {
			return fmt.Errorf("parking: write: %w", err)
		}
		created = true
		return s.queue.Insert(ctx, tx, Args{SyncID: sync.ID})
	})
	return rec, created, err
}

// newReference is a random subject for a sync that has no business key.
func newReference() string {
	var b [12]byte
	rand.Read(b[:])
	return "pk_" + hex.EncodeToString(b[:])
}

// Request is the parking sync of p, with the mall's brand id (品牌ID) from
// the rules in force when it is sent; sub is the mall's sub_mchid in
// partner mode, else empty.
func Request(p storage.Parking, brandID int64, sub string) businesscircle.ParkingRequest {
	return businesscircle.ParkingRequest{
		SubMchID: sub, BrandID: brandID, AppID: p.AppID, OpenID: p.OpenID,
		PlateNumber: p.PlateNumber, State: businesscircle.ParkingState(p.State), Time: p.Time,
	}
}

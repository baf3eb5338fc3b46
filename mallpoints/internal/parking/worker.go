package parking

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// Attempt makes one attempt of sync s, job's, with call, records it and
// tells River what next; round is the job's Round, total the total_points
// a points sync sends (nil for others). The outbox provides it, the same
// for every kind of sync.
type Attempt func(ctx context.Context, s storage.Sync, job *rivertype.JobRow, round int, total *int64,
	call func(context.Context) (*wxpay.Response, error)) error

// Signers give the client that signs a mall's syncs: the merchant in force
// that serves the mall (package server provides it, for every kind of sync).
type Signers interface {
	// ClientFor is the client of the merchant that serves mall and the
	// sub_mchid its calls name: empty for a merchant's own mall, the mall
	// for a sub-merchant. An error wrapping ErrNoMerchant says that no
	// merchant in force serves the mall.
	ClientFor(ctx context.Context, mall string) (client *wxpay.Client, subMchID string, err error)
}

var (
	// ErrNoSigner wraps every failure of Signers: nothing was sent, and the
	// sync is tried again later.
	ErrNoSigner = errors.New("no client to sign the sync with")
	// ErrNoMerchant: no merchant in force serves the mall (the merchants
	// file lists it nowhere and no merchant received its notifications).
	// The sync is parked until a person lists the mall and retries it.
	ErrNoMerchant = errors.New("no merchant in force serves this mall")
)

// ClientFor asks signers for the client of mall's syncs; its errors wrap
// ErrNoSigner.
func ClientFor(ctx context.Context, signers Signers, mall string) (*wxpay.Client, string, error) {
	c, sub, err := signers.ClientFor(ctx, mall)
	if err != nil {
		return nil, "", fmt.Errorf("%w: mall %s: %w", ErrNoSigner, mall, err)
	}
	return c, sub, nil
}

// Worker works Args jobs; the outbox registers it with its River client.
type Worker struct {
	river.WorkerDefaults[Args]
	DB         *storage.DB
	Signers    Signers
	Rules      *rules.Current
	JobTimeout time.Duration // of one attempt
	Attempt    Attempt
}

// Timeout bounds one attempt.
func (w *Worker) Timeout(*river.Job[Args]) time.Duration { return w.JobTimeout }

// Work sends one parking state.
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	p, err := w.DB.ParkingBySync(ctx, job.Args.SyncID)
	if errors.Is(err, storage.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("parking sync %d does not exist", job.Args.SyncID))
	}
	if err != nil {
		return err
	}
	return w.Attempt(ctx, *p.Sync, job.JobRow, job.Args.Round, nil, func(ctx context.Context) (*wxpay.Response, error) {
		client, sub, err := ClientFor(ctx, w.Signers, p.Mall)
		if err != nil {
			return nil, err
		}
		return businesscircle.New(client).Businesscircle.Parkings.Post(ctx,
			Request(p, w.Rules.Load().Mall(p.Mall).BrandID, sub))
	})
}

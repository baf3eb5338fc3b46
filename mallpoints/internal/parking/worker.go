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
// tells River what next; round is the job's Round. The outbox provides it,
// the same for every kind of sync.
type Attempt func(ctx context.Context, s storage.Sync, job *rivertype.JobRow, round int,
	call func(context.Context) (*wxpay.Response, error)) error

// Worker works Args jobs; the outbox registers it with its River client.
type Worker struct {
	river.WorkerDefaults[Args]
	DB         *storage.DB
	Client     *wxpay.Client
	MchID      string // the merchant; another mall is a sub-merchant
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
	sub := p.Mall
	if sub == w.MchID {
		sub = ""
	}
	return w.Attempt(ctx, *p.Sync, job.JobRow, job.Args.Round, func(ctx context.Context) (*wxpay.Response, error) {
		return businesscircle.New(w.Client).Businesscircle.Parkings.Post(ctx,
			Request(p, w.Rules.Load().Mall(p.Mall).BrandID, sub))
	})
}

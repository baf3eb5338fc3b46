package outbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// worker works SyncArgs jobs.
type worker struct {
	river.WorkerDefaults[SyncArgs]
	cfg Config
}

// Timeout leaves room to record the attempt after the call.
func (w *worker) Timeout(*river.Job[SyncArgs]) time.Duration { return w.cfg.JobTimeout }

// verdict is what one attempt's answer means for its sync.
type verdict int

const (
	synced verdict = iota // 204: done
	retry                 // 429, 5xx, network error or unknown outcome: try again later
	park                  // any other refusal: wait for a person
)

// classify sorts an attempt's error. Re-sending a points sync is safe (it
// carries the same points), so anything whose outcome is unknown — a network
// error, an answer that did not verify — is retried; only a definite 4xx
// refusal other than 429 parks.
func classify(err error) verdict {
	if err == nil {
		return synced
	}
	if _, ok := errors.AsType[*businesscircle.ValidationError](err); ok {
		return park // nothing was sent and nothing will change by itself
	}
	if apiErr, ok := errors.AsType[*wxpay.APIError](err); ok {
		if apiErr.StatusCode == http.StatusTooManyRequests || apiErr.StatusCode >= 500 {
			return retry
		}
		return park
	}
	return retry
}

// Work sends one sync, records the attempt and tells River what next:
// done, retry later, or cancel (parked until retried through the API).
func (w *worker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	db := w.cfg.DB
	sub, err := w.load(ctx, job.Args.SyncID)
	s := sub.sync
	if errors.Is(err, storage.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("sync %d does not exist", job.Args.SyncID))
	}
	if err != nil {
		return err
	}
	if s.State != storage.SyncPending {
		return nil // done already: a re-run of a job taken over from a killed worker
	}
	log := w.cfg.Logger.With("sync_id", s.ID, "kind", s.Kind, "mall", s.Mall, "attempt", job.Attempt)
	if s.Kind == storage.SyncPoints {
		log = log.With("transaction_id", s.Subject)
	}
	start := time.Now()
	resp, err := w.send(ctx, sub)
	a := storage.Attempt{SyncID: s.ID, Attempt: job.Attempt, At: time.Now().UTC(), Elapsed: time.Since(start)}
	v := classify(err)
	state := storage.SyncPending
	switch v {
	case synced:
		a.Outcome, state, a.Status = storage.AttemptOK, storage.SyncSynced, resp.StatusCode
		a.RequestID = resp.Header.Get("Request-ID")
	case retry:
		a.Outcome = storage.AttemptRetry
		if job.Attempt >= job.MaxAttempts {
			a.Outcome, state = storage.AttemptParked, storage.SyncParked
		}
	case park:
		a.Outcome, state = storage.AttemptParked, storage.SyncParked
	}
	if err != nil {
		a.Code, a.Message = "NETWORK_ERROR", err.Error()
		if apiErr, ok := errors.AsType[*wxpay.APIError](err); ok {
			a.Status, a.Code, a.Message, a.RequestID = apiErr.StatusCode, apiErr.Code, apiErr.Message, apiErr.RequestID
		} else if ve, ok := errors.AsType[*businesscircle.ValidationError](err); ok {
			a.Code, a.Message = "INVALID_REQUEST", ve.Error()
		} else if errors.Is(err, wxpay.ErrBadSignature) || errors.Is(err, wxpay.ErrMissingHeader) ||
			errors.Is(err, wxpay.ErrUnknownSerial) || errors.Is(err, wxpay.ErrClockSkew) || errors.Is(err, wxpay.ErrProbeSignature) {
			a.Code = "UNVERIFIED_ANSWER"
		}
	}
	// The attempt is recorded even if the job's context has ended.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	recorded, rerr := db.RecordAttempt(rctx, a, state)
	if rerr != nil {
		// WeChat Pay may have accepted the sync; the retry re-sends the same body.
		return fmt.Errorf("record attempt: %w", rerr)
	}
	if recorded && w.cfg.OnAttempt != nil {
		w.cfg.OnAttempt(a, s)
	}
	attrs := []any{"outcome", a.Outcome, "status", a.Status, "request_id", a.RequestID, "elapsed", a.Elapsed}
	switch {
	case v == synced:
		log.Info("outbox: synced", attrs...)
		return nil
	case state == storage.SyncParked:
		log.Warn("outbox: parked", append(attrs, "code", a.Code, "message", a.Message)...)
		return river.JobCancel(fmt.Errorf("parked: %s %s", a.Code, a.Message))
	default:
		log.Info("outbox: will retry", append(attrs, "code", a.Code, "message", a.Message)...)
		return fmt.Errorf("sync %d: %s %s", s.ID, a.Code, a.Message)
	}
}

// subject is a sync with what it reports: a payment or a parking.
type subject struct {
	sync    storage.Sync
	payment *storage.Transaction
	parking *storage.Parking
}

// load reads a sync together with its payment (one query, the common case)
// or its parking; storage.ErrNotFound when there is no such sync.
func (w *worker) load(ctx context.Context, id int64) (subject, error) {
	t, err := w.cfg.DB.TransactionBySync(ctx, id)
	if err == nil {
		return subject{sync: *t.Sync, payment: &t}, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return subject{}, err
	}
	p, err := w.cfg.DB.ParkingBySync(ctx, id)
	if err != nil {
		return subject{}, err
	}
	return subject{sync: *p.Sync, parking: &p}, nil
}

// send builds the request of a sync from what was recorded and makes the call.
func (w *worker) send(ctx context.Context, sub subject) (*wxpay.Response, error) {
	v3 := businesscircle.New(w.cfg.Client).Businesscircle
	s := sub.sync
	subMchID := ""
	if s.Mall != w.cfg.MchID {
		subMchID = s.Mall
	}
	switch {
	case s.Kind == storage.SyncPoints && sub.payment != nil:
		return v3.Points.Notify.Post(ctx, PointsRequest(*sub.payment, subMchID))
	case s.Kind == storage.SyncParking && sub.parking != nil:
		p := sub.parking
		return v3.Parkings.Post(ctx, businesscircle.ParkingRequest{
			SubMchID: subMchID, BrandID: w.cfg.BrandID(s.Mall), AppID: p.AppID, OpenID: p.OpenID,
			PlateNumber: p.PlateNumber, State: businesscircle.ParkingState(p.State), Time: p.Time,
		})
	}
	return nil, &businesscircle.ValidationError{Field: "kind", Rule: "unknown sync kind " + strconv.Quote(s.Kind)}
}

// PointsRequest is the points sync of payment t; sub is the mall's
// sub_mchid in partner mode, else empty. Every field comes from what was
// recorded when the payment arrived, so every attempt sends the same body.
func PointsRequest(t storage.Transaction, sub string) businesscircle.PointsNotifyRequest {
	return businesscircle.PointsNotifyRequest{
		SubMchID:         sub,
		TransactionID:    t.TransactionID,
		AppID:            t.AppID,
		OpenID:           t.OpenID,
		EarnPoints:       t.EarnPoints,
		IncreasedPoints:  t.Points,
		PointsUpdateTime: t.PointsUpdateTime,
		NoPointsRemarks:  t.NoPointsRemarks,
		TotalPoints:      businesscircle.Int64(t.TotalPoints),
	}
}

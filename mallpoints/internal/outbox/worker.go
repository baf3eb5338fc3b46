package outbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/parking"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// worker works SyncArgs jobs: points syncs.
type worker struct {
	river.WorkerDefaults[SyncArgs]
	cfg Config
}

// Timeout leaves room to record the attempt after the call.
func (w *worker) Timeout(*river.Job[SyncArgs]) time.Duration { return w.cfg.JobTimeout }

// Work sends the points sync of a payment, with the member's balance now.
func (w *worker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	t, balance, err := w.cfg.DB.TransactionBySync(ctx, job.Args.SyncID)
	if errors.Is(err, storage.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("sync %d does not exist", job.Args.SyncID))
	}
	if err != nil {
		return err
	}
	req := PointsRequest(t, balance, "")
	return w.cfg.attempt(ctx, *t.Sync, job.JobRow, job.Args.Round, req.TotalPoints, func(ctx context.Context) (*wxpay.Response, error) {
		client, sub, err := parking.ClientFor(ctx, w.cfg.Signers, t.Mall)
		if err != nil {
			return nil, err
		}
		req.SubMchID = sub
		resp, err := businesscircle.New(client).Businesscircle.Points.Notify.Post(ctx, req)
		return resp, w.why(ctx, t, err)
	})
}

// Authorizer tells the authorisation state of a member now, asked of
// WeChat Pay: package memberstatus.
type Authorizer interface {
	Authorization(ctx context.Context, mall, openid, appid string) (string, error)
}

// ErrNotAuthorized wraps WeChat Pay's refusal of a points sync for a member
// who withdrew the points service.
var ErrNotAuthorized = errors.New("the member withdrew the points authorisation (DEAUTHORIZED)")

// why asks the authorisation of payment t's member when WeChat Pay refused
// its sync with a 4xx that parks it: WeChat Pay documents no answer for a
// member who withdrew, so the refusal's code is not trusted, the
// authorisation query says. DEAUTHORIZED wraps err with ErrNotAuthorized;
// anything else, a failed query included, leaves err as it is.
func (w *worker) why(ctx context.Context, t storage.Transaction, err error) error {
	apiErr, ok := errors.AsType[*wxpay.APIError](err)
	if !ok || w.cfg.Authorizations == nil || classify(apiErr) != park {
		return err
	}
	state, qerr := w.cfg.Authorizations.Authorization(ctx, t.Mall, t.OpenID, t.AppID)
	if qerr != nil || state != storage.AuthorizeDeauthorized {
		return err
	}
	return fmt.Errorf("%w: %w", ErrNotAuthorized, err)
}

// verdict is what one attempt's answer means for its sync.
type verdict int

const (
	synced        verdict = iota // 204: done
	retry                        // 401, 429, 5xx, or nothing was sent: try again later
	unknown                      // the request may have taken effect: try again later
	park                         // any other refusal: wait for a person
	notAuthorized                // refused, the member having withdrawn: nothing will send it
)

// classify sorts an attempt's error. Re-sending a points sync is safe (it
// carries the same points), so anything whose outcome is unknown — a broken
// connection, an answer that did not verify, a timeout — is retried after
// the backoff, like a 429 or a 5xx. A 401 says WeChat Pay refuses the
// merchant's signatures (a clock over 5 minutes off, a wrong key or serial):
// the service's configuration, not the payment, so it is retried too. Only
// a definite refusal of the request itself parks.
func classify(err error) verdict {
	if err == nil {
		return synced
	}
	if errors.Is(err, ErrNotAuthorized) {
		return notAuthorized
	}
	if errors.Is(err, parking.ErrNoMerchant) {
		return park // until a person lists the mall in the merchants file
	}
	if _, ok := errors.AsType[*businesscircle.ValidationError](err); ok {
		return park // nothing was sent and nothing will change by itself
	}
	if apiErr, ok := errors.AsType[*wxpay.APIError](err); ok {
		switch s := apiErr.StatusCode; {
		case s == http.StatusUnauthorized, s == http.StatusTooManyRequests, s >= 500:
			return retry
		}
		return park
	}
	if notSent(err) || errors.Is(err, wxpay.ErrNotProcessed) {
		return retry
	}
	return unknown
}

// notSent reports whether err says the request never left: no connection
// could be made, or the SDK refused to sign or build it.
func notSent(err error) bool {
	if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "dial" {
		return true
	}
	_, unsigned := errors.AsType[*wxpay.SignError](err)
	return unsigned || errors.Is(err, wxpay.ErrInvalidRequest) || errors.Is(err, parking.ErrNoSigner)
}

// attempt makes one attempt of sync s, the job's, with call; records it,
// with total, the total_points a points sync sends; and tells River what
// next: done, retry later, or cancel (parked or synced_unconfirmed until
// retried through the API). round is the job's Round. Every kind of sync is
// sent through it.
func (cfg Config) attempt(ctx context.Context, s storage.Sync, job *rivertype.JobRow, round int, total *int64,
	call func(context.Context) (*wxpay.Response, error)) error {
	db := cfg.DB
	if s.State != storage.SyncPending {
		return nil // done already: a re-run of a job taken over from a killed worker
	}
	// made numbers this attempt among all of the sync's: those before a retry
	// through the API, then River's count for this job, which includes
	// attempts whose process died before recording them (River's rescuer
	// hands their job on). Such an attempt's outcome is unknown.
	made := round + job.Attempt
	hidden := made-1 > s.Attempts
	log := cfg.Logger.With("sync_id", s.ID, "kind", s.Kind, "mall", s.Mall, "attempt", made)
	if s.Kind == storage.SyncPoints {
		log = log.With("transaction_id", s.Subject)
	}
	start := time.Now()
	resp, err := call(ctx)
	a := storage.Attempt{SyncID: s.ID, Attempt: made, At: time.Now().UTC(), Elapsed: time.Since(start), TotalPoints: total}
	v := classify(err)
	state := storage.SyncPending
	switch v {
	case synced:
		a.Outcome, state, a.Status = storage.AttemptOK, storage.SyncSynced, resp.StatusCode
		a.RequestID = resp.Header.Get("Request-ID")
	case retry, unknown:
		a.Outcome = storage.AttemptRetry
		if v == unknown {
			a.Outcome = storage.AttemptUnknown
		}
		if job.Attempt >= job.MaxAttempts {
			a.Outcome, state = storage.AttemptParked, storage.SyncParked
		}
	case notAuthorized:
		a.Outcome, state = storage.AttemptNotAuthorized, storage.SyncNotAuthorized
	case park:
		a.Outcome, state = storage.AttemptParked, storage.SyncParked
		if _, refused := errors.AsType[*wxpay.APIError](err); refused && s.Kind == storage.SyncPoints {
			// A refused repeat of a points sync WeChat Pay may have taken
			// already (it does not document how it treats a second one) is
			// no failure of the payment: it is most likely synced.
			earlier := hidden
			if !earlier {
				var qerr error
				if earlier, qerr = db.HadUnknownOutcome(ctx, s.ID); qerr != nil {
					return qerr
				}
			}
			if earlier {
				a.Outcome, state = storage.AttemptUnconfirmed, storage.SyncUnconfirmed
			}
		}
	}
	if err != nil {
		a.Code, a.Message = "NETWORK_ERROR", err.Error()
		if apiErr, ok := errors.AsType[*wxpay.APIError](err); ok {
			a.Status, a.Code, a.Message, a.RequestID = apiErr.StatusCode, apiErr.Code, apiErr.Message, apiErr.RequestID
		} else if ve, ok := errors.AsType[*businesscircle.ValidationError](err); ok {
			a.Code, a.Message = "INVALID_REQUEST", ve.Error()
		} else if errors.Is(err, parking.ErrNoMerchant) {
			a.Code = "NO_MERCHANT"
		} else if errors.Is(err, parking.ErrNoSigner) {
			a.Code = "NOT_SENT"
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
	if recorded && cfg.OnAttempt != nil {
		cfg.OnAttempt(a, s)
	}
	attrs := []any{"outcome", a.Outcome, "status", a.Status, "request_id", a.RequestID, "elapsed", a.Elapsed}
	switch {
	case v == synced:
		log.Info("outbox: synced", attrs...)
		return nil
	case state == storage.SyncUnconfirmed:
		log.Warn("outbox: synced_unconfirmed: WeChat Pay refused a repeat of a sync after an attempt whose outcome "+
			"is unknown, so it most likely has the first; check the member's points in WeChat Pay, and retry the "+
			"sync only if they are missing", append(attrs, "code", a.Code, "message", a.Message)...)
		return river.JobCancel(fmt.Errorf("synced_unconfirmed: %s %s", a.Code, a.Message))
	case state == storage.SyncParked:
		log.Warn("outbox: parked", append(attrs, "code", a.Code, "message", a.Message)...)
		return river.JobCancel(fmt.Errorf("parked: %s %s", a.Code, a.Message))
	case state == storage.SyncNotAuthorized:
		log.Info("outbox: not_authorized: WeChat Pay refused the sync and its authorisation query says the member "+
			"withdrew the points service; nothing will send it, retry it once the member authorises again",
			append(attrs, "code", a.Code, "message", a.Message)...)
		return river.JobCancel(fmt.Errorf("not_authorized: %s %s", a.Code, a.Message))
	case a.Status == http.StatusUnauthorized:
		log.Error("outbox: WeChat Pay refuses this service's signatures (401): check that the server clock is within "+
			"5 minutes of the true time and that the merchant private key and certificate serial are the ones "+
			"registered with WeChat Pay; the sync is retried", append(attrs, "code", a.Code, "message", a.Message)...)
	default:
		log.Info("outbox: will retry", append(attrs, "code", a.Code, "message", a.Message)...)
	}
	return fmt.Errorf("sync %d: %s %s", s.ID, a.Code, a.Message)
}

// PointsRequest is the points sync of payment t, with total the member's
// balance when it is sent (total_points is the customer's current total, so
// a sync retried after a later payment's does not send an older one), or
// the total the mall's CRM gave with its decision (its member total across
// channels, which only the CRM knows); sub
// is the mall's sub_mchid in partner mode, else empty. Every other field
// comes from what was recorded when the payment arrived.
func PointsRequest(t storage.Transaction, total int64, sub string) businesscircle.PointsNotifyRequest {
	if t.CRMTotal != nil {
		total = *t.CRMTotal
	}
	return businesscircle.PointsNotifyRequest{
		SubMchID:         sub,
		TransactionID:    t.TransactionID,
		AppID:            t.AppID,
		OpenID:           t.OpenID,
		EarnPoints:       t.EarnPoints,
		IncreasedPoints:  t.Points + t.Bonus, // the bonus is part of what the payment earned
		PointsUpdateTime: t.PointsUpdateTime,
		NoPointsRemarks:  t.NoPointsRemarks,
		TotalPoints:      businesscircle.Int64(total),
	}
}

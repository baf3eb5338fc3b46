package outbox

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// DecisionArgs is the job of one decision by a mall's CRM: of a payment's
// points or a refund's deduction (Of storage.DecisionOfPayment or
// DecisionOfRefund), named by its mall and transaction_id or refund_id. The
// decision is idempotent (one already made is left as it is), so the job
// needs no uniqueness of its own.
type DecisionArgs struct {
	Of      string `json:"of"`
	Mall    string `json:"mall"`
	Subject string `json:"subject"`
}

// Kind is the River job kind.
func (DecisionArgs) Kind() string { return "mallpoints.decide" }

// Decider makes the decisions: package ledger's Service. Decide asks the
// CRM and writes its answer; ParkDecision parks a decision whose calls
// failed for a day (the job's attempts).
type Decider interface {
	Decide(ctx context.Context, kind, mall, subject string) error
	ParkDecision(ctx context.Context, kind, mall, subject string, cause error) error
}

// ErrGone is returned by a Decider for a decision whose payment or refund
// does not exist: the job is cancelled.
var ErrGone = errors.New("outbox: nothing to decide")

// EnqueueDecision inserts the job of a decision into tx.
func (o *Outbox) EnqueueDecision(ctx context.Context, tx *storage.Tx, kind, mall, subject string) error {
	return o.Insert(ctx, tx, DecisionArgs{Of: kind, Mall: mall, Subject: subject})
}

// decisionWorker works DecisionArgs jobs, with the retries and backoff of
// the syncs; after the last attempt the decision is parked.
type decisionWorker struct {
	river.WorkerDefaults[DecisionArgs]
	cfg Config
}

// Timeout bounds one attempt: the call (at most the decide timeout of the
// rules) and the write.
func (w *decisionWorker) Timeout(*river.Job[DecisionArgs]) time.Duration { return w.cfg.JobTimeout }

// Work makes the decision.
func (w *decisionWorker) Work(ctx context.Context, job *river.Job[DecisionArgs]) error {
	a := job.Args
	err := w.cfg.Decide.Decide(ctx, a.Of, a.Mall, a.Subject)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrGone):
		return river.JobCancel(err)
	case job.Attempt >= job.MaxAttempts:
		// Parked even if the job's context has ended.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if perr := w.cfg.Decide.ParkDecision(pctx, a.Of, a.Mall, a.Subject, err); perr != nil {
			return perr
		}
		return river.JobCancel(err)
	}
	return err
}

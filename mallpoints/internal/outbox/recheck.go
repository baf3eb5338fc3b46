package outbox

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// The re-check of members' authorisations is a River periodic job, as the
// daily expiry run is: River's leader inserts it, so with several replicas
// one runs at a time, and a run still going when the next is due makes
// that one a duplicate.

// RecheckKind is the River job kind of the re-check.
const RecheckKind = "member_recheck"

// DefaultRecheckEvery is how often the re-check runs. Each run asks the
// members due then, within its own bound (memberstatus.DefaultRecheckRun).
const DefaultRecheckEvery = time.Minute

// RecheckArgs is the job of one run of the re-check.
type RecheckArgs struct{}

// Kind is the River job kind.
func (RecheckArgs) Kind() string { return RecheckKind }

// InsertOpts makes one run at a time: unique while one is waiting or
// running, not once it completed.
func (RecheckArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
}

// Rechecker is one run of the re-check: package memberstatus's
// Service.Recheck.
type Rechecker func(ctx context.Context) error

func recheckJob(every time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
		return RecheckArgs{}, nil
	}, &river.PeriodicJobOpts{ID: RecheckKind, RunOnStart: true})
}

// recheckWorker works RecheckArgs jobs.
type recheckWorker struct {
	river.WorkerDefaults[RecheckArgs]
	recheck Rechecker
}

// Timeout leaves the run its own bound and room to finish the query under
// way.
func (w *recheckWorker) Timeout(*river.Job[RecheckArgs]) time.Duration { return 2 * time.Minute }

// Work runs the re-check once; a failed run is not retried, the next one
// goes on where the oldest checks are.
func (w *recheckWorker) Work(ctx context.Context, job *river.Job[RecheckArgs]) error {
	return w.recheck(ctx)
}

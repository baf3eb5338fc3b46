package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// An expiry run is a River job, ExpiryArgs: the daily run is a periodic
// job, which River's leader inserts, so with several replicas it runs once a
// day; a run asked for through the API (RunExpiry) is the same job. Unique by
// its as_of date while it is queued, running or waiting to retry, an insert
// that races another for the date is that run, not a second one. A date
// whose run is done can be run again: the run is idempotent, and a second
// one expires what the first left (a run stopped half-way, lots written
// since).

// ExpiryKind is the River job kind of an expiry run.
const ExpiryKind = "expiry"

// DefaultExpiryAt is how long after 00:00 Beijing time the daily run
// starts: late enough that the day's date is settled on every replica's
// clock.
const DefaultExpiryAt = 5 * time.Minute

// ExpiryArgs is the job of an expiry run, as of a Beijing date.
type ExpiryArgs struct {
	AsOf string `json:"as_of"`
}

// Kind is the River job kind.
func (ExpiryArgs) Kind() string { return ExpiryKind }

// expiryUnderWay are the states in which a run holds its date: River's
// default unique states but completed, so that a date whose run is done can
// be run again.
var expiryUnderWay = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}

// InsertOpts makes one run per date at a time.
func (ExpiryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: expiryUnderWay}}
}

// Expirer runs expiry as of a Beijing date, idempotently, for the run
// (the job's id) and answers what it expired, also when it fails half-way:
// package ledger's Service.Expire, with the run's audit entry.
type Expirer func(ctx context.Context, run int64, asOf string) (ExpiryOutcome, error)

// ExpiryOutcome is what a run expired.
type ExpiryOutcome struct {
	Points  int64 `json:"points"`
	Members int   `json:"members"`
}

var beijing = time.FixedZone("UTC+8", 8*3600)

// dailyAt is a PeriodicSchedule firing once a day at offset after 00:00
// Beijing time.
type dailyAt struct{ offset time.Duration }

// Next is the first firing after current.
func (d dailyAt) Next(current time.Time) time.Time {
	b := current.In(beijing)
	next := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, beijing).Add(d.offset)
	if !next.After(current) {
		next = time.Date(b.Year(), b.Month(), b.Day()+1, 0, 0, 0, 0, beijing).Add(d.offset)
	}
	return next
}

// expiryJob is the periodic job on schedule: as of the Beijing date it is
// inserted on.
func expiryJob(schedule river.PeriodicSchedule, runOnStart bool, now func() time.Time) *river.PeriodicJob {
	return river.NewPeriodicJob(schedule, func() (river.JobArgs, *river.InsertOpts) {
		return ExpiryArgs{AsOf: now().In(beijing).Format(time.DateOnly)}, nil
	}, &river.PeriodicJobOpts{ID: ExpiryKind, RunOnStart: runOnStart})
}

// expiryWorker works ExpiryArgs jobs. The run goes member by member in
// batches and is idempotent, so a retry after a failure half-way resumes
// where it stopped.
type expiryWorker struct {
	river.WorkerDefaults[ExpiryArgs]
	expire Expirer
}

// Timeout: a year-end run over many members takes a while.
func (w *expiryWorker) Timeout(*river.Job[ExpiryArgs]) time.Duration { return time.Hour }

// Work runs the expiry, and keeps what the run's attempts expired so far
// as the job's output: River stores it with the attempt's end, whichever
// way it ends.
func (w *expiryWorker) Work(ctx context.Context, job *river.Job[ExpiryArgs]) error {
	sum := priorOutcome(job.JobRow)
	got, err := w.expire(ctx, job.ID, job.Args.AsOf)
	sum.Points += got.Points
	sum.Members += got.Members
	return errors.Join(err, river.RecordOutput(ctx, sum))
}

// priorOutcome is what the job's earlier attempts expired: its output.
func priorOutcome(job *rivertype.JobRow) ExpiryOutcome {
	var o ExpiryOutcome
	if out := job.Output(); out != nil {
		_ = json.Unmarshal(out, &o) // written by Work: a zero outcome otherwise
	}
	return o
}

// The states of a run, as ExpiryRun tells them.
const (
	ExpiryQueued   = "queued"   // waiting for its first attempt
	ExpiryRunning  = "running"  // an attempt is under way
	ExpiryRetrying = "retrying" // an attempt failed; the next waits for its backoff
	ExpiryDone     = "done"     // an attempt finished the run
	ExpiryFailed   = "failed"   // it ran out of attempts, or was cancelled
)

// ExpiryRun is an expiry run, daily or asked for, as its River job tells
// it. River keeps a run's job for an hour once it is done (a failed one for
// the retention): the audit log keeps each attempt's outcome for ever.
type ExpiryRun struct {
	ID       int64  `json:"id"`
	AsOf     string `json:"as_of"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	// Error is the last failed attempt's, unless the run is done: the step
	// of the run and the database's message, never a member.
	Error    string    `json:"error,omitempty"`
	QueuedAt time.Time `json:"queued_at"`
	// StartedAt is when its last attempt started; FinishedAt when it was
	// done or failed.
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// What its attempts expired, as each ended: members whose attempt
	// died with its process are expired but not counted.
	ExpiryOutcome
}

// expiryRunOf is the run job is, or false when job is not a run.
func expiryRunOf(job *rivertype.JobRow) (ExpiryRun, bool) {
	var args ExpiryArgs
	if job.Kind != ExpiryKind || json.Unmarshal(job.EncodedArgs, &args) != nil {
		return ExpiryRun{}, false
	}
	run := ExpiryRun{ID: job.ID, AsOf: args.AsOf, Attempts: job.Attempt, QueuedAt: job.CreatedAt,
		StartedAt: job.AttemptedAt, FinishedAt: job.FinalizedAt, ExpiryOutcome: priorOutcome(job)}
	switch job.State {
	case rivertype.JobStateRunning:
		run.State = ExpiryRunning
	case rivertype.JobStateCompleted:
		run.State = ExpiryDone
	case rivertype.JobStateDiscarded, rivertype.JobStateCancelled:
		run.State = ExpiryFailed
	case rivertype.JobStateRetryable:
		run.State = ExpiryRetrying
	default: // available, scheduled, pending: retrying once an attempt failed
		run.State = ExpiryQueued
		if len(job.Errors) > 0 {
			run.State = ExpiryRetrying
		}
	}
	if n := len(job.Errors); n > 0 && run.State != ExpiryDone {
		run.Error = job.Errors[n-1].Error
	}
	return run, true
}

// RunExpiry queues an expiry run as of asOf, a date the caller has checked
// (ledger.Service.ExpiryDate), and returns it and true; while a run of the
// date is queued, running or waiting to retry, it returns that one and
// false.
func (o *Outbox) RunExpiry(ctx context.Context, asOf string) (ExpiryRun, bool, error) {
	var res *rivertype.JobInsertResult
	err := o.db.InTx(ctx, func(tx *storage.Tx) error {
		var err error
		res, err = o.insert(ctx, tx, ExpiryArgs{AsOf: asOf})
		return err
	})
	if err != nil {
		return ExpiryRun{}, false, fmt.Errorf("outbox: queue the expiry run: %w", err)
	}
	run, _ := expiryRunOf(res.Job)
	return run, !res.UniqueSkippedAsDuplicate, nil
}

// ExpiryRun is the run whose job is id; storage.ErrNotFound when River holds
// no such run.
func (o *Outbox) ExpiryRun(ctx context.Context, id int64) (ExpiryRun, error) {
	job, err := o.job(ctx, id)
	if errors.Is(err, rivertype.ErrNotFound) {
		return ExpiryRun{}, storage.ErrNotFound
	}
	if err != nil {
		return ExpiryRun{}, fmt.Errorf("outbox: expiry run %d: %w", id, err)
	}
	run, ok := expiryRunOf(job)
	if !ok {
		return ExpiryRun{}, storage.ErrNotFound
	}
	return run, nil
}

// ExpiryRuns are the limit newest expiry runs River holds, daily and asked
// for, newest first.
func (o *Outbox) ExpiryRuns(ctx context.Context, limit int) ([]ExpiryRun, error) {
	res, err := o.list(ctx, river.NewJobListParams().Kinds(ExpiryKind).OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(limit))
	if err != nil {
		return nil, fmt.Errorf("outbox: expiry runs: %w", err)
	}
	runs := make([]ExpiryRun, 0, len(res.Jobs))
	for _, job := range res.Jobs {
		if run, ok := expiryRunOf(job); ok {
			runs = append(runs, run)
		}
	}
	return runs, nil
}

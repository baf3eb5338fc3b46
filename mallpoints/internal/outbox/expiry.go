package outbox

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// The daily expiry run is a River periodic job: River's leader inserts it,
// so with several replicas it runs once a day, and unique by its as_of date
// an insert that races a restart is a duplicate, not a second run.

// ExpiryKind is the River job kind of the daily expiry run.
const ExpiryKind = "expiry"

// DefaultExpiryAt is how long after 00:00 Beijing time the daily run
// starts: late enough that the day's date is settled on every replica's
// clock.
const DefaultExpiryAt = 5 * time.Minute

// ExpiryArgs is the job of one day's expiry run, as of a Beijing date.
type ExpiryArgs struct {
	AsOf string `json:"as_of"`
}

// Kind is the River job kind.
func (ExpiryArgs) Kind() string { return ExpiryKind }

// InsertOpts makes one run per date.
func (ExpiryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Expirer runs expiry as of a Beijing date, idempotently: package ledger's
// Service.Expire.
type Expirer func(ctx context.Context, asOf string) error

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

// Work runs the day's expiry.
func (w *expiryWorker) Work(ctx context.Context, job *river.Job[ExpiryArgs]) error {
	return w.expire(ctx, job.Args.AsOf)
}

package outbox

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// The daily purge is a River periodic job, as the expiry run is: River's
// leader inserts it, so with several replicas it runs on one, once a day.
// The purge (storage.DB.Purge) is idempotent and starts from the oldest
// rows left, so a retry after a failure or a timeout resumes it.

// PurgeKind is the River job kind of the daily purge.
const PurgeKind = "purge"

// Defaults of the purge (Config changes them).
const (
	// DefaultRetention is how long notifications, sync attempts and
	// cancelled or discarded River jobs are kept.
	DefaultRetention = 90 * 24 * time.Hour
	// DefaultPurgeAt is when the daily purge starts after 00:00 Beijing
	// time: when malls are closed.
	DefaultPurgeAt = 4 * time.Hour
	// DefaultPurgePause is the pause between two statements of a purge,
	// each deleting at most storage.DefaultPurgeBatch rows, which leaves
	// the database to the intake in between.
	DefaultPurgePause = 100 * time.Millisecond
)

// PurgeArgs is the job of one day's purge, named by the Beijing date it is
// inserted on.
type PurgeArgs struct {
	Date string `json:"date"`
}

// Kind is the River job kind.
func (PurgeArgs) Kind() string { return PurgeKind }

// InsertOpts makes one job per date.
func (PurgeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// purgeJob is the periodic job on schedule: the purge of the Beijing date
// it is inserted on.
func purgeJob(schedule river.PeriodicSchedule, runOnStart bool, now func() time.Time) *river.PeriodicJob {
	return river.NewPeriodicJob(schedule, func() (river.JobArgs, *river.InsertOpts) {
		return PurgeArgs{Date: now().In(beijing).Format(time.DateOnly)}, nil
	}, &river.PeriodicJobOpts{ID: PurgeKind, RunOnStart: runOnStart})
}

// purgeWorker works PurgeArgs jobs: it deletes what is older than the
// retention when the job runs.
type purgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	db        *storage.DB
	retention time.Duration
	pause     time.Duration // none when negative
	log       *slog.Logger
}

// Timeout: the first purge of a deployment that kept everything for a
// year takes a while; a purge cut short resumes at the next attempt.
func (w *purgeWorker) Timeout(*river.Job[PurgeArgs]) time.Duration { return time.Hour }

// Work purges the rows recorded before the retention, pausing between
// statements.
func (w *purgeWorker) Work(ctx context.Context, job *river.Job[PurgeArgs]) error {
	before := time.Now().Add(-w.retention)
	purged, err := w.db.Purge(ctx, storage.PurgeConfig{Before: before, After: func(ctx context.Context, _ string, _ int64) error {
		if w.pause < 0 {
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(w.pause):
			return nil
		}
	}})
	log := w.log.With("date", job.Args.Date, "before", before.Format(time.RFC3339),
		"notifications", purged[storage.TableNotifications], "sync_attempts", purged[storage.TableSyncAttempts],
		"webhook_deliveries", purged[storage.TableDeliveries])
	if err != nil {
		log.WarnContext(ctx, "outbox: purge cut short; the next attempt resumes it", "error", err)
		return err
	}
	log.InfoContext(ctx, "outbox: purged the rows older than the retention")
	return nil
}

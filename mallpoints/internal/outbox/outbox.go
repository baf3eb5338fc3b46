// Package outbox sends the service's syncs to WeChat Pay: points syncs of
// payments here, and parking states with package parking's worker. Each sync
// is a River job inserted in the same database transaction as the write that
// caused it, so a job exists if and only if that write committed. Workers
// call the SDK's typed business-circle calls; every attempt of every kind of
// sync is recorded in the service's own tables, which outlive River's job
// rows.
package outbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/crm"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/parking"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// Default timings of jobs (Config changes them). A job runs at most
// DefaultJobTimeout; one whose worker died is taken over after
// DefaultRescueAfter plus at most River's 30-second rescue pass, so within a
// minute.
const (
	DefaultJobTimeout  = 15 * time.Second
	DefaultRescueAfter = 25 * time.Second
	// DefaultMaxAttempts bounds the retries of a sync that keeps failing with
	// 401, 429, 5xx or a network error; with backoff capped at
	// DefaultMaxBackoff that is about a day, WeChat Pay's own horizon, before
	// the sync is parked.
	DefaultMaxAttempts = 160
	DefaultMaxBackoff  = 10 * time.Minute
)

// DefaultWorkers is how many syncs one process sends at once unless told
// otherwise. River fetches jobs at most every 100 ms (its FetchCooldown), at
// most as many as there are free workers, so the workers bound a replica's
// syncs per second: 32 allow about 320 per second, more than two cores carry
// with the sandbox beside them, and more than one process should send to
// WeChat Pay at once anyway.
const DefaultWorkers = 32

// SyncArgs is the job of one sync. The job carries only the sync's id: the
// request is built from the database when the job runs, so every attempt
// sends the same points and a parked sync retried after a fix of the rules
// (a brand id) sends the fixed request.
type SyncArgs struct {
	SyncID int64 `json:"sync_id"`
	// Round tells a retry through the API from the job it replaces, which
	// River may not have finished cancelling yet: the number of attempts
	// made before the retry; 0 for the first job.
	Round int `json:"round,omitempty"`
}

// Kind is the River job kind.
func (SyncArgs) Kind() string { return "mallpoints.sync" }

// InsertOpts makes the job unique by its sync id: one job per sync, whatever
// happens to the notification that caused it. Its attempts are bounded by
// Config.MaxAttempts, River's default for the client.
func (SyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Config configures an Outbox.
type Config struct {
	DB *storage.DB
	// Signers give the client that signs each mall's syncs: the merchant
	// that serves it. The clients' own retries should be off
	// (wxpay.WithoutRetries): the outbox retries, recording each attempt.
	Signers parking.Signers
	// Rules holds the rules in force, which give a mall's brand id (品牌ID)
	// for parking syncs; nil sends none.
	Rules *rules.Current
	// Workers is how many syncs run at once; 0 means DefaultWorkers.
	Workers int
	// RetryBase is the first backoff; 0 means one second. Tests shorten it.
	RetryBase time.Duration
	// MaxBackoff caps the backoff; 0 means DefaultMaxBackoff.
	MaxBackoff time.Duration
	// MaxAttempts is how many attempts a sync gets before it is parked; 0
	// means DefaultMaxAttempts.
	MaxAttempts int
	// JobTimeout bounds one attempt; 0 means DefaultJobTimeout.
	JobTimeout time.Duration
	// RescueAfter is how long a job may run before another process takes it
	// over as abandoned (its worker died); 0 means DefaultRescueAfter. It must
	// not be shorter than JobTimeout.
	RescueAfter time.Duration
	Logger      *slog.Logger
	// Expire, if set, is run daily ExpiryAt after 00:00 Beijing time as
	// a River periodic job (by the leader only, with several replicas),
	// and for each run RunExpiry queues.
	Expire Expirer
	// ExpiryAt is the daily run's time after 00:00 Beijing time; 0 means
	// DefaultExpiryAt.
	ExpiryAt time.Duration
	// ExpiryEvery, if set, runs the expiry job every ExpiryEvery (and once
	// at start) instead of daily: for tests. Each run is still as of the
	// Beijing date it is inserted on, and unique by it.
	ExpiryEvery time.Duration
	// Retention is how long notifications and sync attempts are kept
	// before the daily purge deletes them (storage.DB.Purge), and River's
	// cancelled and discarded jobs before River does; 0 means
	// DefaultRetention, and less than storage.MinRetention is refused.
	// River's completed jobs go after an hour: each attempt is recorded in
	// the service's own tables, and the job table is the queue's hot one.
	Retention time.Duration
	// PurgeAt is the daily purge's time after 00:00 Beijing time; 0 means
	// DefaultPurgeAt.
	PurgeAt time.Duration
	// PurgePause is the pause between two statements of a purge; 0 means
	// DefaultPurgePause, negative none.
	PurgePause time.Duration
	// PurgeEvery, if set, runs the purge job every PurgeEvery (and once at
	// start) instead of daily: for tests.
	PurgeEvery time.Duration
	// Decide, if set, makes the decisions of the malls whose CRM decides
	// their points (DecisionArgs jobs).
	Decide Decider
	// CRM sends the webhook deliveries; nil: a crm.Client that follows no
	// redirects.
	CRM *crm.Client
	// OnAttempt, if set, is called after each attempt is recorded, with the
	// sync as it was before the attempt; for metrics.
	OnAttempt func(storage.Attempt, storage.Sync)
	// Authorizations, if set, says why WeChat Pay refused a points sync:
	// a member who withdrew the points service (DEAUTHORIZED) makes the
	// sync not_authorized instead of parked.
	Authorizations Authorizer
	// Recheck, if set, is run every RecheckEvery as a River periodic job
	// (by the leader only): the re-check of members' authorisations.
	Recheck Rechecker
	// RecheckEvery is how often the re-check runs; 0 means
	// DefaultRecheckEvery.
	RecheckEvery time.Duration
}

// Outbox is the queue of syncs and its workers.
type Outbox struct {
	db     *storage.DB
	rules  *rules.Current
	insert func(ctx context.Context, tx *storage.Tx, args river.JobArgs) (*rivertype.JobInsertResult, error)
	job    func(ctx context.Context, id int64) (*rivertype.JobRow, error)
	list   func(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	start  func(ctx context.Context) error
	stop   func(ctx context.Context) error
	cancel func(ctx context.Context) error
}

// New migrates River's tables and prepares the workers; Start starts them.
func New(ctx context.Context, cfg Config) (*Outbox, error) {
	if cfg.DB == nil || cfg.Signers == nil {
		return nil, errors.New("outbox: DB and Signers are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Rules == nil {
		cfg.Rules = rules.NewCurrent(rules.Default())
	}
	cfg = cfg.withDefaults()
	if cfg.Retention < storage.MinRetention {
		return nil, fmt.Errorf("outbox: a retention of %s is under %s: WeChat Pay redelivers a notification for 24h4m, "+
			"and a repeat is known by its id", cfg.Retention, storage.MinRetention)
	}
	if cfg.CRM == nil {
		cfg.CRM = &crm.Client{}
	}
	o := &Outbox{db: cfg.DB, rules: cfg.Rules}
	workers := river.NewWorkers()
	river.AddWorker(workers, &worker{cfg: cfg})
	river.AddWorker(workers, &webhookWorker{cfg: cfg, o: o})
	river.AddWorker(workers, &parking.Worker{DB: cfg.DB, Signers: cfg.Signers, Rules: cfg.Rules,
		JobTimeout: cfg.JobTimeout, Attempt: cfg.attempt})
	rc := &river.Config{
		Queues:                      map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cmp.Or(cfg.Workers, DefaultWorkers)}},
		Workers:                     workers,
		JobTimeout:                  cfg.JobTimeout,
		RescueStuckJobsAfter:        cfg.RescueAfter,
		MaxAttempts:                 cfg.MaxAttempts,
		RetryPolicy:                 &backoff{base: cfg.RetryBase, max: cfg.MaxBackoff},
		CompletedJobRetentionPeriod: time.Hour,
		CancelledJobRetentionPeriod: cfg.Retention,
		DiscardedJobRetentionPeriod: cfg.Retention,
		Logger:                      riverLogger(cfg.Logger),
	}
	river.AddWorker(workers, &purgeWorker{db: cfg.DB, retention: cfg.Retention, pause: cfg.PurgePause, log: cfg.Logger})
	var purgeEvery river.PeriodicSchedule = dailyAt{cmp.Or(cfg.PurgeAt, DefaultPurgeAt)}
	if cfg.PurgeEvery > 0 {
		purgeEvery = river.PeriodicInterval(cfg.PurgeEvery)
	}
	rc.PeriodicJobs = []*river.PeriodicJob{purgeJob(purgeEvery, cfg.PurgeEvery > 0, time.Now)}
	if cfg.Decide != nil {
		river.AddWorker(workers, &decisionWorker{cfg: cfg})
	}
	if cfg.Expire != nil {
		river.AddWorker(workers, &expiryWorker{expire: cfg.Expire})
		var every river.PeriodicSchedule = dailyAt{cmp.Or(cfg.ExpiryAt, DefaultExpiryAt)}
		if cfg.ExpiryEvery > 0 {
			every = river.PeriodicInterval(cfg.ExpiryEvery)
		}
		rc.PeriodicJobs = append(rc.PeriodicJobs, expiryJob(every, cfg.ExpiryEvery > 0, time.Now))
	}
	if cfg.Recheck != nil {
		river.AddWorker(workers, &recheckWorker{recheck: cfg.Recheck})
		rc.PeriodicJobs = append(rc.PeriodicJobs, recheckJob(cmp.Or(cfg.RecheckEvery, DefaultRecheckEvery)))
	}
	var err error
	switch cfg.DB.Engine() {
	case storage.Postgres:
		err = useEngine(ctx, o, riverpgxv5.New(cfg.DB.Pool()), rc, (*storage.Tx).PgxTx)
	default:
		rc.FetchPollInterval = 100 * time.Millisecond // SQLite has no LISTEN: poll
		rc.PollOnly = true
		err = useEngine(ctx, o, riversqlite.New(cfg.DB.SQL()), rc, (*storage.Tx).SQLTx)
	}
	if err != nil {
		return nil, err
	}
	return o, nil
}

// withDefaults fills the timings left zero.
func (cfg Config) withDefaults() Config {
	cfg.RetryBase = cmp.Or(cfg.RetryBase, time.Second)
	cfg.MaxBackoff = cmp.Or(cfg.MaxBackoff, DefaultMaxBackoff)
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, DefaultMaxAttempts)
	cfg.JobTimeout = cmp.Or(cfg.JobTimeout, DefaultJobTimeout)
	cfg.RescueAfter = cmp.Or(cfg.RescueAfter, DefaultRescueAfter)
	cfg.Retention = cmp.Or(cfg.Retention, DefaultRetention)
	cfg.PurgePause = cmp.Or(cfg.PurgePause, DefaultPurgePause)
	return cfg
}

// useEngine builds the River client of one engine, whose transactions are
// TTx, after migrating River's tables.
func useEngine[TTx any](ctx context.Context, o *Outbox, driver riverdriver.Driver[TTx], rc *river.Config,
	unwrap func(*storage.Tx) TTx) error {
	if err := o.db.WithMigrationLock(ctx, func() error { return migrateRiver(ctx, driver) }); err != nil {
		return err
	}
	c, err := river.NewClient(driver, rc)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	o.insert = func(ctx context.Context, tx *storage.Tx, args river.JobArgs) (*rivertype.JobInsertResult, error) {
		return c.InsertTx(ctx, unwrap(tx), args, nil)
	}
	o.job, o.list = c.JobGet, c.JobList
	o.start, o.stop, o.cancel = c.Start, c.Stop, c.StopAndCancel
	return nil
}

// backoff is the retry schedule: doubling from base, capped at max, with a
// tenth of jitter so that syncs failed together spread out.
type backoff struct{ base, max time.Duration }

// NextRetry is River's ClientRetryPolicy: when the job runs again.
func (b *backoff) NextRetry(job *rivertype.JobRow) time.Time {
	n := len(job.Errors)
	d := b.base
	for i := 0; i < n && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	d += time.Duration(rand.Int64N(int64(d)/10 + 1))
	return time.Now().Add(d)
}

// Enqueue inserts the job of the points sync id into tx.
func (o *Outbox) Enqueue(ctx context.Context, tx *storage.Tx, syncID int64) error {
	return o.Insert(ctx, tx, SyncArgs{SyncID: syncID})
}

// Insert inserts a job into tx: a sync of any kind.
func (o *Outbox) Insert(ctx context.Context, tx *storage.Tx, args river.JobArgs) error {
	if _, err := o.insert(ctx, tx, args); err != nil {
		return fmt.Errorf("outbox: insert %s job: %w", args.Kind(), err)
	}
	return nil
}

// Retry moves a parked sync back to pending and inserts a new job for it,
// of its kind, in one transaction. It reports false when the sync was not
// parked.
func (o *Outbox) Retry(ctx context.Context, syncID int64) (bool, error) {
	s, err := o.db.Sync(ctx, syncID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var ok bool
	err = o.db.InTx(ctx, func(tx *storage.Tx) error {
		round, parked, err := tx.Unpark(ctx, syncID)
		if ok = parked; err != nil || !ok {
			return err
		}
		var args river.JobArgs = SyncArgs{SyncID: syncID, Round: round}
		if s.Kind == storage.SyncParking {
			args = parking.Args{SyncID: syncID, Round: round}
		}
		// River may not have finished cancelling the job this one replaces:
		// the round tells them apart.
		if res, err := o.insert(ctx, tx, args); err != nil || res.UniqueSkippedAsDuplicate {
			return cmp.Or(err, fmt.Errorf("outbox: a job for round %d of sync %d exists already", round, syncID))
		}
		return nil
	})
	return ok, err
}

// Start starts the workers.
func (o *Outbox) Start(ctx context.Context) error { return o.start(ctx) }

// Stop stops fetching jobs and waits for the running ones until ctx ends;
// then it cancels them (they are retried later, by this or another
// process).
func (o *Outbox) Stop(ctx context.Context) error {
	err := o.stop(ctx)
	if ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return o.cancel(cctx)
	}
	return err
}

// riverLogger keeps River's own logging to warnings and above.
func riverLogger(l *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{l.Handler(), slog.LevelWarn}).With("component", "river")
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

// Enabled drops records below the filter's level.
func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

// WithAttrs keeps the filter on the derived handler.
func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(a), f.min}
}

// WithGroup keeps the filter on the derived handler.
func (f levelFilter) WithGroup(g string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(g), f.min}
}

// migrateRiver brings River's tables up to date with River's own migrator.
func migrateRiver[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return fmt.Errorf("outbox: river migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("outbox: migrate river tables: %w", err)
	}
	return nil
}

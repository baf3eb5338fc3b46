package memberstatus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/seed2ac2593f/wxpay"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// Default timings and budget (Config changes them).
const (
	DefaultCacheFor = 10 * time.Minute
	DefaultWait     = 500 * time.Millisecond
	// DefaultBudget is the calls a second to each query per calling
	// merchant: counted by the tenth of a second, at most 132 in any
	// second, below WeChat Pay's 150.
	DefaultBudget = 120
	// MinBudget is the least budget: a tenth of it each tenth of a
	// second, of which the re-check takes half, must be a call.
	MinBudget = 20
	// DefaultQueryTimeout bounds a query that goes on after its lookup
	// stopped waiting.
	DefaultQueryTimeout    = 10 * time.Second
	DefaultRecheckInterval = 7 * 24 * time.Hour
	// DefaultRecheckRun bounds one run of the re-check; the next run goes
	// on where the oldest checks then are.
	DefaultRecheckRun = 50 * time.Second
)

// Unknown is a state the service does not know: never asked, or the
// pending-points query answered without a status (204).
const Unknown = "UNKNOWN"

// Signers give the client that signs a mall's calls, the merchant that
// serves it, and the sub_mchid they name (package server's; the outbox's
// too).
type Signers interface {
	ClientFor(ctx context.Context, mall string) (client *wxpay.Client, subMchID string, err error)
}

// Config configures a Service.
type Config struct {
	DB      *storage.DB
	Ledger  *ledger.Service // records authorisation answers and their member events
	Signers Signers
	Rules   *rules.Current // a mall's brand_id and app_ids
	// CacheFor is how long an answer is used; 0 means DefaultCacheFor.
	CacheFor time.Duration
	// Wait is the most a lookup waits for WeChat Pay; 0 means DefaultWait.
	Wait time.Duration
	// Budget is the calls a second to each query per calling merchant,
	// shared by every replica, at least MinBudget; 0 means DefaultBudget.
	Budget int
	// QueryTimeout bounds one query; 0 means DefaultQueryTimeout.
	QueryTimeout time.Duration
	// RecheckInterval is how often a member active in the last 30 days has
	// its authorisation asked again; 0 means DefaultRecheckInterval, and a
	// negative interval turns the re-check off.
	RecheckInterval time.Duration
	// RecheckRun bounds one run of the re-check; 0 means DefaultRecheckRun.
	RecheckRun time.Duration
	// Now is the clock of the cache and of activity; nil means time.Now.
	// The budget counts by the wall clock, the one WeChat Pay counts by.
	Now    func() time.Time
	Logger *slog.Logger
	// OnQuery, if set, is told of each query: QueryAuthorization or
	// QueryCommitStatus, and an Outcome.
	OnQuery func(query, outcome string)
}

// The queries, as the budget and the metrics name them.
const (
	QueryAuthorization = "authorization"
	QueryCommitStatus  = "commit_status"
)

// The outcomes of a query, for Config.OnQuery.
const (
	OutcomeOK          = "ok"           // answered, and the answer recorded
	OutcomeError       = "error"        // refused, failed or unverified
	OutcomeBudgetSpent = "budget_spent" // not made: this tenth of a second's budget is spent
	OutcomeNotSent     = "not_sent"     // not made: no app id or no merchant for the mall
)

// Service answers lookups and runs the re-check.
type Service struct {
	cfg Config

	base   context.Context // of the queries that outlive their lookup
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	inflight map[storage.MemberRef]chan struct{}
}

// New returns the Service cfg describes.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Ledger == nil || cfg.Signers == nil || cfg.Rules == nil {
		return nil, errors.New("memberstatus: DB, Ledger, Signers and Rules are required")
	}
	cfg.CacheFor = cmp.Or(cfg.CacheFor, DefaultCacheFor)
	cfg.Wait = cmp.Or(cfg.Wait, DefaultWait)
	cfg.Budget = cmp.Or(cfg.Budget, DefaultBudget)
	if cfg.Budget < MinBudget {
		return nil, fmt.Errorf("memberstatus: a budget of %d calls a second is below the least, %d", cfg.Budget, MinBudget)
	}
	cfg.QueryTimeout = cmp.Or(cfg.QueryTimeout, DefaultQueryTimeout)
	cfg.RecheckInterval = cmp.Or(cfg.RecheckInterval, DefaultRecheckInterval)
	cfg.RecheckRun = cmp.Or(cfg.RecheckRun, DefaultRecheckRun)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.OnQuery == nil {
		cfg.OnQuery = func(string, string) {}
	}
	s := &Service{cfg: cfg, inflight: map[storage.MemberRef]chan struct{}{}}
	s.base, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Close cancels the queries still under way and waits for them.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// Status is a member's status, as GET /api/members/{mall}/{openid}/status
// answers it.
type Status struct {
	Balance int64 `json:"balance"`
	// Tier is the member's tier now: the one set through the API, else the
	// one its spend reaches; "" when the mall has no tiers.
	Tier string `json:"tier"`
	// Expiring30d is the points whose lots expire within 30 days, or are
	// due and wait for the next expiry run.
	Expiring30d int64 `json:"expiring_30d"`
	// LastSync is the points sync of the member's latest payment; nil when
	// it has none.
	LastSync *storage.LastSync `json:"last_sync"`
	// AuthorizeState is UNAUTHORIZED, AUTHORIZED or DEAUTHORIZED (the
	// member withdrew: its payments earn nothing), or UNKNOWN.
	AuthorizeState string `json:"authorize_state"`
	// PointsCommitStatus is PENDING (payments of today wait for the member
	// to submit them in the plugin), FINISHED, or UNKNOWN: never a number.
	PointsCommitStatus string `json:"points_commit_status"`
	// CheckedAt is when the older of the two states was asked of WeChat
	// Pay (or learnt from an activation); nil when neither ever was.
	CheckedAt *time.Time `json:"checked_at"`
}

// Lookup answers member (mall, openid)'s status, asking WeChat Pay for the
// states whose answers are older than Config.CacheFor, for at most
// Config.Wait. storage.ErrNotFound when the service has no such member
// (nor an erased one's pseudonym: WeChat Pay knows nothing of it).
func (s *Service) Lookup(ctx context.Context, mall, openid string) (Status, error) {
	m, err := s.cfg.DB.Member(ctx, mall, openid)
	if err == nil && m.Erased {
		err = storage.ErrNotFound
	}
	if err != nil {
		return Status{}, err
	}
	now := s.cfg.Now()
	if authorize, commit := s.stale(m, now); authorize || commit {
		done := s.refresh(m, authorize, commit)
		wait := time.NewTimer(s.cfg.Wait)
		select {
		case <-done:
		case <-wait.C:
		case <-ctx.Done():
		}
		wait.Stop()
		if fresh, err := s.cfg.DB.Member(ctx, mall, openid); err == nil {
			m = fresh
		}
	}
	return s.status(ctx, m, now)
}

// stale says which of m's answers are too old to use at now. The
// pending-points answer is about one Beijing day, so one of another day is
// stale too; it is never asked without the mall's brand_id.
func (s *Service) stale(m storage.Member, now time.Time) (authorize, commit bool) {
	authorize = !fresh(m.AuthorizeCheckedAt, now, s.cfg.CacheFor)
	commit = s.cfg.Rules.Load().Mall(m.Mall).BrandID > 0 && !todays(m, now, s.cfg.CacheFor)
	return authorize, commit
}

func fresh(checked, now time.Time, window time.Duration) bool {
	return !checked.IsZero() && now.Sub(checked) < window
}

// todays reports whether m's pending-points answer is of now's Beijing day
// and younger than window.
func todays(m storage.Member, now time.Time, window time.Duration) bool {
	from, _ := rules.BeijingDay(now)
	return fresh(m.CommitCheckedAt, now, window) && !m.CommitCheckedAt.Before(from)
}

// refresh asks WeChat Pay for m's stale answers in the background, one
// query of each kind per member at a time on this replica, and returns a
// channel closed when they are recorded (or failed).
func (s *Service) refresh(m storage.Member, authorize, commit bool) <-chan struct{} {
	key := storage.MemberRef{Mall: m.Mall, OpenID: m.OpenID}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.inflight[key]; ok {
		return ch
	}
	ch := make(chan struct{})
	if s.closed {
		close(ch)
		return ch
	}
	s.inflight[key] = ch
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.base, s.cfg.QueryTimeout)
		defer cancel()
		var wg sync.WaitGroup
		if authorize {
			wg.Go(func() { s.askAuthorization(ctx, m, s.cfg.Budget) })
		}
		if commit {
			wg.Go(func() { s.askCommitStatus(ctx, m, s.cfg.Budget) })
		}
		wg.Wait()
		s.mu.Lock()
		delete(s.inflight, key)
		s.mu.Unlock()
		close(ch)
	}()
	return ch
}

// status is m's status at now, with what is kept of WeChat Pay's answers.
func (s *Service) status(ctx context.Context, m storage.Member, now time.Time) (Status, error) {
	set := s.cfg.Rules.Load()
	st := Status{Balance: m.Balance, AuthorizeState: cmp.Or(m.AuthorizeState, Unknown), PointsCommitStatus: Unknown}
	var checked []time.Time
	if !m.AuthorizeCheckedAt.IsZero() {
		checked = append(checked, m.AuthorizeCheckedAt)
	}
	if from, _ := rules.BeijingDay(now); !m.CommitCheckedAt.IsZero() && !m.CommitCheckedAt.Before(from) {
		st.PointsCommitStatus = cmp.Or(m.CommitStatus, Unknown)
		checked = append(checked, m.CommitCheckedAt)
	}
	for _, at := range checked {
		if st.CheckedAt == nil || at.Before(*st.CheckedAt) {
			st.CheckedAt = &at
		}
	}
	var err error
	if st.Tier, err = ledger.TierAt(ctx, s.cfg.DB, set, m, now, s.cfg.Logger); err != nil {
		return st, err
	}
	if st.Expiring30d, err = s.cfg.DB.Expiring(ctx, m.Mall, m.OpenID, time.Time{}, now.Add(30*24*time.Hour)); err != nil {
		return st, err
	}
	switch l, err := s.cfg.DB.LastSync(ctx, m.Mall, m.OpenID); {
	case err == nil:
		st.LastSync = &l
	case !errors.Is(err, storage.ErrNotFound):
		return st, err
	}
	return st, nil
}

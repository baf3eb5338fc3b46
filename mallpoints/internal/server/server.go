// Package server wires mallpointsd together: the database, the ledger, the
// outbox and the two HTTP surfaces. The public one takes WeChat Pay's
// notifications and health checks; the admin one serves the dashboard and
// the JSON API behind a host check (against DNS rebinding), cross-origin
// protection, and accounts with roles and mall scopes (package accounts).
// Package main only parses flags, listens and handles signals.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/notify"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/crm"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/dashboard"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/lograte"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/memberstatus"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/merchants"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/metrics"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/outbox"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// Config is what a Server needs.
type Config struct {
	// DB is a SQLite file path or a postgres:// URL.
	DB string
	// MchID is the merchant (or service provider) the client signs as:
	// the one merchant of the command-line flags, which serves every mall.
	// With MerchantsPath it is the mall of requests that name none, by
	// default the file's first merchant.
	MchID string
	// Client calls WeChat Pay; build it with wxpay.WithoutRetries, since
	// the outbox retries and records every attempt.
	Client *wxpay.Client
	// Parser verifies and decrypts notifications.
	Parser *notify.Parser
	// MerchantsPath is the merchants file (--merchants), in place of MchID,
	// Client and Parser: each merchant's notifications arrive at
	// /wechatpay/notify/{mchid}, and the bare /wechatpay/notify is 404.
	// MerchantOptions make its clients, at start and at each reload.
	MerchantsPath   string
	MerchantOptions merchants.Options
	// Rules are the rules in force at start; nil means rules.Default, or
	// the file at RulesPath when that is set.
	Rules     *rules.Set
	RulesPath string
	// AdminToken, when set, is the bootstrap administrator's: sent as
	// "Authorization: Bearer …", or typed at the sign-in page. Accounts
	// (mallpointsd users) sign in with their passwords and tokens.
	AdminToken string
	// AdminListen is the address the admin listener was asked for
	// (--admin-listen); requests naming it as their Host are accepted. Off
	// loopback, New refuses to start without an AdminToken or an enabled
	// admin account confined to no mall.
	AdminListen string
	// AdminURLs are the URLs people reach the console by (--admin-url):
	// their hosts are accepted as Host and their origins as Origin.
	AdminURLs []string
	// TrustedProxies are the reverse proxies in front of the admin listener
	// (--admin-trusted-proxies), as addresses or CIDR blocks: from them, a
	// request's client is the right-most X-Forwarded-For entry that is not
	// one of them, for the sign-in throttle and the audit log.
	TrustedProxies []string
	// ProxyUserHeader, when set (--admin-proxy-user-header, such as
	// X-Forwarded-User), signs in whoever a trusted proxy names in it, as
	// the account ProxyAccount maps the name to, provided the request also
	// carries ProxySecret in ProxySecretHeader.
	ProxyUserHeader string
	// ProxySecret is the secret the proxy shares (--admin-proxy-secret-file),
	// at least 32 characters; required with ProxyUserHeader.
	ProxySecret string
	// ProxyAccount maps a name the proxy sends to an existing, enabled
	// account, or reports false (answered 403); nil: the service's
	// accounts (tests give their own).
	ProxyAccount func(ctx context.Context, name string) (accounts.Principal, bool)
	// ReadyCache is how long /readyz answers from its last database check;
	// zero means DefaultReadyCache.
	ReadyCache time.Duration
	Logger     *slog.Logger
	// Workers, RetryBase, MaxBackoff, MaxAttempts, JobTimeout and
	// RescueAfter tune the outbox (see outbox.Config; zero means its default).
	Workers     int
	RetryBase   time.Duration
	MaxBackoff  time.Duration
	MaxAttempts int
	JobTimeout  time.Duration
	RescueAfter time.Duration
	// Retention is how long notifications, sync attempts and River's
	// cancelled and discarded jobs are kept before the daily purge
	// (outbox.Config.Retention); 0 means outbox.DefaultRetention. The
	// ledger is kept for ever.
	Retention time.Duration
	// Expiry bounds the rate of expiry runs (batch size and the pause between
	// batches; zero means ledger.ExpiryBatch and ledger.ExpiryPause).
	Expiry ledger.ExpiryConfig
	// Status tunes members' status lookups and the re-check of their
	// authorisations: the cache, the wait, the budget of WeChat Pay's
	// queries, the re-check interval (zero means memberstatus's defaults).
	// Its DB, Ledger, Signers, Rules, Logger and OnQuery are the server's.
	Status memberstatus.Config
	// RecheckEvery is how often the re-check runs; zero means
	// outbox.DefaultRecheckEvery.
	RecheckEvery time.Duration
	// Metrics, when set, is the registry to count on; nil makes one.
	Metrics *metrics.Metrics
	// Certificates are those the process holds besides the merchants
	// file's: the listeners' (--tls-cert, --admin-tls-cert) and the flags'
	// merchant certificate (--merchant-cert). Their expiry is a gauge, with
	// each merchant's API and platform certificates.
	Certificates []metrics.Certificate
	// Sandbox is the embedded sandbox, in sandbox mode only: the dashboard
	// offers to make payments and refunds there.
	Sandbox dashboard.Simulator
}

// Server is a running mallpointsd, short of its listeners.
type Server struct {
	cfg      Config
	db       *storage.DB
	outbox   *outbox.Outbox
	ledger   *ledger.Service
	rules    *rules.Current
	log      *slog.Logger
	draining atomic.Bool
	public   http.Handler
	admin    http.Handler
	metrics  *metrics.Metrics
	ready    readiness
	accounts *accounts.Service
	routes   []Route // the admin listener's

	// The merchants in force, the malls they serve, and the notification
	// handler of each merchant's URL, by mchid.
	merchants  *merchants.Registry
	malls      *malls
	status     *memberstatus.Service
	notifyAt   atomic.Pointer[map[string]http.Handler]
	limitedLog *slog.Logger
	reloading  sync.Mutex // one merchants reload at a time
}

// DefaultReadyCache is how long /readyz answers from its last database
// check: a flood of it (the endpoint is public) then costs the database one
// check a second, not one per call.
const DefaultReadyCache = time.Second

// readiness is /readyz's last database check.
type readiness struct {
	window time.Duration
	checks prometheus.Counter

	mu      sync.Mutex
	at      time.Time // zero: never checked
	problem string    // empty: ready
}

// New opens the database, runs the migrations (the service's and River's)
// and builds the handlers. Start starts the outbox's workers.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var merchantSet *merchants.Set
	switch {
	case cfg.MerchantsPath != "":
		var err error
		if merchantSet, err = merchants.Load(cfg.MerchantsPath, cfg.MerchantOptions); err != nil {
			return nil, err
		}
		cfg.MchID = cmp.Or(cfg.MchID, merchantSet.Default())
	case cfg.Client == nil || cfg.Parser == nil || cfg.MchID == "":
		return nil, errors.New("server: MerchantsPath, or Client, Parser and MchID, are required")
	default:
		merchantSet = merchants.Single(cfg.MchID, cfg.Client, cfg.Parser)
	}
	set := cfg.Rules
	if set == nil {
		set = rules.Default()
		if cfg.RulesPath != "" {
			var err error
			if set, err = rules.Load(cfg.RulesPath); err != nil {
				return nil, err
			}
		}
	}
	db, err := storage.Open(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s := &Server{cfg: cfg, db: db, rules: rules.NewCurrent(set), log: cfg.Logger, metrics: newMetrics(cfg),
		merchants: merchants.NewRegistry(merchantSet), accounts: accounts.New(accounts.Config{DB: db})}
	if s.cfg.ProxyAccount == nil {
		s.cfg.ProxyAccount = s.proxyAccount
	}
	if err := s.checkAdminAccess(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s.malls = &malls{db: db, merchants: s.merchants, log: cfg.Logger, unlisted: s.metrics.UnlistedMall}
	if err := s.malls.load(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s.ready.window = cmp.Or(cfg.ReadyCache, DefaultReadyCache)
	if s.ready.checks, err = readinessCounter(s.metrics.Registry()); err != nil {
		db.Close()
		return nil, err
	}
	s.outbox, err = outbox.New(ctx, outbox.Config{
		DB: db, Signers: s.malls, Workers: cfg.Workers, RetryBase: cfg.RetryBase,
		MaxBackoff: cfg.MaxBackoff, MaxAttempts: cfg.MaxAttempts, JobTimeout: cfg.JobTimeout, RescueAfter: cfg.RescueAfter,
		Retention: cfg.Retention,
		Rules:     s.rules, Logger: cfg.Logger, OnAttempt: s.observeAttempt, Decide: decisions{s},
		// s.ledger and s.status are set below, before the outbox starts.
		Expire: s.expire, Authorizations: authorizations{s}, Recheck: s.recheck, RecheckEvery: cfg.RecheckEvery,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	s.ledger = ledger.New(db, s.outbox, s.rules, cfg.Logger)
	s.ledger.SetExpiryConfig(cfg.Expiry)
	s.ledger.SetCaller(&crm.Client{})
	sc := cfg.Status
	sc.DB, sc.Ledger, sc.Signers, sc.Rules, sc.Logger, sc.OnQuery = db, s.ledger, s.malls, s.rules, cfg.Logger, s.metrics.MemberQuery
	if s.status, err = memberstatus.New(sc); err != nil {
		db.Close()
		return nil, err
	}
	s.watchState()
	// Anyone can send a notification that fails to verify: its log record
	// is rate-limited, and counted in full by the metrics.
	s.limitedLog = slog.New(lograte.New(s.log.Handler(), lograte.Config{MinLevel: slog.LevelWarn, Dropped: s.metrics.LogDropped}))
	s.useMerchants(merchantSet)
	s.public = s.metrics.Public(s.publicHandler())
	if s.admin, err = s.adminHandler(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// expire is an attempt of an expiry run, daily or asked for through the
// API (the outbox's job): the run's audit entry, the system's, says what
// it expired, when it finished, or stopped half-way having expired members'
// points (committed, a batch of members at a time).
func (s *Server) expire(ctx context.Context, run int64, asOf string) (outbox.ExpiryOutcome, error) {
	res, err := s.ledger.Expire(ctx, asOf)
	if err == nil || len(res.Members) > 0 {
		s.appendAudit(ctx, storage.AuditEntry{Actor: ActorSystem, Action: "expiry.run", Subject: asOf,
			After: storage.AuditValues(map[string]any{"as_of": asOf, "run": run, "points": res.Points,
				"members": len(res.Members), "complete": err == nil})})
	}
	return outbox.ExpiryOutcome{Points: res.Points, Members: len(res.Members)}, err
}

// expiryRuns queues the expiry runs people ask for, on the API and in the
// console, and tells the runs' states: one operation, audited alike.
type expiryRuns struct{ s *Server }

// RunExpiry queues an expiry run as of asOf, a Beijing date not after
// today (else ledger.ErrAsOfInvalid), for r, and writes r's audit entry:
// the run asked for and whether it is new. What the run expires is the
// system's entry, written by the run (expire), as the daily run's is.
func (e expiryRuns) RunExpiry(r *http.Request, asOf string) (outbox.ExpiryRun, bool, error) {
	if _, err := e.s.ledger.ExpiryDate(asOf); err != nil {
		return outbox.ExpiryRun{}, false, err
	}
	run, created, err := e.s.outbox.RunExpiry(r.Context(), asOf)
	if err != nil {
		return outbox.ExpiryRun{}, false, err
	}
	e.s.recordAudit(r, storage.AuditEntry{Action: "expiry.run", Subject: asOf,
		After: storage.AuditValues(map[string]any{"as_of": asOf, "run": run.ID, "new_run": created})})
	return run, created, nil
}

// ExpiryRun is the run whose job is id.
func (e expiryRuns) ExpiryRun(ctx context.Context, id int64) (outbox.ExpiryRun, error) {
	return e.s.outbox.ExpiryRun(ctx, id)
}

// ExpiryRuns are the limit newest runs, newest first.
func (e expiryRuns) ExpiryRuns(ctx context.Context, limit int) ([]outbox.ExpiryRun, error) {
	return e.s.outbox.ExpiryRuns(ctx, limit)
}

// checkAdminAccess refuses an admin listener off loopback that nobody
// could use safely: without the admin token, and without an enabled admin
// account confined to no mall, it would serve no one (there is no implicit
// administrator off loopback) or only people who cannot manage accounts.
func (s *Server) checkAdminAccess(ctx context.Context) error {
	if s.cfg.AdminToken != "" || s.cfg.AdminListen == "" || IsLoopback(s.cfg.AdminListen) {
		return nil
	}
	ok, err := s.accounts.UnscopedAdmin(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("server: --admin-listen %s is not on loopback, and there is no admin token (MALLPOINTS_ADMIN_TOKEN_FILE, "+
			"--admin-token) and no enabled admin account confined to no mall: add one with "+
			"`mallpointsd users add NAME --role admin --db …`; the admin surface changes balances", s.cfg.AdminListen)
	}
	return nil
}

// IsLoopback reports whether addr's host is a loopback address or
// localhost: a listener only this machine reaches.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Accounts are the people and programs of the admin surface.
func (s *Server) Accounts() *accounts.Service { return s.accounts }

// proxyAccount is the enabled account a trusted proxy names (single
// sign-on).
func (s *Server) proxyAccount(ctx context.Context, name string) (accounts.Principal, bool) {
	p, err := s.accounts.Named(ctx, name)
	if err != nil && !errors.Is(err, accounts.ErrCredential) {
		s.log.ErrorContext(ctx, "server: the proxy's user not looked up", "error", err)
	}
	return p, err == nil
}

// recheck is one run of the re-check of members' authorisations.
func (s *Server) recheck(ctx context.Context) error {
	_, err := s.status.Recheck(ctx)
	return err
}

// authorizations hands the outbox's questions about refused syncs to the
// member status service, which is made after the outbox.
type authorizations struct{ s *Server }

func (a authorizations) Authorization(ctx context.Context, mall, openid, appid string) (string, error) {
	return a.s.status.Authorization(ctx, mall, openid, appid)
}

// decisions hands the outbox's decision jobs to the ledger, which is made
// after the outbox.
type decisions struct{ s *Server }

func (d decisions) Decide(ctx context.Context, kind, mall, subject string) error {
	err := d.s.ledger.Decide(ctx, kind, mall, subject)
	if errors.Is(err, ledger.ErrNoDecision) {
		return fmt.Errorf("%w: %w", outbox.ErrGone, err)
	}
	return err
}

func (d decisions) ParkDecision(ctx context.Context, kind, mall, subject string, cause error) error {
	return d.s.ledger.ParkDecision(ctx, kind, mall, subject, cause)
}

// Start downloads the platform certificates of the merchants file's
// merchants that gave platform_certs, keeps them current, and starts the
// outbox's workers.
func (s *Server) Start(ctx context.Context) error {
	if err := s.merchants.Load().StartRefresh(ctx, merchants.RefreshInterval); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if err := s.outbox.Start(ctx); err != nil {
		return fmt.Errorf("server: start outbox: %w", err)
	}
	return nil
}

// Public is the handler of --listen: POST /wechatpay/notify/{mchid} (and,
// with the flags' one merchant, POST /wechatpay/notify), /healthz and
// /readyz.
func (s *Server) Public() http.Handler { return s.public }

// Admin is the handler of --admin-listen: the dashboard at /, the JSON API
// under /api/ and /metrics.
func (s *Server) Admin() http.Handler { return s.admin }

// DB is the database.
func (s *Server) DB() *storage.DB { return s.db }

// Ledger is the points domain.
func (s *Server) Ledger() *ledger.Service { return s.ledger }

// Outbox is the queue of syncs.
func (s *Server) Outbox() *outbox.Outbox { return s.outbox }

// Rules holds the rules in force.
func (s *Server) Rules() *rules.Current { return s.rules }

// ReloadRules reads the rules file again and puts it in force, and writes
// the versions before and after to the audit log as the system's doing (it
// follows a SIGHUP); on error the rules in force stay.
func (s *Server) ReloadRules() (*rules.Set, error) {
	if s.cfg.RulesPath == "" {
		return nil, errors.New("server: no rules file to reload (--rules)")
	}
	set, err := rules.Load(s.cfg.RulesPath)
	if err != nil {
		return nil, err
	}
	old := s.rules.Load()
	s.rules.Store(set)
	s.appendAudit(context.Background(), storage.AuditEntry{Actor: ActorSystem, Action: "rules.reload",
		Before: storage.AuditValues(map[string]any{"version": old.Version()}),
		After:  storage.AuditValues(map[string]any{"version": set.Version()})})
	return set, nil
}

// Drain makes /readyz fail, so a load balancer stops sending, before the
// listeners close.
func (s *Server) Drain() { s.draining.Store(true) }

// Close stops the outbox, letting running syncs finish until ctx ends, and
// closes the database. Close the listeners first.
func (s *Server) Close(ctx context.Context) error {
	s.Drain()
	err := s.outbox.Stop(ctx)
	s.status.Close()
	s.merchants.Load().Stop()
	return errors.Join(err, s.db.Close())
}

func (s *Server) publicHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /wechatpay/notify/{mchid}", s.notifyMerchant)
	if s.cfg.MerchantsPath == "" {
		// The flags' one merchant, at the URL registered before there were several.
		mux.HandleFunc("POST /wechatpay/notify", func(w http.ResponseWriter, r *http.Request) {
			(*s.notifyAt.Load())[s.cfg.MchID].ServeHTTP(w, r)
		})
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	return mux
}

// readyz reports whether the service is not shutting down, and whether
// the database answers and its migrations are done; that check is made at
// most once per ReadyCache, and callers in between share its answer.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	problem := "shutting down"
	if !s.draining.Load() {
		problem = s.checkReady(r.Context())
	}
	if problem != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(problem + "\n"))
		return
	}
	w.Write([]byte("ready\n"))
}

// checkReady returns the last database check's problem ("" when ready),
// checking again when it is older than the window. Callers wait for a
// check under way rather than start their own.
func (s *Server) checkReady(ctx context.Context) string {
	rd := &s.ready
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if !rd.at.IsZero() && time.Since(rd.at) < rd.window {
		return rd.problem
	}
	// The answer is shared: one caller giving up must not make it a failure.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	rd.checks.Inc()
	rd.problem = ""
	switch {
	case s.db.Ping(ctx) != nil:
		rd.problem = "database unreachable"
	case s.db.MigrationsCurrent(ctx) != nil:
		rd.problem = "database migrations not applied"
	}
	rd.at = time.Now()
	return rd.problem
}

// readinessCounter counts /readyz's database checks on reg, or finds the
// counter there when another Server on the same registry made it.
func readinessCounter(reg *prometheus.Registry) (prometheus.Counter, error) {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "mallpoints_readiness_checks_total",
		Help: "Database checks made by /readyz; calls within the readiness cache window reuse the last one."})
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(prometheus.Counter); ok {
				return existing, nil
			}
		}
		return nil, fmt.Errorf("server: register readiness counter: %w", err)
	}
	return c, nil
}

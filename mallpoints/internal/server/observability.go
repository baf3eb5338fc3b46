package server

import (
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/api"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/dashboard"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/metrics"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// Metrics is the service's Prometheus registry, served at /metrics on the
// admin listener.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// newMetrics returns the configured metrics, or new ones.
func newMetrics(cfg Config) *metrics.Metrics {
	if cfg.Metrics != nil {
		return cfg.Metrics
	}
	return metrics.New(cfg.Logger)
}

// observeAttempt counts a recorded sync attempt of sync and, when it
// landed, the sync's lag from its creation.
func (s *Server) observeAttempt(a storage.Attempt, sync storage.Sync) {
	s.metrics.ObserveAttempt(a)
	if a.Outcome == storage.AttemptOK {
		s.metrics.ObserveSyncLag(a.At.Sub(sync.CreatedAt))
	}
}

// watchState registers the gauges read from the database at scrape time.
func (s *Server) watchState() {
	s.metrics.WatchState(s.db, s.rules, time.Now)
}

// observe mounts /metrics and the dashboard on the admin mux, and returns
// the guard of the admin surface: the bearer token, or the dashboard's
// session cookie for its pages.
func (s *Server) observe(mux *http.ServeMux) (func(http.Handler) http.Handler, error) {
	d, err := dashboard.New(dashboard.Config{
		DB: s.db, Rules: s.rules, Retrier: s.outbox, Decider: s.ledger, Actor: api.Actor, MchID: s.cfg.MchID,
		Token: s.cfg.AdminToken, Sandbox: s.cfg.Sandbox, Logger: s.log, MallName: s.malls.Name, Audit: s.recordAudit,
	})
	if err != nil {
		return nil, err
	}
	mux.Handle("GET /metrics", s.metrics.Handler())
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.Handle("/", d.Handler())
	return d.Guard, nil
}

package server

import (
	"time"

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

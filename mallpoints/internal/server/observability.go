package server

import (
	"slices"
	"time"

	"github.com/seed2ac2593f/wxpay"

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

// watchState registers the gauges read at scrape time: from the database,
// with a silence for every mall the rules file or the merchants file
// names, and the certificates' expiry.
func (s *Server) watchState() {
	var named func() []string
	if s.cfg.MerchantsPath != "" {
		// The flags' one merchant may be a provider, never notified for
		// its own mchid: only a file says which malls it serves.
		named = func() []string { return s.merchants.Load().Malls() }
	}
	s.metrics.WatchState(s.db, s.rules, named, time.Now)
	s.metrics.WatchCertificates(s.certificates, time.Now)
}

// certificates lists the certificates the process holds: the configured
// ones, and each merchant's API certificate and the platform certificates
// in its key ring, which the refresher keeps current.
func (s *Server) certificates() []metrics.Certificate {
	list := slices.Clone(s.cfg.Certificates)
	for _, m := range s.merchants.Load().Merchants() {
		if m.Cert != nil {
			list = append(list, metrics.Certificate{Kind: metrics.CertMerchant, Merchant: m.MchID,
				Serial: wxpay.CertificateSerial(m.Cert), NotAfter: m.Cert.NotAfter})
		}
		if m.Client == nil {
			continue
		}
		for _, c := range m.Client.KeyRing().Certificates() {
			list = append(list, metrics.Certificate{Kind: metrics.CertPlatform, Merchant: m.MchID,
				Serial: wxpay.CertificateSerial(c), NotAfter: c.NotAfter})
		}
	}
	return list
}

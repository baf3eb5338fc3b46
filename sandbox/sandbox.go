package sandbox

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/seed2ac2593f/wxpay/internal/delivery"
)

// Sandbox is a local WeChat Pay for the smart business circle: an
// http.Handler serving the emulated /v3/ paths and the admin API under
// /sandbox/. Build it with New and Close it to stop notification deliveries.
// It is safe for concurrent use.
type Sandbox struct {
	cfg       Config
	now       func() time.Time
	log       *slog.Logger
	merchants map[string]*merchant
	order     []*merchant // as configured; the first acts for admin requests that name no merchant
	keys      *keySet
	endpoints []*endpoint
	admin     http.Handler
	queue     *delivery.Queue
	state     *state
	faults    faultSet
	rate      rateLimiter

	randMu sync.Mutex
	rand   *mrand.Rand
}

// New checks cfg and returns a sandbox ready to serve. The error names what
// is wrong with the configuration.
func New(cfg Config) (*Sandbox, error) {
	s := &Sandbox{cfg: cfg, now: cfg.Now, log: cfg.Logger, merchants: map[string]*merchant{}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Merchants) == 0 {
		return nil, errors.New("sandbox: no merchant configured")
	}
	for _, c := range cfg.Merchants {
		m, err := newMerchant(c)
		if err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		if s.merchants[m.MchID] != nil {
			return nil, fmt.Errorf("sandbox: merchant %s configured twice", m.MchID)
		}
		s.merchants[m.MchID] = m
		s.order = append(s.order, m)
	}
	var err error
	if s.keys, err = newKeySet(cfg.PublicKey, cfg.PlatformCertificates); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if cfg.NotifyPublicKeyShare < 0 || cfg.NotifyPublicKeyShare > 1 {
		return nil, fmt.Errorf("sandbox: NotifyPublicKeyShare %v is not between 0 and 1", cfg.NotifyPublicKeyShare)
	}
	if cfg.HoldPaymentsFor < 0 {
		return nil, fmt.Errorf("sandbox: HoldPaymentsFor %v is negative", cfg.HoldPaymentsFor)
	}
	if s.cfg.DeauthorizedSyncAnswer == (ErrorAnswer{}) {
		s.cfg.DeauthorizedSyncAnswer = defaultDeauthorizedSync
	} else if err := cfg.DeauthorizedSyncAnswer.check("DeauthorizedSyncAnswer"); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	src := cfg.Rand
	if src == nil {
		var seed [16]byte
		rand.Read(seed[:])
		src = mrand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:]))
	}
	s.rand = mrand.New(src)
	s.state = newState(defaultLimits)
	s.endpoints = s.businessCircleEndpoints()
	s.admin = s.adminHandler()
	s.queue = delivery.New(delivery.Config{
		Schedule: cfg.NotifyRetrySchedule,
		Timeout:  cfg.NotifyTimeout,
		Client:   cfg.NotifyClient,
		Logger:   s.log,
	})
	return s, nil
}

// ServeHTTP answers requests to /v3/… as WeChat Pay would and those to
// /sandbox/… with the admin API.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/sandbox/") {
		s.admin.ServeHTTP(w, r)
		return
	}
	s.serveAPI(w, r)
}

// Close stops notification deliveries: scheduled retries are cancelled and
// attempts in flight end. The handler keeps answering requests.
func (s *Sandbox) Close() { s.queue.Close() }

// draw reports true with probability p; 0 and 1 never draw.
func (s *Sandbox) draw(p float64) bool {
	switch {
	case p <= 0:
		return false
	case p >= 1:
		return true
	}
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return s.rand.Float64() < p
}

// merchantFor is the merchant an admin request acts for: the one named, else
// the provider of the sub-merchant named, else the first.
func (s *Sandbox) merchantFor(mchid, subMchID string) (*merchant, error) {
	if mchid != "" {
		m := s.merchants[mchid]
		if m == nil {
			return nil, &InputError{Field: "mchid", Message: "no merchant " + mchid + " is configured"}
		}
		return m, nil
	}
	if subMchID != "" {
		for _, m := range s.order {
			if _, ok := m.subs[subMchID]; ok {
				return m, nil
			}
		}
	}
	return s.order[0], nil
}

// cst is Beijing time, in which WeChat Pay writes times and counts days.
var cst = time.FixedZone("CST", 8*3600)

// formatTime writes t as WeChat Pay does: RFC 3339 in +08:00.
func formatTime(t time.Time) string { return t.In(cst).Format(time.RFC3339) }

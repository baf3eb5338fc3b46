package sandbox

import (
	"maps"
	"net/http"
	"sync"
	"time"
)

// documentedRateLimits are the requests per second WeChat Pay documents for
// the emulated endpoints (docs/protocol.md §6.2, §8): only the authorisation
// query has one; for the others no figure is published, so none is invented.
var documentedRateLimits = map[string]int{PathUserAuthorization: 150}

// DocumentedRateLimits returns the per-second limits Config.RateLimits
// enforces, by endpoint path template: 150 for PathUserAuthorization.
func DocumentedRateLimits() map[string]int { return maps.Clone(documentedRateLimits) }

// rateLimiter counts each merchant's requests to each endpoint in the
// current second of the sandbox clock, so that a test with a fixed clock
// sees exactly the limit pass and the next request refused.
type rateLimiter struct {
	mu     sync.Mutex
	second int64
	counts map[rateKey]int
}

type rateKey struct{ mchid, endpoint string }

// allow counts one request and reports whether it is within limit.
func (l *rateLimiter) allow(now time.Time, key rateKey, limit int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sec := now.Unix(); sec != l.second || l.counts == nil {
		l.second, l.counts = sec, map[rateKey]int{}
	}
	if l.counts[key] >= limit {
		return false
	}
	l.counts[key]++
	return true
}

// limitRate is the pipeline step of Config.RateLimits: a merchant beyond an
// endpoint's documented limit in this second is answered 429
// FREQUENCY_LIMITED, as WeChat Pay answers, before the endpoint acts.
func (s *Sandbox) limitRate(x *exchange) *apiError {
	limit, ok := documentedRateLimits[x.endpoint.name]
	if !s.cfg.RateLimits || !ok {
		return nil
	}
	if !s.rate.allow(s.now(), rateKey{x.merchant.MchID, x.endpoint.name}, limit) {
		return newError(http.StatusTooManyRequests, "FREQUENCY_LIMITED", msgFrequencyLimited, "documented rate limit reached")
	}
	return nil
}

package dashboard

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Wrong tokens at /signin are limited per client address, so the admin
// token cannot be guessed at the speed of the network: after
// signinFailures wrong tokens within signinWindow of the first, every
// sign-in from that address, right token or not, is refused with 429 until
// the window ends. Behind a reverse proxy every browser shares the proxy's
// address and so its limit; the Bearer-token API is never limited.
const (
	signinFailures = 10
	signinWindow   = 10 * time.Minute
	// signinClients bounds the addresses tracked at once. When that many
	// have failed within their windows, sign-ins from new addresses are
	// refused too (failing closed) until windows end.
	signinClients = 10000
)

type signinLimiter struct {
	now func() time.Time
	max int // addresses tracked at once

	mu     sync.Mutex
	failed map[string]*failures
}

// failures are an address's wrong tokens since the first one of its window.
type failures struct {
	count int
	since time.Time
}

func newSigninLimiter(now func() time.Time) *signinLimiter {
	return &signinLimiter{now: now, max: signinClients, failed: map[string]*failures{}}
}

// blocked reports whether addr may not sign in now, and until when.
func (l *signinLimiter) blocked(addr string) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	f, ok := l.failed[addr]
	switch {
	case ok && now.Sub(f.since) >= signinWindow:
		delete(l.failed, addr)
	case ok:
		if f.count >= signinFailures {
			return true, f.since.Add(signinWindow)
		}
		return false, time.Time{}
	}
	if len(l.failed) >= l.max {
		l.sweep(now)
		if len(l.failed) >= l.max {
			return true, l.oldest().Add(signinWindow)
		}
	}
	return false, time.Time{}
}

// fail counts a wrong token from addr.
func (l *signinLimiter) fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	f, ok := l.failed[addr]
	if !ok || now.Sub(f.since) >= signinWindow {
		if !ok && len(l.failed) >= l.max {
			l.sweep(now)
			if len(l.failed) >= l.max {
				return // blocked already: blocked refuses new addresses while full
			}
		}
		f = &failures{since: now}
		l.failed[addr] = f
	}
	f.count++
}

// sweep forgets the addresses whose windows have ended.
func (l *signinLimiter) sweep(now time.Time) {
	for a, f := range l.failed {
		if now.Sub(f.since) >= signinWindow {
			delete(l.failed, a)
		}
	}
}

// oldest is the start of the oldest window tracked.
func (l *signinLimiter) oldest() time.Time {
	var t time.Time
	for _, f := range l.failed {
		if t.IsZero() || f.since.Before(t) {
			t = f.since
		}
	}
	return t
}

// clientAddr is the IP address r came from.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

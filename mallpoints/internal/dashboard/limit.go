package dashboard

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Wrong admin tokens, at /signin or as a Bearer token, are limited per
// client, so the token cannot be guessed at the speed of the network: after
// signinFailures wrong tokens within signinWindow of the first, every token
// from that client, right or not, is refused with 429 until the window
// ends. A client is an IPv4 address, or an IPv6 /64 (what one subscriber
// holds). Behind a reverse proxy every browser shares the proxy's address
// and so its limit.
const (
	signinFailures = 10
	signinWindow   = 10 * time.Minute
	// signinClients bounds the clients tracked at once. When the table is
	// full the oldest window is forgotten: many addresses with a wrong token
	// each must not lock out everyone else.
	signinClients = 10000
)

type signinLimiter struct {
	now func() time.Time
	max int // clients tracked at once

	mu     sync.Mutex
	failed map[string]*list.Element // of *failures
	order  list.List                // of *failures, oldest window first
}

// failures are a client's wrong tokens since the first one of its window.
type failures struct {
	client string
	count  int
	since  time.Time
}

func newSigninLimiter(now func() time.Time) *signinLimiter {
	return &signinLimiter{now: now, max: signinClients, failed: map[string]*list.Element{}}
}

// blocked reports whether addr may not try a token now, and until when.
func (l *signinLimiter) blocked(addr string) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expire(l.now())
	if e, ok := l.failed[clientKey(addr)]; ok {
		if f := e.Value.(*failures); f.count >= signinFailures {
			return true, f.since.Add(signinWindow)
		}
	}
	return false, time.Time{}
}

// fail counts a wrong token from addr, and reports whether it is the one
// that blocks the client: a burst of wrong tokens is audited once, there.
func (l *signinLimiter) fail(addr string) (blocks bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.expire(now)
	key := clientKey(addr)
	if e, ok := l.failed[key]; ok {
		f := e.Value.(*failures)
		f.count++
		return f.count == signinFailures
	}
	if l.order.Len() >= l.max {
		oldest := l.order.Front()
		delete(l.failed, oldest.Value.(*failures).client)
		l.order.Remove(oldest)
	}
	l.failed[key] = l.order.PushBack(&failures{client: key, count: 1, since: now})
	return signinFailures == 1
}

// expire forgets the windows that have ended; windows start in the order
// they are kept, so those are at the front.
func (l *signinLimiter) expire(now time.Time) {
	for e := l.order.Front(); e != nil && now.Sub(e.Value.(*failures).since) >= signinWindow; e = l.order.Front() {
		delete(l.failed, e.Value.(*failures).client)
		l.order.Remove(e)
	}
}

// clientKey is what the limit counts: an IPv4 address, or the /64 of an
// IPv6 address. Anything unparsable counts as itself.
func clientKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// clientAddr is the IP address r came from (behind a trusted proxy, the
// client's: package server rewrites RemoteAddr).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

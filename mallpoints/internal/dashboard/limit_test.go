package dashboard

import (
	"fmt"
	"testing"
	"time"
)

func TestSigninLimiterRefusesAnAddressAfterTenWrongTokensUntilItsWindowEnds(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	now := start
	l := newSigninLimiter(func() time.Time { return now })
	const a, b = "203.0.113.7", "198.51.100.9"
	for i := range signinFailures {
		if blocked, _ := l.blocked(a); blocked {
			t.Fatalf("blocked after %d wrong tokens, want %d allowed", i, signinFailures)
		}
		l.fail(a)
		now = now.Add(time.Second)
	}
	for _, step := range []struct {
		name    string
		at      time.Duration // since the first wrong token
		addr    string
		blocked bool
	}{
		{"the address that failed, right after", 11 * time.Second, a, true},
		{"another address", 11 * time.Second, b, false},
		{"the address, just before its window ends", signinWindow - time.Second, a, true},
		{"the address, once its window has ended", signinWindow, a, false},
	} {
		now = start.Add(step.at)
		blocked, until := l.blocked(step.addr)
		if blocked != step.blocked {
			t.Errorf("%s: blocked %v, want %v", step.name, blocked, step.blocked)
		}
		if blocked && !until.Equal(start.Add(signinWindow)) {
			t.Errorf("%s: blocked until %v, want %v", step.name, until, start.Add(signinWindow))
		}
	}
}

func TestSigninLimiterCountsAnIPv6AddressByItsSlash64(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	l := newSigninLimiter(func() time.Time { return now })
	// An IPv6 client holds a whole /64: each wrong token from another
	// address of it counts against the same limit.
	for i := range signinFailures {
		l.fail(fmt.Sprintf("2001:db8:1:2::%x", i+1))
	}
	for _, c := range []struct {
		addr    string
		blocked bool
	}{
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", true},
		{"2001:db8:1:3::1", false}, // the next /64
		{"::ffff:203.0.113.7", false},
		{"203.0.113.7", false},
	} {
		if blocked, _ := l.blocked(c.addr); blocked != c.blocked {
			t.Errorf("%s: blocked %v, want %v", c.addr, blocked, c.blocked)
		}
	}
	// An IPv4-mapped address is its IPv4 address.
	for range signinFailures {
		l.fail("::ffff:198.51.100.9")
	}
	if blocked, _ := l.blocked("198.51.100.9"); !blocked {
		t.Error("198.51.100.9 is not blocked after ten wrong tokens as ::ffff:198.51.100.9")
	}
}

func TestSigninLimiterEvictsTheOldestWindowsWhenFullInsteadOfRefusingEveryone(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	now := start
	l := newSigninLimiter(func() time.Time { return now })
	l.max = 100
	// One wrong token from each of many more addresses than the table
	// holds, as from a botnet: nobody else may be locked out.
	for i := range 10050 {
		l.fail(fmt.Sprintf("10.%d.%d.%d", i>>16&0xff, i>>8&0xff, i&0xff))
		now = now.Add(time.Millisecond)
	}
	if len(l.failed) > l.max {
		t.Errorf("%d addresses tracked, want at most %d", len(l.failed), l.max)
	}
	if blocked, _ := l.blocked("192.0.2.1"); blocked {
		t.Error("a fresh address is refused while the table is full")
	}
	// An address that reached its limit stays blocked while the table
	// turns over with single failures of others, as long as it is not the
	// oldest window.
	for range signinFailures {
		l.fail("192.0.2.66")
	}
	for i := range l.max - 1 {
		l.fail(fmt.Sprintf("172.16.0.%d", i))
	}
	if blocked, _ := l.blocked("192.0.2.66"); !blocked {
		t.Error("the guessing address was let go while its window was not the oldest")
	}
}

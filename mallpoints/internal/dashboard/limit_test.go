package dashboard

import (
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

func TestSigninLimiterFailsClosedWhenItTracksAsManyAddressesAsItMay(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	l := newSigninLimiter(func() time.Time { return now })
	l.max = 3
	for _, a := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		l.fail(a)
	}
	if blocked, _ := l.blocked("10.0.0.4"); !blocked {
		t.Error("a new address was let through while the table was full")
	}
	if blocked, _ := l.blocked("10.0.0.1"); blocked {
		t.Error("a tracked address under its limit was refused")
	}
	now = now.Add(signinWindow)
	if blocked, _ := l.blocked("10.0.0.4"); blocked {
		t.Error("a new address is still refused after every window ended")
	}
}

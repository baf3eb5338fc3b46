package main

import (
	"crypto/sha256"
	"testing"
	"time"
)

func TestSelfCPUCountsTheWorkDoneBetweenTwoReadings(t *testing.T) {
	t.Parallel()
	start := selfCPU()
	deadline := time.Now().Add(30 * time.Millisecond)
	sum := sha256.Sum256(nil)
	for time.Now().Before(deadline) {
		sum = sha256.Sum256(sum[:])
	}
	if used := selfCPU() - start; used < 10*time.Millisecond {
		t.Fatalf("30 ms of hashing counted as %v of CPU time", used)
	}
}
func TestParseStatReadsUserAndSystemTicksAfterTheCommandName(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, stat string
		want       time.Duration
		ok         bool
	}{
		{"plain", "4242 (mallpointsd) S 1 4242 4242 0 -1 4194560 9000 0 0 0 150 25 0 0 20 0 12 0", 1750 * time.Millisecond, true},
		{"a name with spaces and parentheses", "7 (a b) c)) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0", 70 * time.Millisecond, true},
		{"no command name", "4242 mallpointsd S 1", 0, false},
		{"cut short", "4242 (x) S 1 2 3", 0, false},
		{"not a number", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 4 0 0", 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseStat(c.stat)
			if (err == nil) != c.ok || got != c.want {
				t.Errorf("parseStat(%q) = %v, %v; want %v (ok %v)", c.stat, got, err, c.want, c.ok)
			}
		})
	}
}

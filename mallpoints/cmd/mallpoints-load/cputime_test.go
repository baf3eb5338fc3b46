package main

import (
	"crypto/sha256"
	"testing"
	"time"
)

func TestSelfCPUCountsTheWorkDoneBetweenTwoReadings(t *testing.T) {
	t.Parallel()
	// Hash until the reading has advanced by 10 ms. On a busy machine that
	// takes longer in wall time, never forever; a reading that does not move
	// runs into the deadline.
	start := selfCPU()
	sum := sha256.Sum256(nil)
	for deadline := time.Now().Add(10 * time.Second); selfCPU()-start < 10*time.Millisecond; {
		if time.Now().After(deadline) {
			t.Fatalf("10 s of hashing counted as %v of CPU time", selfCPU()-start)
		}
		for range 1000 {
			sum = sha256.Sum256(sum[:])
		}
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

package main

import (
	"runtime"
	"testing"
	"time"
)

func TestTheCryptoBaselineCountsOneSignTwoVerifiesAndOneDecryption(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("makes a 2048-bit key and runs three benchmarks")
	}
	c := measureCrypto()
	if c.sign <= 0 || c.verify <= 0 || c.open <= 0 {
		t.Fatalf("an operation was not measured: %+v", c)
	}
	if c.total() != c.sign+2*c.verify+c.open {
		t.Errorf("total %v is not one sign, two verifies and one open of %+v", c.total(), c)
	}
}

func TestTheSamplerTimesTheSameCryptoOnItsOwnThreadDuringTheRun(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("makes a 2048-bit key and signs for a while")
	}
	s := sampleCrypto(5 * time.Millisecond)
	time.Sleep(400 * time.Millisecond)
	// The sampler makes its key first, which takes seconds when other
	// tests share the machine: wait for a round rather than a fixed time.
	for deadline := time.Now().Add(time.Minute); runtime.GOOS == "linux" && s.sampled() < 1 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	c, rounds := s.result()
	if runtime.GOOS != "linux" {
		if rounds != 0 {
			t.Errorf("%d rounds without a thread CPU clock", rounds)
		}
		return
	}
	if rounds < 1 {
		t.Fatal("no round was sampled in a minute at one every 5 ms")
	}
	if !(c.sign > c.verify && c.verify > 0 && c.open > 0) {
		t.Errorf("a signature must cost more than a verification, and each something: %+v", c)
	}
}

package main

import (
	"runtime"
	"testing"
	"time"
)

func TestAPaymentsCryptoIsOneSignTwoVerifiesAndOneDecryption(t *testing.T) {
	t.Parallel()
	c := cryptoCost{sign: 1000 * time.Microsecond, verify: 100 * time.Microsecond, open: 10 * time.Microsecond}
	if got, want := c.total(), 1210*time.Microsecond; got != want {
		t.Errorf("total of %+v = %v, want %v (one sign, two verifies, one decryption)", c, got, want)
	}
}

func TestTheCryptoBaselineMeasuresEachOperation(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("makes a 2048-bit key and runs three benchmarks")
	}
	o := newCryptoOps()
	for name, op := range map[string]func() error{"sign": o.sign, "verify": o.verify, "open": o.open} {
		if err := op(); err != nil {
			t.Fatalf("%s fails, so it measures an error path: %v", name, err)
		}
	}
	c := measureCrypto()
	if !(c.sign > c.verify && c.verify > 0 && c.open > 0) {
		t.Errorf("a signature must cost more than a verification, and each something: %+v", c)
	}
}

func TestTheSamplerTimesTheSameCryptoOnItsOwnThreadDuringTheRun(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("makes a 2048-bit key and signs for a while")
	}
	s := sampleCrypto(5 * time.Millisecond)
	if runtime.GOOS == "linux" {
		// The sampler makes its key first, which takes seconds when other
		// tests share the machine: wait for its first round. The limit only
		// bounds a hang.
		select {
		case <-s.first:
		case <-time.After(time.Minute):
		}
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

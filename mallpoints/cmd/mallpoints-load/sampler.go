package main

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// cryptoSampler measures the same cryptography as measureCrypto while the
// load runs: a few operations at a time, on one locked thread, timed by
// that thread's CPU clock. The service's CPU per payment is taken under
// load, with the other processes of the loop (the sandbox, the load
// generator, the database) competing for the same two cores and their
// caches; the crypto it is divided by is best measured under the same
// conditions, at a cost of well under one percent of a core.
type cryptoSampler struct {
	mu               sync.Mutex
	sign, verify, op time.Duration
	rounds           int
	stop             context.CancelFunc
	done             chan struct{}
	first            chan struct{} // closed when the first round is counted
}

// sampleCrypto starts sampling every interval until the sampler is stopped.
func sampleCrypto(every time.Duration) *cryptoSampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &cryptoSampler{stop: cancel, done: make(chan struct{}), first: make(chan struct{})}
	go s.run(ctx, every)
	return s
}

func (s *cryptoSampler) run(ctx context.Context, every time.Duration) {
	defer close(s.done)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	o := newCryptoOps()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		t0 := threadCPU()
		must(o.sign())
		t1 := threadCPU()
		must(o.verify())
		must(o.verify())
		t2 := threadCPU()
		must(o.open())
		t3 := threadCPU()
		if t3 == t0 {
			continue // no thread CPU clock on this system
		}
		s.mu.Lock()
		s.sign += t1 - t0
		s.verify += (t2 - t1) / 2
		s.op += t3 - t2
		s.rounds++
		if s.rounds == 1 {
			close(s.first)
		}
		s.mu.Unlock()
	}
}

// result stops the sampler and returns the mean cost of each operation
// and the number of rounds it is the mean of.
func (s *cryptoSampler) result() (cryptoCost, int) {
	s.stop()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	n := time.Duration(max(s.rounds, 1))
	return cryptoCost{sign: s.sign / n, verify: s.verify / n, open: s.op / n}, s.rounds
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

package main

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
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
}

// sampleCrypto starts sampling every interval until the sampler is stopped.
func sampleCrypto(every time.Duration) *cryptoSampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &cryptoSampler{stop: cancel, done: make(chan struct{})}
	go s.run(ctx, every)
	return s
}

func (s *cryptoSampler) run(ctx context.Context, every time.Duration) {
	defer close(s.done)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	msg := make([]byte, 600)
	rand.Read(msg)
	d := sha256.Sum256(msg)
	sig, _ := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:])
	k := make([]byte, 32)
	rand.Read(k)
	blk, _ := aes.NewCipher(k)
	gcm, _ := cipher.NewGCM(blk)
	nonce := make([]byte, gcm.NonceSize())
	sealed := gcm.Seal(nil, nonce, make([]byte, 500), []byte("mall_transaction"))
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		t0 := threadCPU()
		d := sha256.Sum256(msg)
		if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:]); err != nil {
			panic(err)
		}
		t1 := threadCPU()
		for range 2 {
			d := sha256.Sum256(msg)
			if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, d[:], sig); err != nil {
				panic(err)
			}
		}
		t2 := threadCPU()
		if _, err := gcm.Open(nil, nonce, sealed, []byte("mall_transaction")); err != nil {
			panic(err)
		}
		t3 := threadCPU()
		if t3 == t0 {
			continue // no thread CPU clock on this system
		}
		s.mu.Lock()
		s.sign += t1 - t0
		s.verify += (t2 - t1) / 2
		s.op += t3 - t2
		s.rounds++
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

package main

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"syscall"
	"testing"
	"time"
)

// cryptoCost is what one payment's unavoidable cryptography costs, pure Go:
// the service verifies the notification's signature and decrypts its
// resource (AES-256-GCM), signs its points sync, and verifies the signed
// answer.
type cryptoCost struct{ sign, verify, open time.Duration }

func (c cryptoCost) total() time.Duration { return c.sign + 2*c.verify + c.open }

// measureCrypto times each operation with testing.Benchmark on a fresh
// 2048-bit key (the size WeChat Pay uses), over messages of the size the
// service signs.
func measureCrypto() cryptoCost {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	msg := make([]byte, 600) // method, path, timestamp, nonce and a sync's JSON body
	rand.Read(msg)
	digest := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	if err != nil {
		panic(err)
	}
	var c cryptoCost
	c.sign = perOp(func() error {
		d := sha256.Sum256(msg)
		_, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:])
		return err
	})
	c.verify = perOp(func() error {
		d := sha256.Sum256(msg)
		return rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, d[:], sig)
	})
	k := make([]byte, 32)
	rand.Read(k)
	blk, _ := aes.NewCipher(k)
	gcm, _ := cipher.NewGCM(blk)
	nonce := make([]byte, gcm.NonceSize())
	sealed := gcm.Seal(nil, nonce, make([]byte, 500), []byte("mall_transaction"))
	c.open = perOp(func() error {
		_, err := gcm.Open(nil, nonce, sealed, []byte("mall_transaction"))
		return err
	})
	return c
}

// perOp is the CPU time (user + system, from the process's rusage) per
// operation of f over all of testing.Benchmark's rounds. CPU time, not wall
// time, so that it compares with the service's CPU time even when other
// programs share the machine.
func perOp(op func() error) time.Duration {
	var ops int
	cpu0 := processCPU()
	testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			if err := op(); err != nil {
				b.Fatal(err)
			}
			ops++
		}
	})
	return (processCPU() - cpu0) / time.Duration(max(ops, 1))
}

// processCPU is this process's user plus system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

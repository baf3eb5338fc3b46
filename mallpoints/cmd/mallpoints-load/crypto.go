package main

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"
	"time"
)

// cryptoCost is what one payment's unavoidable cryptography costs, pure Go:
// the service verifies the notification's signature and decrypts its
// resource (AES-256-GCM), signs its points sync, and verifies the signed
// answer.
type cryptoCost struct{ sign, verify, open time.Duration }

func (c cryptoCost) total() time.Duration { return c.sign + 2*c.verify + c.open }

// cryptoOps are the operations of one payment's unavoidable cryptography
// on a fresh 2048-bit key (the size WeChat Pay uses), over messages of the
// size the service signs and a resource of the size it decrypts.
type cryptoOps struct {
	key                *rsa.PrivateKey
	msg, sig           []byte
	gcm                cipher.AEAD
	nonce, sealed, aad []byte
}

func newCryptoOps() cryptoOps {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	o := cryptoOps{key: key, msg: make([]byte, 600), aad: []byte("mall_transaction")} // method, path, timestamp, nonce and a sync's JSON body
	rand.Read(o.msg)
	d := sha256.Sum256(o.msg)
	if o.sig, err = rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:]); err != nil {
		panic(err)
	}
	k := make([]byte, 32)
	rand.Read(k)
	blk, _ := aes.NewCipher(k)
	o.gcm, _ = cipher.NewGCM(blk)
	o.nonce = make([]byte, o.gcm.NonceSize())
	o.sealed = o.gcm.Seal(nil, o.nonce, make([]byte, 500), o.aad)
	return o
}

func (o cryptoOps) sign() error {
	d := sha256.Sum256(o.msg)
	_, err := rsa.SignPKCS1v15(nil, o.key, crypto.SHA256, d[:])
	return err
}

func (o cryptoOps) verify() error {
	d := sha256.Sum256(o.msg)
	return rsa.VerifyPKCS1v15(&o.key.PublicKey, crypto.SHA256, d[:], o.sig)
}

func (o cryptoOps) open() error {
	_, err := o.gcm.Open(nil, o.nonce, o.sealed, o.aad)
	return err
}

// measureCrypto times each operation with testing.Benchmark.
func measureCrypto() cryptoCost {
	o := newCryptoOps()
	return cryptoCost{sign: perOp(o.sign), verify: perOp(o.verify), open: perOp(o.open)}
}

// perOp is the CPU time (user + system, from the process's rusage) per
// operation of f over all of testing.Benchmark's rounds. CPU time, not wall
// time, so that it compares with the service's CPU time even when other
// programs share the machine.
func perOp(op func() error) time.Duration {
	var ops int
	cpu0 := selfCPU()
	testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			if err := op(); err != nil {
				b.Fatal(err)
			}
			ops++
		}
	})
	return (selfCPU() - cpu0) / time.Duration(max(ops, 1))
}

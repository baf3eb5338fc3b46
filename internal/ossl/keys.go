//go:build openssl && cgo

package ossl

// #include <openssl/evp.h>
import "C"

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"io"
	"math/big"
	"runtime"
	"sync"
)

// ErrClosed is returned by a key used after Close.
var ErrClosed = errors.New("ossl: key is closed")

// maxIdle bounds the contexts a key keeps for reuse; beyond it, a burst of
// concurrent operations makes contexts that are freed after one use.
const maxIdle = 64

// pkey owns one EVP_PKEY and the initialised signing contexts made from it.
// Each context serves one operation at a time; a
// context holds its own reference to the EVP_PKEY, so Close (or the cleanup)
// can free the key while an operation is still running.
type pkey struct {
	st      *pkeyState
	cleanup runtime.Cleanup
}

type pkeyState struct {
	mu   sync.Mutex
	p    *C.EVP_PKEY // nil once closed
	idle []*C.EVP_PKEY_CTX
}

func newOwned(p *C.EVP_PKEY) *pkey {
	k := &pkey{st: &pkeyState{p: p}}
	k.cleanup = runtime.AddCleanup(k, (*pkeyState).free, k.st)
	return k
}

// get takes an idle context or makes one.
func (k *pkey) get() (*C.EVP_PKEY_CTX, error) {
	s := k.st
	s.mu.Lock()
	if s.p == nil {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if n := len(s.idle); n > 0 {
		ctx := s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.mu.Unlock()
		return ctx, nil
	}
	// Make the context outside the lock, holding a reference of our own in
	// case Close runs meanwhile.
	p := s.p
	C.EVP_PKEY_up_ref(p)
	s.mu.Unlock()
	ctx, err := newCtx(p)
	C.EVP_PKEY_free(p)
	return ctx, err
}

// put returns a context after a successful operation; one whose operation
// failed is freed instead (see done).
func (k *pkey) put(ctx *C.EVP_PKEY_CTX) {
	s := k.st
	s.mu.Lock()
	if s.p != nil && len(s.idle) < maxIdle {
		s.idle = append(s.idle, ctx)
		ctx = nil
	}
	s.mu.Unlock()
	if ctx != nil {
		C.EVP_PKEY_CTX_free(ctx)
	}
}

// done ends an operation: the context goes back to the pool unless the
// operation failed in libcrypto, in which case nothing of it is kept.
func (k *pkey) done(ctx *C.EVP_PKEY_CTX, failed bool) {
	if failed {
		C.EVP_PKEY_CTX_free(ctx)
		return
	}
	k.put(ctx)
}

func (k *pkey) close() {
	k.cleanup.Stop()
	k.st.free()
}

// free releases the idle contexts and the key's own reference to the
// EVP_PKEY; contexts in use are freed when their operation ends.
func (s *pkeyState) free() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ctx := range s.idle {
		C.EVP_PKEY_CTX_free(ctx)
	}
	s.idle = nil
	if s.p != nil {
		C.EVP_PKEY_free(s.p)
		s.p = nil
	}
}

// PrivateKey is an RSA private key held by libcrypto. It implements
// crypto.Signer for PKCS#1 v1.5 signatures of SHA-256 digests and is safe for
// concurrent use.
type PrivateKey struct {
	k    *pkey
	pub  *rsa.PublicKey
	size int
}

// NewPrivateKey copies key into libcrypto. The key must pass
// (*rsa.PrivateKey).Validate and have two primes, as every key Go, OpenSSL
// and WeChat Pay generate does; key itself is not modified.
func NewPrivateKey(key *rsa.PrivateKey) (*PrivateKey, error) {
	if key == nil {
		return nil, errors.New("ossl: private key is nil")
	}
	if len(key.Primes) != 2 {
		return nil, errors.New("ossl: private key has more than two primes")
	}
	if err := key.Validate(); err != nil {
		return nil, err
	}
	p, q := key.Primes[0], key.Primes[1]
	dp, dq, qinv := key.Precomputed.Dp, key.Precomputed.Dq, key.Precomputed.Qinv
	if dp == nil || dq == nil || qinv == nil {
		// The CRT values make signing about 3× faster; compute them here
		// rather than call key.Precompute, which would change the caller's key.
		one := big.NewInt(1)
		dp = new(big.Int).Mod(key.D, new(big.Int).Sub(p, one))
		dq = new(big.Int).Mod(key.D, new(big.Int).Sub(q, one))
		qinv = new(big.Int).ModInverse(q, p)
	}
	nums := [][]byte{key.N.Bytes(), big.NewInt(int64(key.E)).Bytes(), key.D.Bytes(),
		p.Bytes(), q.Bytes(), dp.Bytes(), dq.Bytes(), qinv.Bytes()}
	defer func() {
		for _, b := range nums[2:] {
			clear(b)
		}
	}()
	pk, err := newPKey(nums)
	if err != nil {
		return nil, err
	}
	pub := key.PublicKey
	pub.N = new(big.Int).Set(key.N)
	return &PrivateKey{k: newOwned(pk), pub: &pub, size: pub.Size()}, nil
}

// Public returns the *rsa.PublicKey of the key.
func (k *PrivateKey) Public() crypto.PublicKey { return k.pub }

// Sign signs digest, a SHA-256 hash, with PKCS#1 v1.5 padding, as
// rsa.SignPKCS1v15 does; rand is not used (the padding is deterministic and
// libcrypto draws its own blinding). Any other hash or PSS options are an
// error.
func (k *PrivateKey) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, pss := opts.(*rsa.PSSOptions); pss || opts.HashFunc() != crypto.SHA256 {
		return nil, errors.New("ossl: only PKCS#1 v1.5 signatures of SHA-256 digests are supported")
	}
	if len(digest) != crypto.SHA256.Size() {
		return nil, errors.New("ossl: digest is not a SHA-256 hash")
	}
	ctx, err := k.k.get()
	if err != nil {
		return nil, err
	}
	sig := make([]byte, k.size)
	n, err := sign(ctx, digest, sig)
	k.k.done(ctx, err != nil)
	if err != nil {
		return nil, err
	}
	return sig[:n], nil
}

// Close frees the key in libcrypto at once instead of when the PrivateKey is
// garbage collected; signatures in progress finish first. Later calls to Sign
// return ErrClosed. Close may be called more than once.
func (k *PrivateKey) Close() { k.k.close() }

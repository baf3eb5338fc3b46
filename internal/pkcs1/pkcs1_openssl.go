//go:build openssl && cgo

package pkcs1

import (
	"crypto"
	"crypto/rsa"

	"github.com/seed2ac2593f/wxpay/internal/ossl"
)

// Backend names the code this build signs and verifies with.
const Backend = "openssl"

// NewSigner returns key held by libcrypto, or key itself if libcrypto
// refuses it (see the package comment).
func NewSigner(key *rsa.PrivateKey) crypto.Signer {
	k, err := ossl.NewPrivateKey(key)
	if err != nil {
		return key
	}
	return k
}

// Verifier checks PKCS#1 v1.5 signatures of SHA-256 digests with one key.
type Verifier struct {
	key *rsa.PublicKey
	lib *ossl.PublicKey // nil when libcrypto refused the key
}

// NewVerifier prepares key for Verify.
func NewVerifier(key *rsa.PublicKey) *Verifier {
	v := &Verifier{key: key}
	if lib, err := ossl.NewPublicKey(key); err == nil {
		v.lib = lib
	}
	return v
}

// Verify returns nil if sig is a signature of digest, else an error
// (rsa.ErrVerification for a signature that does not match).
func (v *Verifier) Verify(digest, sig []byte) error {
	if v.lib == nil {
		return rsa.VerifyPKCS1v15(v.key, crypto.SHA256, digest, sig)
	}
	return v.lib.VerifyPKCS1v15SHA256(digest, sig)
}

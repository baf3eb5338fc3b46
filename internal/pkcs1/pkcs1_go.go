//go:build !openssl

package pkcs1

import (
	"crypto"
	"crypto/rsa"
)

// Backend names the code this build signs and verifies with.
const Backend = "go"

// NewSigner returns key, whose Sign is crypto/rsa's.
func NewSigner(key *rsa.PrivateKey) crypto.Signer { return key }

// Verifier checks PKCS#1 v1.5 signatures of SHA-256 digests with one key.
type Verifier struct{ key *rsa.PublicKey }

// NewVerifier prepares key for Verify.
func NewVerifier(key *rsa.PublicKey) *Verifier { return &Verifier{key: key} }

// Verify returns nil if sig is a signature of digest, else an error
// (rsa.ErrVerification for a signature that does not match).
func (v *Verifier) Verify(digest, sig []byte) error {
	return rsa.VerifyPKCS1v15(v.key, crypto.SHA256, digest, sig)
}

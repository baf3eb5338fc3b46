//go:build openssl && cgo

package pkcs1

import (
	"crypto"
	"crypto/rsa"
	"io"

	"github.com/seed2ac2593f/wxpay/internal/ossl"
)

// Backend names the code this build signs with.
const Backend = "openssl"

// NewSigner returns key held by libcrypto, or key itself if libcrypto
// refuses it (see the package comment).
func NewSigner(key *rsa.PrivateKey) crypto.Signer {
	k, err := ossl.NewPrivateKey(key)
	if err != nil {
		return key
	}
	return &Signer{PrivateKey: k, key: key}
}

// Signer signs with libcrypto and decrypts with crypto/rsa, so that it is
// the crypto.Decrypter an *rsa.PrivateKey is: a client decrypts sensitive
// fields, rarely, with the key it signs with.
type Signer struct {
	*ossl.PrivateKey
	key *rsa.PrivateKey
}

// Decrypt is (*rsa.PrivateKey).Decrypt.
func (s *Signer) Decrypt(rand io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	return s.key.Decrypt(rand, msg, opts)
}

//go:build !openssl

package pkcs1

import (
	"crypto"
	"crypto/rsa"
)

// Backend names the code this build signs with.
const Backend = "go"

// NewSigner returns key, whose Sign is crypto/rsa's.
func NewSigner(key *rsa.PrivateKey) crypto.Signer { return key }

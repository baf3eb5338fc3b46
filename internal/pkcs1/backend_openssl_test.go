//go:build openssl && cgo

package pkcs1

import (
	"testing"

	"github.com/seed2ac2593f/wxpay/internal/ossl"
)

// TestOpenSSLBuildUsesLibcrypto: with -tags openssl every RSA-2048 key goes
// to libcrypto, so a test run with the tag really tests that backend.
func TestOpenSSLBuildUsesLibcrypto(t *testing.T) {
	t.Parallel()
	if Backend != "openssl" {
		t.Fatalf("Backend = %q", Backend)
	}
	k := vectorKey(t, "merchant")
	if _, ok := NewSigner(k).(*ossl.PrivateKey); !ok {
		t.Fatal("NewSigner did not return an *ossl.PrivateKey")
	}
	if NewVerifier(&k.PublicKey).lib == nil {
		t.Fatal("NewVerifier left the key with crypto/rsa")
	}
}

//go:build openssl && !goexperiment.boringcrypto

package bench

import (
	"testing"

	"github.com/seed2ac2593f/wxpay/internal/pkcs1"
)

// cryptoBackend names the RSA code this binary's wxpay cells use: OpenSSL's
// libcrypto. The peers and the floor keep crypto/rsa.
const cryptoBackend = "openssl"

// TestOpenSSLIsOn: the SDK really signs with libcrypto in this binary.
func TestOpenSSLIsOn(t *testing.T) {
	if pkcs1.Backend != "openssl" {
		t.Fatalf("built with -tags openssl, but the SDK signs with %q", pkcs1.Backend)
	}
}

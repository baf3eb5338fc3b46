//go:build openssl && cgo

package wxpay

import (
	"testing"

	"github.com/seed2ac2593f/wxpay/internal/ossl"
	"github.com/seed2ac2593f/wxpay/internal/pkcs1"
	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

// TestOpenSSLBuildSignsWithLibcrypto: with -tags openssl the client's key is
// held by libcrypto, so the second run of this suite in .ci/run really tests
// that backend.
func TestOpenSSLBuildSignsWithLibcrypto(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	s, err := NewSigner(k.MchID, k.MerchantSerial, k.MerchantKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.backend.(*ossl.PrivateKey); !ok || pkcs1.Backend != "openssl" {
		t.Fatalf("signing with %T (backend %q), want *ossl.PrivateKey", s.backend, pkcs1.Backend)
	}
	if _, ok := NewRSASigner(k.MerchantKey).(*ossl.PrivateKey); !ok || CryptoBackend != "openssl" {
		t.Fatalf("NewRSASigner and CryptoBackend (%q) do not name libcrypto", CryptoBackend)
	}
}

//go:build openssl && cgo

package wxpay

import (
	"testing"

	"github.com/seed2ac2593f/wxpay/internal/pkcs1"
	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

// TestOpenSSLBuildSignsWithLibcrypto: with -tags openssl the key given to
// WithMerchant reaches the signer held by libcrypto, through the same
// crypto.Signer seam as an HSM key, so the second run of this suite in
// .ci/run really tests that backend.
func TestOpenSSLBuildSignsWithLibcrypto(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	c, err := NewClient(WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey), WithInsecureSkipResponseVerification())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.signer.Key.(*pkcs1.Signer); !ok || CryptoBackend != "openssl" {
		t.Fatalf("signing with %T (backend %q), want a key held by libcrypto", c.signer.Key, CryptoBackend)
	}
	if _, ok := NewRSASigner(k.MerchantKey).(*pkcs1.Signer); !ok {
		t.Fatalf("NewRSASigner returned %T", NewRSASigner(k.MerchantKey))
	}
}

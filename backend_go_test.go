//go:build !openssl

package wxpay

import (
	"crypto/rsa"
	"testing"

	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

// TestDefaultBuildSignsWithCryptoRSA: without -tags openssl nothing leaves Go.
func TestDefaultBuildSignsWithCryptoRSA(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	if _, ok := NewRSASigner(k.MerchantKey).(*rsa.PrivateKey); !ok || CryptoBackend != "go" {
		t.Fatalf("NewRSASigner returned %T, CryptoBackend %q", NewRSASigner(k.MerchantKey), CryptoBackend)
	}
}

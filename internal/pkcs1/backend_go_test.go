//go:build !openssl

package pkcs1

import (
	"crypto/rsa"
	"testing"
)

func TestDefaultBuildUsesCryptoRSA(t *testing.T) {
	t.Parallel()
	if Backend != "go" {
		t.Fatalf("Backend = %q", Backend)
	}
	k := vectorKey(t, "merchant")
	if _, ok := NewSigner(k).(*rsa.PrivateKey); !ok {
		t.Fatal("NewSigner did not return the *rsa.PrivateKey")
	}
}

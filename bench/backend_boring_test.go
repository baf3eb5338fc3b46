//go:build goexperiment.boringcrypto && !openssl

package bench

import (
	"crypto/boring"
	"testing"
)

// cryptoBackend names the RSA code this binary uses: BoringCrypto, for wxpay
// and the peers alike, since it replaces crypto/rsa itself.
const cryptoBackend = "boringcrypto"

// TestBoringCryptoIsOn: without cgo GOEXPERIMENT=boringcrypto builds and
// silently keeps Go's own crypto, which would make these figures lie.
func TestBoringCryptoIsOn(t *testing.T) {
	if !boring.Enabled() {
		t.Fatal("GOEXPERIMENT=boringcrypto is set but BoringCrypto is not in use (CGO_ENABLED=0?)")
	}
}

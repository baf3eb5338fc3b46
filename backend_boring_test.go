//go:build goexperiment.boringcrypto

package wxpay

import (
	"crypto/boring"
	"testing"
)

// TestBoringCryptoIsReallyOn: GOEXPERIMENT=boringcrypto without cgo builds
// and silently keeps Go's own crypto; .ci/run's boringcrypto run must not.
func TestBoringCryptoIsReallyOn(t *testing.T) {
	t.Parallel()
	if !boring.Enabled() {
		t.Fatal("built with GOEXPERIMENT=boringcrypto, but BoringCrypto is not in use (CGO_ENABLED=0?)")
	}
}

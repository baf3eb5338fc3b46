//go:build openssl && cgo

package ossl

import (
	"crypto"
	"crypto/sha256"
	"testing"
)

// The backends side by side on one message the size of a points sync's
// signed message; bench/ measures them inside the SDK and beside the peers.

var benchMsg = make([]byte, 400)

func BenchmarkSign(b *testing.B) {
	k := keys(b).merchant
	sk := newPrivate(b, k)
	for _, c := range []struct {
		name string
		s    crypto.Signer
	}{{"go", k}, {"openssl", sk}} {
		b.Run("backend="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sum := sha256.Sum256(benchMsg)
				if _, err := c.s.Sign(nil, sum[:], crypto.SHA256); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

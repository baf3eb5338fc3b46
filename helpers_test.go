package wxpay

import (
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"

	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

// Keys are made once per test binary: a 2048-bit key costs up to a second,
// far more under -race.
var foreignKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// newTestClient returns a client of wxtest's merchant pointed at srv,
// trusting its WeChat Pay public key and platform certificate.
func newTestClient(t testing.TB, srv *wxtest.Server, opts ...Option) *Client {
	t.Helper()
	k := wxtest.SharedKeys()
	base := []Option{
		WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey),
		WithWechatPayPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey),
		WithPlatformCertificates(k.PlatformCert),
		WithBaseURL(srv.URL),
	}
	c, err := NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

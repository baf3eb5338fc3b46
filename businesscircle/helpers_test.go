package businesscircle_test

import (
	"testing"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

// newFake starts a wxtest server for the shared test keys and returns it with
// a typed chain whose client trusts the fake's WeChat Pay public key. Retries
// are off so that every call is exactly one recorded request.
func newFake(t testing.TB) (*wxtest.Server, *wxpay.Client, *businesscircle.V3) {
	t.Helper()
	k := wxtest.SharedKeys()
	s := wxtest.NewServer(k)
	t.Cleanup(s.Close)
	c, err := wxpay.NewClient(
		wxpay.WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey),
		wxpay.WithWechatPayPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey),
		wxpay.WithBaseURL(s.URL),
		wxpay.WithoutRetries(),
	)
	if err != nil {
		t.Fatal(err)
	}
	return s, c, businesscircle.New(c)
}

// only returns the single request the server received, failing the test if
// there is not exactly one or if its signature did not verify.
func only(t testing.TB, s *wxtest.Server) wxtest.Request {
	t.Helper()
	reqs := s.Requests()
	if len(reqs) != 1 {
		t.Fatalf("server received %d requests, want 1", len(reqs))
	}
	if reqs[0].AuthErr != nil {
		t.Fatalf("server could not verify the request signature: %v", reqs[0].AuthErr)
	}
	return reqs[0]
}

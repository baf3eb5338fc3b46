package wxpay

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/internal/wxauth"
	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

func TestSignerOutputIsAcceptedByAnIndependentVerifier(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	s := Signer{MchID: k.MchID, Serial: k.MerchantSerial, Key: k.MerchantKey}
	now := time.Now()
	for _, tc := range []struct{ method, target, body string }{
		{"POST", "/v3/businesscircle/points/notify", `{"a":"商品"}`},
		{"POST", "/v3/businesscircle/points/notify", "{\"a\":1}\n"},
		{"GET", "/v3/businesscircle/users/o%2F1/points/commit_status?brandid=1000&appid=wx1", ""},
	} {
		nonce := wxauth.NewNonce()
		auth, err := s.Authorization(tc.method, tc.target, []byte(tc.body), now.Unix(), nonce)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := wxtest.VerifyAuthorization(&k.MerchantKey.PublicKey, tc.method, tc.target, auth, []byte(tc.body), now); err != nil {
			t.Errorf("%s %s: independent verifier says %v", tc.method, tc.target, err)
		}
		a, err := wxauth.ParseAuthorization(auth)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Verify(&k.MerchantKey.PublicKey, tc.method, tc.target, []byte(tc.body)); err != nil {
			t.Errorf("own Verify: %v", err)
		}
		if err := a.Verify(&k.MerchantKey.PublicKey, tc.method, tc.target+"x", []byte(tc.body)); !errors.Is(err, wxauth.ErrRequestSignature) {
			t.Errorf("changed target verified: %v", err)
		}
	}
}

// FuzzVerify: headers and bodies nobody signed never verify, and nothing panics.
func FuzzVerify(f *testing.F) {
	k := wxtest.SharedKeys()
	now := time.Unix(1795435300, 0)
	good := wxtest.SignResponse(k.WechatPayKey, k.PublicKeyID, now.Unix(), "nonce", []byte("{}"))
	f.Add(good.Get("Wechatpay-Timestamp"), good.Get("Wechatpay-Nonce"), good.Get("Wechatpay-Signature"), k.PublicKeyID, []byte("{} "))
	f.Add("1795435300", "n", ProbeSignaturePrefix+"AAAA", k.PublicKeyID, []byte{})
	f.Add("1795435300", "n", "====", k.PlatformSerial, []byte("x"))
	f.Add("99999999999999999999", "n", "AAAA", "x", []byte(nil))
	ring := NewKeyRing()
	ring.AddPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey)
	ring.AddCertificates(k.PlatformCert)
	v := &Verifier{Keys: ring, Now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, ts, nonce, sig, serial string, body []byte) {
		h := http.Header{}
		h.Set("Wechatpay-Timestamp", ts)
		h.Set("Wechatpay-Nonce", nonce)
		h.Set("Wechatpay-Signature", sig)
		h.Set("Wechatpay-Serial", serial)
		_, err := v.Verify(h, body)
		if err == nil && !(ts == good.Get("Wechatpay-Timestamp") && nonce == "nonce" && string(body) == "{}") {
			t.Fatalf("forged answer verified: ts=%q nonce=%q body=%q", ts, nonce, body)
		}
		var ve *VerificationError
		if err != nil && !errors.As(err, &ve) {
			t.Fatalf("error is not a *VerificationError: %v", err)
		}
	})
}

package wxpay

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

func TestParseAuthorization(t *testing.T) {
	t.Parallel()
	const pairs = `mchid="1900000109",nonce_str="N",signature="S",timestamp="1795435200",serial_no="X"`
	want := Authorization{MchID: "1900000109", NonceStr: "N", Signature: "S", Timestamp: "1795435200", SerialNo: "X"}
	cases := []struct {
		name   string
		header string
		err    error
	}{
		{"WeChat Pay's example order", SignatureScheme + " " + pairs, nil},
		{"wechatpay-go order", SignatureScheme + ` mchid="1900000109",nonce_str="N",timestamp="1795435200",serial_no="X",signature="S"`, nil},
		{"axios plugin order", SignatureScheme + ` mchid="1900000109",serial_no="X",timestamp="1795435200",nonce_str="N",signature="S"`, nil},
		{"spaces after commas", SignatureScheme + ` mchid="1900000109", nonce_str="N", signature="S", timestamp="1795435200", serial_no="X"`, nil},
		{"other scheme", "WECHATPAY2-SM2-WITH-SM3 " + pairs, ErrAuthorizationScheme},
		{"lower-case scheme", strings.ToLower(SignatureScheme) + " " + pairs, ErrAuthorizationScheme},
		{"no scheme", pairs, ErrAuthorizationScheme},
		{"scheme alone", SignatureScheme, ErrAuthorizationFormat},
		{"scheme and a space", SignatureScheme + " ", ErrAuthorizationFormat},
		{"missing serial_no", SignatureScheme + ` mchid="1900000109",nonce_str="N",signature="S",timestamp="1795435200"`, ErrAuthorizationFormat},
		{"duplicate key", SignatureScheme + " " + pairs + `,mchid="1"`, ErrAuthorizationFormat},
		{"unknown key", SignatureScheme + " " + pairs + `,extra="1"`, ErrAuthorizationFormat},
		{"unquoted value", SignatureScheme + ` mchid=1900000109,nonce_str="N",signature="S",timestamp="1795435200",serial_no="X"`, ErrAuthorizationFormat},
		{"unterminated quote", SignatureScheme + ` mchid="1900000109`, ErrAuthorizationFormat},
		{"empty value", SignatureScheme + ` mchid="",nonce_str="N",signature="S",timestamp="1795435200",serial_no="X"`, ErrAuthorizationFormat},
		{"trailing comma", SignatureScheme + " " + pairs + ",", ErrAuthorizationFormat},
		{"semicolons", SignatureScheme + " " + strings.ReplaceAll(pairs, ",", ";"), ErrAuthorizationFormat},
		{"millisecond-looking timestamp still digits", SignatureScheme + ` mchid="1900000109",nonce_str="N",signature="S",timestamp="1795435200000",serial_no="X"`, nil},
		{"timestamp with sign", SignatureScheme + ` mchid="1900000109",nonce_str="N",signature="S",timestamp="-1",serial_no="X"`, ErrAuthorizationFormat},
	}
	for _, tc := range cases {
		got, err := ParseAuthorization(tc.header)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: err = %v, want %v", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if tc.name != "millisecond-looking timestamp still digits" && got != want {
			t.Errorf("%s: got %+v", tc.name, got)
		}
	}
}

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
		nonce := newNonce()
		auth, err := s.Authorization(tc.method, tc.target, []byte(tc.body), now.Unix(), nonce)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := wxtest.VerifyAuthorization(&k.MerchantKey.PublicKey, tc.method, tc.target, auth, []byte(tc.body), now); err != nil {
			t.Errorf("%s %s: independent verifier says %v", tc.method, tc.target, err)
		}
		a, err := ParseAuthorization(auth)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Verify(&k.MerchantKey.PublicKey, tc.method, tc.target, []byte(tc.body)); err != nil {
			t.Errorf("own Verify: %v", err)
		}
		if err := a.Verify(&k.MerchantKey.PublicKey, tc.method, tc.target+"x", []byte(tc.body)); !errors.Is(err, ErrBadSignature) {
			t.Errorf("changed target verified: %v", err)
		}
	}
}

func TestNoncesAreBase62AndDistinct(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		n := newNonce()
		if len(n) != NonceLength || strings.Trim(n, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != "" {
			t.Fatalf("nonce %q", n)
		}
		if seen[n] {
			t.Fatalf("nonce %q repeated", n)
		}
		seen[n] = true
	}
}

// FuzzParseAuthorization: any input either parses into five non-empty
// fields with a numeric timestamp, or fails with one of the two sentinels.
func FuzzParseAuthorization(f *testing.F) {
	v := loadVectors(f)
	for _, c := range v.AuthorizationParsing {
		f.Add(c.Header)
	}
	f.Add(SignatureScheme + ` mchid="1", nonce_str="2",signature="3",timestamp="4",serial_no="5"`)
	f.Add(SignatureScheme + ` mchid="1",,`)
	f.Fuzz(func(t *testing.T, header string) {
		a, err := ParseAuthorization(header)
		if err != nil {
			if !errors.Is(err, ErrAuthorizationScheme) && !errors.Is(err, ErrAuthorizationFormat) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if a.MchID == "" || a.NonceStr == "" || a.Signature == "" || a.SerialNo == "" {
			t.Fatalf("empty field in %+v", a)
		}
		if _, err := parseTimestamp(a.Timestamp); err != nil {
			t.Fatalf("timestamp %q accepted", a.Timestamp)
		}
	})
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

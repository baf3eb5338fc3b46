package wxpay

import (
	"crypto/rsa"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

func TestVerifierRules(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	now := time.Unix(1795435300, 0)
	body := []byte(`{"openid":"o1","authorize_state":"AUTHORIZED"}`)
	signed := func(key *rsa.PrivateKey, serial string, ts int64, body []byte) http.Header {
		return wxtest.SignResponse(key, serial, ts, "d824f2e086d3c1df967785d13fcd22ef", body)
	}
	with := func(h http.Header, name, value string) http.Header {
		h = h.Clone()
		if value == "" {
			h.Del(name)
		} else {
			h.Set(name, value)
		}
		return h
	}
	withValues := func(h http.Header, name string, values ...string) http.Header {
		h = h.Clone()
		h[http.CanonicalHeaderKey(name)] = values
		return h
	}
	good := signed(k.WechatPayKey, k.PublicKeyID, now.Unix()-40, body)
	cases := []struct {
		name   string
		header http.Header
		body   []byte
		want   error
	}{
		{"good, public key", good, body, nil},
		{"good, platform certificate", signed(k.PlatformKey, k.PlatformSerial, now.Unix(), body), body, nil},
		{"good, empty body of a 204", signed(k.WechatPayKey, k.PublicKeyID, now.Unix(), nil), nil, nil},
		{"skew 299 s behind", signed(k.WechatPayKey, k.PublicKeyID, now.Unix()-299, body), body, nil},
		{"skew 300 s ahead", signed(k.WechatPayKey, k.PublicKeyID, now.Unix()+300, body), body, nil},
		{"skew 301 s behind", signed(k.WechatPayKey, k.PublicKeyID, now.Unix()-301, body), body, ErrClockSkew},
		{"skew 301 s ahead", signed(k.WechatPayKey, k.PublicKeyID, now.Unix()+301, body), body, ErrClockSkew},
		{"timestamp in milliseconds", with(good, "Wechatpay-Timestamp", strconv.FormatInt(now.UnixMilli(), 10)), body, ErrClockSkew},
		{"signed timestamp with sign", with(good, "Wechatpay-Timestamp", "+1795435260"), body, ErrMalformedTimestamp},
		{"timestamp with letters", with(good, "Wechatpay-Timestamp", "1795435260Z"), body, ErrMalformedTimestamp},
		{"timestamp too long to be seconds", with(good, "Wechatpay-Timestamp", "9999999999999999999999"), body, ErrMalformedTimestamp},
		{"tampered body", good, []byte(`{"openid":"o1","authorize_state":"DEAUTHORIZED"}`), ErrBadSignature},
		{"trailing newline added", good, append(append([]byte{}, body...), '\n'), ErrBadSignature},
		{"signed by a foreign key", signed(foreignKey(), k.PublicKeyID, now.Unix(), body), body, ErrBadSignature},
		{"platform key under the public key id", signed(k.PlatformKey, k.PublicKeyID, now.Unix(), body), body, ErrBadSignature},
		{"signature not Base64", with(good, "Wechatpay-Signature", "!!!"), body, ErrBadSignature},
		{"unknown serial", with(good, "Wechatpay-Serial", "PUB_KEY_ID_0000000000000000000000000000000000"), body, ErrUnknownSerial},
		{"serial in lower case", with(good, "Wechatpay-Serial", "pub_key_id_"+k.PublicKeyID[11:]), body, ErrUnknownSerial},
		{"probe", with(good, "Wechatpay-Signature", ProbeSignaturePrefix+good.Get("Wechatpay-Signature")), body, ErrProbeSignature},
		{"probe, not Base64", with(good, "Wechatpay-Signature", ProbeSignaturePrefix+"xyz"), body, ErrProbeSignature},
		{"missing timestamp", with(good, "Wechatpay-Timestamp", ""), body, ErrMissingHeader},
		{"missing nonce", with(good, "Wechatpay-Nonce", ""), body, ErrMissingHeader},
		{"missing signature", with(good, "Wechatpay-Signature", ""), body, ErrMissingHeader},
		{"missing serial", with(good, "Wechatpay-Serial", ""), body, ErrMissingHeader},
		{"no headers at all", http.Header{}, body, ErrMissingHeader},
		{"SM2 signature type", with(good, "Wechatpay-Signature-Type", "WECHATPAY2-SM2-WITH-SM3"), body, ErrSignatureType},
		{"empty signature type", withValues(good, "Wechatpay-Signature-Type", ""), body, ErrSignatureType},
		{"signature type twice", withValues(good, "Wechatpay-Signature-Type", SignatureScheme, SignatureScheme), body, ErrSignatureType},
		{"signature type in lower case", with(good, "Wechatpay-Signature-Type", "wechatpay2-sha256-rsa2048"), body, ErrSignatureType},
		{"no signature type header is fine", with(good, "Wechatpay-Signature-Type", ""), body, nil},
	}
	ring := NewKeyRing()
	if err := ring.AddPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey); err != nil {
		t.Fatal(err)
	}
	if err := ring.AddCertificates(k.PlatformCert); err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Keys: ring, Now: func() time.Time { return now }}
	for _, tc := range cases {
		serial, err := v.Verify(tc.header, tc.body)
		if tc.want == nil {
			if err != nil || serial != tc.header.Get("Wechatpay-Serial") {
				t.Errorf("%s: Verify = %q, %v", tc.name, serial, err)
			}
			continue
		}
		var ve *VerificationError
		if !errors.Is(err, tc.want) || !errors.As(err, &ve) || serial != "" {
			t.Errorf("%s: Verify = %q, %v; want %v", tc.name, serial, err, tc.want)
		}
	}
}

func TestKeyModes(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	now := time.Now()
	byPublicKey := wxtest.SignResponse(k.WechatPayKey, k.PublicKeyID, now.Unix(), "n", nil)
	byCert := wxtest.SignResponse(k.PlatformKey, k.PlatformSerial, now.Unix(), "n", nil)
	pubOnly, certOnly, both := NewKeyRing(), NewKeyRing(), NewKeyRing()
	pubOnly.AddPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey)
	certOnly.AddCertificates(k.PlatformCert)
	both.AddPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey)
	both.AddCertificates(k.PlatformCert)
	cases := []struct {
		name          string
		ring          *KeyRing
		pubOK, certOK bool
		preferred     string
	}{
		{"public key only", pubOnly, true, false, k.PublicKeyID},
		{"platform certificate only", certOnly, false, true, k.PlatformSerial},
		{"both during migration", both, true, true, k.PublicKeyID},
	}
	for _, tc := range cases {
		v := &Verifier{Keys: tc.ring}
		if _, err := v.Verify(byPublicKey, nil); (err == nil) != tc.pubOK {
			t.Errorf("%s: answer signed by the public key: %v", tc.name, err)
		}
		if _, err := v.Verify(byCert, nil); (err == nil) != tc.certOK {
			t.Errorf("%s: answer signed by the platform certificate: %v", tc.name, err)
		}
		if serial, _, _ := tc.ring.Preferred(); serial != tc.preferred {
			t.Errorf("%s: Preferred = %s, want %s", tc.name, serial, tc.preferred)
		}
	}
}

func TestExpiredPlatformCertificateNoLongerVerifies(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	ring := NewKeyRing()
	ring.AddCertificates(k.PlatformCert)
	after := k.PlatformCert.NotAfter.Add(time.Minute)
	v := &Verifier{Keys: ring, Now: func() time.Time { return after }}
	h := wxtest.SignResponse(k.PlatformKey, k.PlatformSerial, after.Unix(), "n", nil)
	if _, err := v.Verify(h, nil); !errors.Is(err, ErrUnknownSerial) {
		t.Fatalf("err = %v, want ErrUnknownSerial", err)
	}
}

func TestMaxClockSkewIsConfigurable(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	ring := NewKeyRing()
	ring.AddPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey)
	now := time.Unix(1795435300, 0)
	h := wxtest.SignResponse(k.WechatPayKey, k.PublicKeyID, now.Unix()-61, "n", nil)
	strict := &Verifier{Keys: ring, MaxClockSkew: time.Minute, Now: func() time.Time { return now }}
	if _, err := strict.Verify(h, nil); !errors.Is(err, ErrClockSkew) {
		t.Fatalf("61 s with a 60 s limit: %v", err)
	}
}

// TestUnknownSerialSaysWhatIsTrusted: the error names the key the answer
// used, every key the client trusts, and the likely cause.
func TestUnknownSerialSaysWhatIsTrusted(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	now := time.Unix(1795435300, 0)
	pubOnly, both := NewKeyRing(), NewKeyRing()
	pubOnly.AddPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey)
	both.AddPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey)
	both.AddCertificates(k.PlatformCert)
	certOnly := NewKeyRing()
	certOnly.AddCertificates(k.PlatformCert)
	cases := []struct {
		name   string
		ring   *KeyRing
		serial string
		want   []string
	}{
		{"public key id typo: WeChat Pay falls back to a platform certificate", pubOnly, "3F7C000000000000000000000000000000000000",
			[]string{`"3F7C000000000000000000000000000000000000"`, "the WeChat Pay public key " + k.PublicKeyID, "typo"}},
		{"another public key", both, "PUB_KEY_ID_0000000000000000000000000000000099",
			[]string{"PUB_KEY_ID_0000000000000000000000000000000099", "platform certificate " + k.PlatformSerial, "public key id"}},
		{"a certificate not downloaded", certOnly, "3F7C000000000000000000000000000000000000",
			[]string{"platform certificate " + k.PlatformSerial, "not downloaded"}},
		{"empty ring", NewKeyRing(), "3F7C", []string{"key ring is empty"}},
		{"a huge serial is cut short", both, strings.Repeat("A", 900<<10), []string{"… (921536 more bytes)"}},
	}
	for _, tc := range cases {
		h := wxtest.SignResponse(k.WechatPayKey, tc.serial, now.Unix(), "n", nil)
		_, err := (&Verifier{Keys: tc.ring, Now: func() time.Time { return now }}).Verify(h, nil)
		if !errors.Is(err, ErrUnknownSerial) {
			t.Fatalf("%s: err = %v", tc.name, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tc.name, err, w)
			}
		}
		if len(err.Error()) > 2048 {
			t.Errorf("%s: error of %d bytes", tc.name, len(err.Error()))
		}
	}
}

package wxpay

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"sync"
	"testing"

	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

var shortKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	return k
})

func pemOf(typ string, der []byte, headers map[string]string) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der, Headers: headers})
}

func TestLoadPrivateKey(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys().MerchantKey
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(k)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	short, _ := x509.MarshalPKCS8PrivateKey(shortKey())
	cases := []struct {
		name string
		pem  []byte
		want string // "" means it loads
	}{
		{"PKCS#8", pemOf("PRIVATE KEY", pkcs8, nil), ""},
		{"PKCS#1", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k), nil), ""},
		{"text before the block", append([]byte("Bag Attributes\n"), pemOf("PRIVATE KEY", pkcs8, nil)...), ""},
		{"encrypted PKCS#8", pemOf("ENCRYPTED PRIVATE KEY", []byte{1}, nil), "encrypted"},
		{"encrypted PKCS#1", pemOf("RSA PRIVATE KEY", []byte{1}, map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}), "encrypted"},
		{"a certificate instead", wxtest.EncodeCertPEM(wxtest.SharedKeys().MerchantCert), `found PEM "CERTIFICATE"`},
		{"not PEM", []byte("hello"), "no PEM data"},
		{"ECDSA key", pemOf("PRIVATE KEY", ecDER, nil), "want an RSA key"},
		{"1024-bit key", pemOf("PRIVATE KEY", short, nil), "1024 bits, want at least 2048"},
		{"garbage DER", pemOf("PRIVATE KEY", []byte{0x30, 0x01}, nil), "parse PRIVATE KEY"},
	}
	for _, tc := range cases {
		got, err := LoadPrivateKey(tc.pem)
		if tc.want == "" {
			if err != nil || !got.Equal(k) {
				t.Errorf("%s: %v", tc.name, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestLoadPublicKey(t *testing.T) {
	t.Parallel()
	keys := wxtest.SharedKeys()
	pub := &keys.WechatPayKey.PublicKey
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	cases := []struct {
		name string
		pem  []byte
		want *rsa.PublicKey
		err  string
	}{
		{"SPKI pub_key.pem", wxtest.EncodePublicKeyPEM(pub), pub, ""},
		{"PKCS#1", pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(pub), nil), pub, ""},
		{"certificate", wxtest.EncodeCertPEM(keys.PlatformCert), &keys.PlatformKey.PublicKey, ""},
		{"ECDSA", pemOf("PUBLIC KEY", ecDER, nil), nil, "want an RSA key"},
		{"private key given", wxtest.EncodePrivateKeyPEM(keys.WechatPayKey), nil, `found PEM "PRIVATE KEY"`},
	}
	for _, tc := range cases {
		got, err := LoadPublicKey(tc.pem)
		if tc.err == "" {
			if err != nil || !got.Equal(tc.want) {
				t.Errorf("%s: %v", tc.name, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
		}
	}
}

func TestLoadCertificateAndSerial(t *testing.T) {
	t.Parallel()
	keys := wxtest.SharedKeys()
	cert, err := LoadCertificate(wxtest.EncodeCertPEM(keys.MerchantCert))
	if err != nil {
		t.Fatal(err)
	}
	if got := CertificateSerial(cert); got != keys.MerchantSerial {
		t.Errorf("CertificateSerial = %s, want %s", got, keys.MerchantSerial)
	}
	if _, err := LoadCertificate(wxtest.EncodePublicKeyPEM(&keys.MerchantKey.PublicKey)); err == nil ||
		!strings.Contains(err.Error(), `found PEM "PUBLIC KEY", want CERTIFICATE`) {
		t.Errorf("public key as certificate: %v", err)
	}
}

func TestSensitiveFieldsRoundTrip(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	c := newTestClient(t, &wxtest.Server{URL: "http://127.0.0.1:1"})
	ct, serial, err := c.EncryptSensitive("张三")
	if err != nil || serial != k.PublicKeyID {
		t.Fatalf("EncryptSensitive: %q, %v", serial, err)
	}
	// WeChat Pay decrypts with the private half of the key we encrypted to.
	if got, err := decryptOAEP(k.WechatPayKey, ct); err != nil || got != "张三" {
		t.Fatalf("decryptOAEP = %q, %v", got, err)
	}
	// And answers encrypted to our merchant certificate are opened with our key.
	toUs, _ := encryptOAEP(&k.MerchantKey.PublicKey, "13800138000")
	if got, err := c.DecryptSensitive(toUs); err != nil || got != "13800138000" {
		t.Fatalf("DecryptSensitive = %q, %v", got, err)
	}
	if _, err := c.DecryptSensitive(ct); err == nil {
		t.Fatal("decrypting with the wrong key succeeded")
	}
}

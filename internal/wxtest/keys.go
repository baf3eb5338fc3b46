package wxtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync"
	"time"
)

// Keys holds freshly generated test key material for one merchant and the WeChat Pay side.
type Keys struct {
	MchID          string            // merchant id, "1900000109"
	MerchantKey    *rsa.PrivateKey   // merchant API key (the client signs requests with it)
	MerchantCert   *x509.Certificate // self-signed certificate for MerchantKey
	MerchantSerial string            // upper-case hex serial of MerchantCert, 40 chars
	PublicKeyID    string            // "PUB_KEY_ID_" + 34 digits, names WechatPayKey
	WechatPayKey   *rsa.PrivateKey   // signs answers in public-key mode
	PlatformKey    *rsa.PrivateKey   // signs answers in platform-certificate mode
	PlatformCert   *x509.Certificate // self-signed certificate of PlatformKey
	PlatformSerial string            // upper-case hex serial of PlatformCert, 40 chars
	APIv3Key       string            // 32 ASCII chars, encrypts /v3/certificates payloads
}

// NewKeys generates three 2048-bit RSA keys, two self-signed certificates and an APIv3 key.
// It takes a second or two; tests should generate once per binary (see SharedKeys).
func NewKeys() (*Keys, error) {
	var rsaKeys [3]*rsa.PrivateKey
	var errs [3]error
	var wg sync.WaitGroup
	for i := range rsaKeys {
		wg.Go(func() { rsaKeys[i], errs[i] = rsa.GenerateKey(rand.Reader, 2048) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("wxtest: generate key: %w", err)
		}
	}
	k := &Keys{
		MchID:        "1900000109",
		MerchantKey:  rsaKeys[0],
		WechatPayKey: rsaKeys[1],
		PlatformKey:  rsaKeys[2],
		PublicKeyID:  "PUB_KEY_ID_" + randomString(34, "0123456789"),
		APIv3Key:     randomString(32, alnum),
	}
	var err error
	if k.MerchantCert, err = selfSign(k.MerchantKey, pkix.Name{
		Country: []string{"CN"}, Organization: []string{"wxtest merchant"}, CommonName: k.MchID,
	}); err != nil {
		return nil, err
	}
	if k.PlatformCert, err = selfSign(k.PlatformKey, pkix.Name{
		Country: []string{"CN"}, Organization: []string{"wxtest"}, CommonName: "Tenpay.com test platform certificate",
	}); err != nil {
		return nil, err
	}
	k.MerchantSerial = serialHex(k.MerchantCert)
	k.PlatformSerial = serialHex(k.PlatformCert)
	return k, nil
}

var sharedKeys = sync.OnceValues(NewKeys)

// SharedKeys returns one Keys generated lazily once per process, so that tests and examples pay
// for key generation only once. It panics if generation fails.
func SharedKeys() *Keys {
	k, err := sharedKeys()
	if err != nil {
		panic(err)
	}
	return k
}

// foreignKey is a key nobody trusts, used by FaultBadSignature. It is made on first use.
var foreignKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("wxtest: generate key: %v", err))
	}
	return k
})

// selfSign makes a five-year self-signed certificate with a random 20-byte serial whose
// upper-case hex form is always 40 characters.
func selfSign(key *rsa.PrivateKey, subject pkix.Name) (*x509.Certificate, error) {
	b := make([]byte, 20)
	rand.Read(b)
	b[0] = 0x10 + b[0]%0x70 // positive and no leading zero nibble
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(b),
		Subject:               subject,
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("wxtest: create certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

func serialHex(c *x509.Certificate) string { return fmt.Sprintf("%040X", c.SerialNumber) }

// EncodePrivateKeyPEM encodes k as a PKCS#8 "PRIVATE KEY" PEM block, the format of apiclient_key.pem.
func EncodePrivateKeyPEM(k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err) // cannot happen for a valid RSA key
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// EncodeCertPEM encodes c as a "CERTIFICATE" PEM block.
func EncodeCertPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// EncodePublicKeyPEM encodes k as an SPKI "PUBLIC KEY" PEM block, the format of the WeChat Pay
// public key file (pub_key.pem).
func EncodePublicKeyPEM(k *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		panic(err) // cannot happen for a valid RSA key
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

const (
	alnum    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	lowerHex = "0123456789abcdef"
)

// randomString returns n characters drawn uniformly from alphabet.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		v, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/internal/wxauth"
)

// Keys is everything a sandbox and a client need to talk: the merchant's
// key and certificate, WeChat Pay's public-key pair and a platform
// certificate with its key, and the APIv3 key.
type Keys struct {
	MchID          string            // "1900000109" from GenerateKeys
	MerchantKey    *rsa.PrivateKey   // apiclient_key.pem: the client signs requests with it
	MerchantCert   *x509.Certificate // apiclient_cert.pem, self-signed
	MerchantSerial string            // its serial, 40 upper-case hex characters
	PublicKeyID    string            // PUB_KEY_ID_ and 34 digits
	WechatPayKey   *rsa.PrivateKey   // signs in public-key mode; its public half is pub_key.pem
	PlatformCert   *x509.Certificate // platform_cert.pem, self-signed
	PlatformKey    *rsa.PrivateKey   // signs in platform-certificate mode
	PlatformSerial string            // the platform certificate's serial, 40 hex characters
	APIv3Key       string            // 32 letters and digits
}

// File names used by WriteDir and LoadKeysDir, the conventional ones where
// WeChat Pay has a convention (apiclient_*.pem, pub_key.pem).
const (
	FileMerchantKey  = "apiclient_key.pem"         // the merchant's private key: the client signs with it (0600)
	FileMerchantCert = "apiclient_cert.pem"        // the merchant's certificate: the sandbox verifies with it, its serial is serial_no
	FilePublicKey    = "pub_key.pem"               // WeChat Pay's public key: the client verifies answers and notifications with it
	FileWechatPayKey = "wechatpay_private_key.pem" // its private half: the sandbox signs with it (0600)
	FilePlatformCert = "platform_cert.pem"         // the platform certificate: the client verifies with it in that mode
	FilePlatformKey  = "platform_key.pem"          // its private key: the sandbox signs with it (0600)
	FileAPIv3Key     = "apiv3_key.txt"             // the APIv3 key, 32 characters: notifications are encrypted with it (0600)
	FilePublicKeyID  = "public_key_id.txt"         // the public key's id, PUB_KEY_ID_…: the Wechatpay-Serial of its signatures
	FileMchID        = "mchid.txt"                 // the merchant id
)

// defaultSandboxMch is the merchant id of generated keys, the one WeChat
// Pay's own documents use.
const defaultSandboxMch = "1900000109"

// GenerateKeys makes fresh keys: three 2048-bit RSA keys (made in parallel,
// about a second), two self-signed certificates valid for five years, a
// public key id and an APIv3 key, for merchant 1900000109.
func GenerateKeys() (*Keys, error) {
	var rsaKeys [3]*rsa.PrivateKey
	var errs [3]error
	var wg sync.WaitGroup
	for i := range rsaKeys {
		wg.Go(func() { rsaKeys[i], errs[i] = rsa.GenerateKey(rand.Reader, 2048) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("sandbox: generate RSA key: %w", err)
	}
	now := time.Now()
	k := &Keys{
		MchID:        defaultSandboxMch,
		MerchantKey:  rsaKeys[0],
		WechatPayKey: rsaKeys[1],
		PlatformKey:  rsaKeys[2],
		// Real ids read 01, the mchid, the issue date and a sequence number.
		PublicKeyID: wxpay.PublicKeyIDPrefix + "01" + defaultSandboxMch + now.Format("20060102") + randomString(14, digits),
		APIv3Key:    randomString(wxauth.APIv3KeyLength, alnum),
	}
	var err error
	if k.MerchantCert, err = selfSign(k.MerchantKey, pkix.Name{
		Country: []string{"CN"}, Organization: []string{"微信支付沙盒商户"}, CommonName: k.MchID,
	}, now); err != nil {
		return nil, err
	}
	if k.PlatformCert, err = selfSign(k.PlatformKey, pkix.Name{
		Country: []string{"CN"}, Organization: []string{"Tenpay.com"}, CommonName: "Tenpay.com sandbox platform certificate",
	}, now); err != nil {
		return nil, err
	}
	k.MerchantSerial = wxpay.CertificateSerial(k.MerchantCert)
	k.PlatformSerial = wxpay.CertificateSerial(k.PlatformCert)
	return k, nil
}

// selfSign makes a certificate whose 20-byte serial always prints as 40
// hexadecimal characters, like WeChat Pay's.
func selfSign(key *rsa.PrivateKey, subject pkix.Name, now time.Time) (*x509.Certificate, error) {
	b := make([]byte, 20)
	rand.Read(b)
	b[0] = 0x10 + b[0]%0x70 // positive, no leading zero nibble
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
		return nil, fmt.Errorf("sandbox: create certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// Config returns a single-merchant configuration for these keys: the
// merchant, the public key and the platform certificate, whichever are
// present (with both, either key mode and the migration between them work),
// and every notification signed with the public key when there is one. Set the merchant's NotifyURL before New to receive them.
func (k *Keys) Config() Config {
	cfg := Config{
		Merchants: []Merchant{{
			MchID:       k.MchID,
			Certificate: k.MerchantCert,
			CertSerial:  k.MerchantSerial,
			APIv3Key:    k.APIv3Key,
		}},
		NotifyPublicKeyShare: 1,
	}
	if k.WechatPayKey != nil {
		cfg.PublicKey = &PublicKeySigner{ID: k.PublicKeyID, Key: k.WechatPayKey}
	}
	if k.PlatformKey != nil {
		cfg.PlatformCertificates = []PlatformCertificate{{Certificate: k.PlatformCert, Key: k.PlatformKey}}
	}
	return cfg
}

// WriteDir writes the keys to dir (made 0700 if missing) under the File*
// names: private keys and the APIv3 key 0600, the rest 0644. Existing files
// are replaced.
func (k *Keys) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	type file struct {
		name   string
		data   []byte
		secret bool
	}
	files := []file{
		{FileMchID, []byte(k.MchID + "\n"), false},
		{FileMerchantKey, privatePEM(k.MerchantKey), true},
		{FileMerchantCert, certPEM(k.MerchantCert), false},
		{FileAPIv3Key, []byte(k.APIv3Key + "\n"), true},
	}
	if k.WechatPayKey != nil {
		files = append(files,
			file{FilePublicKeyID, []byte(k.PublicKeyID + "\n"), false},
			file{FilePublicKey, publicPEM(&k.WechatPayKey.PublicKey), false},
			file{FileWechatPayKey, privatePEM(k.WechatPayKey), true})
	}
	if k.PlatformKey != nil {
		files = append(files,
			file{FilePlatformCert, certPEM(k.PlatformCert), false},
			file{FilePlatformKey, privatePEM(k.PlatformKey), true})
	}
	for _, f := range files {
		mode := fs.FileMode(0o644)
		if f.secret {
			mode = 0o600
		}
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, f.data, mode); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		// WriteFile keeps the mode of a file that already existed.
		if err := os.Chmod(path, mode); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
	}
	return nil
}

// LoadKeysDir reads keys written by WriteDir. The public-key files
// (pub_key.pem is not needed: the private key holds it) or the platform
// files may be missing, not both.
func LoadKeysDir(dir string) (*Keys, error) {
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		return b, nil
	}
	exists := func(name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	k := &Keys{}
	var err error
	var b []byte
	if b, err = read(FileMchID); err != nil {
		return nil, err
	}
	k.MchID = strings.TrimSpace(string(b))
	if b, err = read(FileAPIv3Key); err != nil {
		return nil, err
	}
	k.APIv3Key = strings.TrimSpace(string(b))
	if err := wxauth.CheckAPIv3Key([]byte(k.APIv3Key)); err != nil {
		return nil, fmt.Errorf("sandbox: %s: %w", FileAPIv3Key, err)
	}
	if k.MerchantKey, err = loadKey(read, FileMerchantKey); err != nil {
		return nil, err
	}
	if k.MerchantCert, err = loadCert(read, FileMerchantCert); err != nil {
		return nil, err
	}
	if !k.MerchantKey.PublicKey.Equal(k.MerchantCert.PublicKey) {
		return nil, fmt.Errorf("sandbox: %s does not match %s", FileMerchantKey, FileMerchantCert)
	}
	k.MerchantSerial = wxpay.CertificateSerial(k.MerchantCert)
	if exists(FileWechatPayKey) {
		if k.WechatPayKey, err = loadKey(read, FileWechatPayKey); err != nil {
			return nil, err
		}
		if b, err = read(FilePublicKeyID); err != nil {
			return nil, err
		}
		k.PublicKeyID = strings.TrimSpace(string(b))
	}
	if exists(FilePlatformKey) {
		if k.PlatformKey, err = loadKey(read, FilePlatformKey); err != nil {
			return nil, err
		}
		if k.PlatformCert, err = loadCert(read, FilePlatformCert); err != nil {
			return nil, err
		}
		if !k.PlatformKey.PublicKey.Equal(k.PlatformCert.PublicKey) {
			return nil, fmt.Errorf("sandbox: %s does not match %s", FilePlatformKey, FilePlatformCert)
		}
		k.PlatformSerial = wxpay.CertificateSerial(k.PlatformCert)
	}
	if k.WechatPayKey == nil && k.PlatformKey == nil {
		return nil, fmt.Errorf("sandbox: %s holds neither %s nor %s", dir, FileWechatPayKey, FilePlatformKey)
	}
	return k, nil
}

func loadKey(read func(string) ([]byte, error), name string) (*rsa.PrivateKey, error) {
	b, err := read(name)
	if err != nil {
		return nil, err
	}
	k, err := wxpay.LoadPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %s: %w", name, err)
	}
	return k, nil
}

func loadCert(read func(string) ([]byte, error), name string) (*x509.Certificate, error) {
	b, err := read(name)
	if err != nil {
		return nil, err
	}
	c, err := wxpay.LoadCertificate(b)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %s: %w", name, err)
	}
	return c, nil
}

func privatePEM(k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic("sandbox: " + err.Error()) // cannot happen for an RSA key
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func publicPEM(k *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		panic("sandbox: " + err.Error()) // cannot happen for an RSA key
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

const (
	digits   = "0123456789"
	alnum    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	lowerHex = "0123456789abcdef"
	upperHex = "0123456789ABCDEF"
)

// randomString returns n characters of alphabet from crypto/rand.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	limit := 256 - 256%len(alphabet) // reject the top values so every character is equally likely
	var rnd [64]byte
	for i := 0; i < n; {
		rand.Read(rnd[:])
		for _, r := range rnd {
			if int(r) < limit && i < n {
				b[i] = alphabet[int(r)%len(alphabet)]
				i++
			}
		}
	}
	return string(b)
}

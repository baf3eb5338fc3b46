package sandbox_test

import (
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// GenerateKeys makes what a sandbox and a client need, shaped like WeChat
// Pay's; WriteDir and LoadKeysDir round-trip it with private files 0600.
func TestKeysGenerateWriteLoad(t *testing.T) {
	t.Parallel()
	k, err := sandbox.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name, value, pattern string
	}{
		{"MchID", k.MchID, `^1900000109$`},
		{"MerchantSerial", k.MerchantSerial, `^[0-9A-F]{40}$`},
		{"PlatformSerial", k.PlatformSerial, `^[0-9A-F]{40}$`},
		{"PublicKeyID", k.PublicKeyID, `^PUB_KEY_ID_[0-9]{34}$`},
		{"APIv3Key", k.APIv3Key, `^[0-9A-Za-z]{32}$`},
	}
	for _, c := range checks {
		if !regexp.MustCompile(c.pattern).MatchString(c.value) {
			t.Errorf("%s = %q, want %s", c.name, c.value, c.pattern)
		}
	}

	dir := filepath.Join(t.TempDir(), "keys")
	if err := k.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	for name, secret := range map[string]bool{
		"apiclient_key.pem": true, "wechatpay_private_key.pem": true, "platform_key.pem": true, "apiv3_key.txt": true,
		"apiclient_cert.pem": false, "pub_key.pem": false, "platform_cert.pem": false, "public_key_id.txt": false, "mchid.txt": false,
	} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if secret && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	got, err := sandbox.LoadKeysDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.MchID != k.MchID || got.APIv3Key != k.APIv3Key || got.PublicKeyID != k.PublicKeyID ||
		got.MerchantSerial != k.MerchantSerial || got.PlatformSerial != k.PlatformSerial ||
		!got.MerchantKey.Equal(k.MerchantKey) || !got.WechatPayKey.Equal(k.WechatPayKey) || !got.PlatformKey.Equal(k.PlatformKey) ||
		!got.MerchantCert.Equal(k.MerchantCert) || !got.PlatformCert.Equal(k.PlatformCert) {
		t.Error("LoadKeysDir did not return the keys written")
	}
	if _, err := sandbox.New(got.Config()); err != nil {
		t.Errorf("New(LoadKeysDir(…).Config()): %v", err)
	}

	// Public-key mode only: no platform files.
	os.Remove(filepath.Join(dir, "platform_key.pem"))
	os.Remove(filepath.Join(dir, "platform_cert.pem"))
	pubOnly, err := sandbox.LoadKeysDir(dir)
	if err != nil || pubOnly.PlatformKey != nil || pubOnly.WechatPayKey == nil {
		t.Fatalf("without platform files: %v", err)
	}
	if cfg := pubOnly.Config(); cfg.PlatformCertificates != nil || cfg.PublicKey == nil {
		t.Errorf("Config of public-key-only keys = %+v", cfg)
	}
	// Neither kind of WeChat Pay key: an error naming both.
	os.Remove(filepath.Join(dir, "wechatpay_private_key.pem"))
	if _, err := sandbox.LoadKeysDir(dir); err == nil || !strings.Contains(err.Error(), "platform_key.pem") {
		t.Errorf("without WeChat Pay keys: %v", err)
	}
	// A key that does not match its certificate.
	other := sandbox.NewServer().Keys // the shared keys, another merchant key
	k2 := *k
	k2.MerchantKey = other.MerchantKey
	dir2 := t.TempDir()
	if err := k2.WriteDir(dir2); err != nil {
		t.Fatal(err)
	}
	if _, err := sandbox.LoadKeysDir(dir2); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("mismatched merchant key: %v", err)
	}
}

// New refuses configurations that could not work, saying why.
func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	k := newServer(t).Keys
	tests := []struct {
		name   string
		modify func(*sandbox.Config)
		want   string
	}{
		{"no merchant", func(c *sandbox.Config) { c.Merchants = nil }, "no merchant"},
		{"no WeChat Pay key", func(c *sandbox.Config) { c.PublicKey, c.PlatformCertificates = nil, nil }, "no WeChat Pay key"},
		{"empty mchid", func(c *sandbox.Config) { c.Merchants[0].MchID = "" }, "MchID"},
		{"no merchant key", func(c *sandbox.Config) { c.Merchants[0].Certificate = nil }, "set Certificate"},
		{"public key without serial", func(c *sandbox.Config) {
			c.Merchants[0].Certificate, c.Merchants[0].CertSerial = nil, ""
			c.Merchants[0].PublicKey = &k.MerchantKey.PublicKey
		}, "CertSerial"},
		{"short APIv3 key", func(c *sandbox.Config) { c.Merchants[0].APIv3Key = "short" }, "APIv3 key"},
		{"bad notify URL", func(c *sandbox.Config) { c.Merchants[0].NotifyURL = "mall.example.com/notify" }, "notification URL"},
		{"own id as sub-merchant", func(c *sandbox.Config) {
			c.Merchants[0].SubMerchants = []sandbox.SubMerchant{{MchID: k.MchID}}
		}, "sub-merchant"},
		{"brand 0", func(c *sandbox.Config) { c.Merchants[0].Brands = map[int64][]string{0: nil} }, "brand id"},
		{"merchant twice", func(c *sandbox.Config) { c.Merchants = append(c.Merchants, c.Merchants[0]) }, "twice"},
		{"public key id", func(c *sandbox.Config) { c.PublicKey.ID = "0114232134912410000000000000" }, "PUB_KEY_ID_"},
		{"platform key of another certificate", func(c *sandbox.Config) { c.PlatformCertificates[0].Key = k.WechatPayKey }, "does not match"},
		{"share above 1", func(c *sandbox.Config) { c.NotifyPublicKeyShare = 1.5 }, "NotifyPublicKeyShare"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := k.Config()
			tt.modify(&cfg)
			s, err := sandbox.New(cfg)
			if err == nil {
				s.Close()
				t.Fatal("New accepted the configuration")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}

	// A merchant known only by its public key and serial is fine.
	cfg := k.Config()
	cfg.Merchants[0] = sandbox.Merchant{MchID: k.MchID, PublicKey: &k.MerchantKey.PublicKey,
		CertSerial: strings.ToLower(k.MerchantSerial), APIv3Key: k.APIv3Key}
	s, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// newerCertificate makes a second platform certificate for the same key,
// issued after the first, as during a certificate rotation.
func newerCertificate(t testing.TB, k *sandbox.Keys) *x509.Certificate {
	t.Helper()
	tmpl := *k.PlatformCert
	tmpl.SerialNumber = new(big.Int).Add(k.PlatformCert.SerialNumber, big.NewInt(1))
	tmpl.NotBefore = tmpl.NotBefore.Add(time.Minute)
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &k.PlatformKey.PublicKey, k.PlatformKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

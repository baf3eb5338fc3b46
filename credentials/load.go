package credentials

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/internal/wxauth"
)

// MaxFileBytes bounds every file Load reads. A path is whatever the operator
// typed, /dev/zero included; a 4096-bit key with a certificate chain is under
// 16 KiB.
const MaxFileBytes = 64 << 10

// A Source is one setting's value and where it came from.
type Source struct {
	Value string
	// From names where Value came from ("--mchid", "WXPAY_MCHID",
	// `"mchid" of merchant 2 in merchants.json`), or, when Value is empty,
	// where it could have come from ("--mchid (or WXPAY_MCHID)"). Errors
	// start with it.
	From string
	// OnCommandLine marks a value given as a command-line flag, which other
	// users of the machine can read (ps, /proc/PID/cmdline): Load warns when
	// a secret is one.
	OnCommandLine bool
}

// A ListSource is a setting that takes several values, such as the platform
// certificates.
type ListSource struct {
	Values []string
	From   string
}

// Sources are the settings of one merchant. Fields ending in File are file
// paths.
type Sources struct {
	BaseURL          Source // https://api.mch.weixin.qq.com/ when empty
	MchID            Source
	PrivateKeyFile   Source // apiclient_key.pem
	MerchantSerial   Source // the merchant certificate's serial, or
	MerchantCertFile Source // apiclient_cert.pem, the serial read from it

	PublicKeyFile     Source // the WeChat Pay public key, pub_key.pem, with
	PublicKeyID       Source // its id, PUB_KEY_ID_…
	PlatformCertFiles ListSource

	APIv3Key     Source // the 32-character APIv3 key, or
	APIv3KeyFile Source // a file holding it (surrounding white space ignored)
}

// Given reports whether any credential was given; the base URL alone is not
// one. A service with none may run against a sandbox instead.
func (s Sources) Given() bool {
	for _, v := range []Source{s.MchID, s.PrivateKeyFile, s.MerchantSerial, s.MerchantCertFile,
		s.PublicKeyFile, s.PublicKeyID, s.APIv3Key, s.APIv3KeyFile} {
		if v.Value != "" {
			return true
		}
	}
	return len(s.PlatformCertFiles.Values) > 0
}

// Credentials are the loaded settings, ready for wxpay.NewClient.
type Credentials struct {
	// Options configure a client with everything given: WithMerchant,
	// WithBaseURL, WithWechatPayPublicKey, WithPlatformCertificates and
	// WithAPIv3Key, as applicable.
	Options []wxpay.Option
	// MchID is the merchant, empty when none was given.
	MchID string
	// Keys hold the WeChat Pay public key and platform certificates given,
	// for a verifier of notifications. When Keys.Certificates() is not
	// empty, a long-running service keeps them current with
	// Client.StartCertificateRefresher.
	Keys *wxpay.KeyRing
	// APIv3Key is the APIv3 key, empty when none was given.
	APIv3Key string
	// Warnings are things that work but should not be done, for the caller
	// to log, such as a secret given on the command line.
	Warnings []string
}

// Load reads and checks the files and values the sources name. The parts in
// need must be given; a part not needed is loaded and checked all the same
// when any of its settings is given. The first problem found is returned,
// naming its source.
func (s Sources) Load(need Parts) (*Credentials, error) {
	c := &Credentials{Keys: wxpay.NewKeyRing()}
	if v := s.BaseURL; v.Value != "" {
		// The client's own check, applied early so that the error names the setting.
		if err := wxpay.WithBaseURL(v.Value)(new(wxpay.Client)); err != nil {
			return nil, fmt.Errorf("%s: %w", v.From, err)
		}
		c.Options = append(c.Options, wxpay.WithBaseURL(v.Value))
	}
	if need&Merchant != 0 || anyGiven(s.MchID, s.PrivateKeyFile, s.MerchantSerial, s.MerchantCertFile) {
		opt, err := s.merchant()
		if err != nil {
			return nil, err
		}
		c.MchID = s.MchID.Value
		c.Options = append(c.Options, opt)
	}
	if err := s.verifier(c.Keys); err != nil {
		return nil, err
	}
	if need&Verifier != 0 && len(c.Keys.Serials()) == 0 {
		return nil, fmt.Errorf("a key to verify with is required: %s with %s, or %s",
			s.PublicKeyFile.From, s.PublicKeyID.From, s.PlatformCertFiles.From)
	}
	if s.PublicKeyFile.Value != "" {
		pub, _ := c.Keys.Lookup(s.PublicKeyID.Value)
		c.Options = append(c.Options, wxpay.WithWechatPayPublicKey(s.PublicKeyID.Value, pub))
	}
	if certs := c.Keys.Certificates(); len(certs) > 0 {
		c.Options = append(c.Options, wxpay.WithPlatformCertificates(certs...))
	}
	key, warning, err := s.apiv3Key()
	switch {
	case err != nil:
		return nil, err
	case key == "" && need&APIv3Key != 0:
		return nil, fmt.Errorf("%s or %s is required", s.APIv3KeyFile.From, s.APIv3Key.From)
	case key != "":
		c.APIv3Key = key
		c.Options = append(c.Options, wxpay.WithAPIv3Key(key))
	}
	if warning != "" {
		c.Warnings = append(c.Warnings, warning)
	}
	return c, nil
}

func anyGiven(sources ...Source) bool {
	for _, s := range sources {
		if s.Value != "" {
			return true
		}
	}
	return false
}

// merchant loads the merchant's id, key and certificate serial.
func (s Sources) merchant() (wxpay.Option, error) {
	if s.MchID.Value == "" {
		return nil, required(s.MchID)
	}
	if s.PrivateKeyFile.Value == "" {
		return nil, required(s.PrivateKeyFile)
	}
	key, err := loadFile(s.PrivateKeyFile, wxpay.LoadPrivateKey)
	if err != nil {
		return nil, err
	}
	serial, certFile := s.MerchantSerial, s.MerchantCertFile
	if certFile.Value != "" {
		cert, err := loadFile(certFile, wxpay.LoadCertificate)
		if err != nil {
			return nil, err
		}
		if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
			return nil, fmt.Errorf("%s %s is not the certificate of %s %s", certFile.From, certFile.Value, s.PrivateKeyFile.From, s.PrivateKeyFile.Value)
		}
		fromCert := wxpay.CertificateSerial(cert)
		if serial.Value != "" && !strings.EqualFold(serial.Value, fromCert) {
			return nil, fmt.Errorf("%s %s disagrees with the serial %s of %s %s", serial.From, serial.Value, fromCert, certFile.From, certFile.Value)
		}
		serial.Value = fromCert
	}
	if serial.Value == "" {
		return nil, fmt.Errorf("%s or %s is required", serial.From, certFile.From)
	}
	return wxpay.WithMerchant(s.MchID.Value, serial.Value, key), nil
}

// verifier adds the WeChat Pay public key and the platform certificates
// given to ring.
func (s Sources) verifier(ring *wxpay.KeyRing) error {
	pubFile, keyID := s.PublicKeyFile, s.PublicKeyID
	switch {
	case pubFile.Value != "" && keyID.Value == "":
		return fmt.Errorf("%s is required with %s", keyID.From, pubFile.From)
	case pubFile.Value == "" && keyID.Value != "":
		return fmt.Errorf("%s is required with %s", pubFile.From, keyID.From)
	case pubFile.Value != "":
		pub, err := loadFile(pubFile, wxpay.LoadPublicKey)
		if err != nil {
			return err
		}
		if err := ring.AddPublicKey(keyID.Value, pub); err != nil {
			return fmt.Errorf("%s: %w", keyID.From, err)
		}
	}
	for _, f := range s.PlatformCertFiles.Values {
		src := Source{Value: f, From: s.PlatformCertFiles.From}
		cert, err := loadFile(src, wxpay.LoadCertificate)
		if err != nil {
			return err
		}
		if err := ring.AddCertificates(cert); err != nil {
			return fmt.Errorf("%s %s: %w", src.From, f, err)
		}
	}
	return nil
}

// apiv3Key returns the APIv3 key, checked for length, or "" if none is
// given, and a warning when it was given on the command line. Errors never
// quote the key, nor the path of its file, which may be the key itself put
// in the wrong variable.
func (s Sources) apiv3Key() (key, warning string, err error) {
	inline, file := s.APIv3Key, s.APIv3KeyFile
	switch {
	case inline.Value != "" && file.Value != "":
		return "", "", fmt.Errorf("%s and %s: give one", inline.From, file.From)
	case file.Value != "":
		b, err := readFile(file.Value)
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", file.From, err)
		}
		key = strings.TrimSpace(string(b))
		if err := wxauth.CheckAPIv3Key([]byte(key)); err != nil {
			return "", "", fmt.Errorf("%s: the file holds %d bytes besides white space; an APIv3 key has %d", file.From, len(key), wxauth.APIv3KeyLength)
		}
		return key, "", nil
	case inline.Value != "":
		if err := wxauth.CheckAPIv3Key([]byte(inline.Value)); err != nil {
			return "", "", fmt.Errorf("%s: %w", inline.From, err)
		}
		if inline.OnCommandLine {
			warning = fmt.Sprintf("%s: other users of this machine can read a command line (ps, /proc/PID/cmdline); give the key with %s instead",
				inline.From, file.From)
		}
		return inline.Value, warning, nil
	}
	return "", "", nil
}

func required(s Source) error { return fmt.Errorf("%s is required", s.From) }

// loadFile reads the file src names and parses it, naming src and the path
// on failure but never the file's content.
func loadFile[T any](src Source, parse func([]byte) (T, error)) (T, error) {
	var zero T
	if looksLikePEM(src.Value) {
		// Someone put the key itself where its path belongs: say so without
		// repeating it.
		return zero, fmt.Errorf("%s holds PEM text; it takes the path of a PEM file", src.From)
	}
	b, err := readFile(src.Value)
	if err == nil {
		var v T
		if v, err = parse(b); err == nil {
			return v, nil
		}
	}
	return zero, fmt.Errorf("%s %s: %w", src.From, src.Value, err)
}

func looksLikePEM(s string) bool {
	return strings.Contains(s, "-----BEGIN") || strings.ContainsAny(s, "\r\n")
}

// readFile reads a file of at most MaxFileBytes. Its errors do not repeat
// the path, which the caller decides whether to show.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, withoutPath(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, withoutPath(err)
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("larger than %d KiB, the limit", MaxFileBytes>>10)
	}
	return b, nil
}

// withoutPath drops the file name an *os.PathError repeats.
func withoutPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

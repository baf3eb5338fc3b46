package main

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/internal/wxauth"
)

// Flag names and their environment variables: the contract of the command
// line, shared with mallpointsd; renaming one breaks scripts.
const (
	flagBaseURL       = "base-url"
	flagMchID         = "mchid"
	flagPrivateKey    = "private-key"
	flagMerchSerial   = "merchant-serial"
	flagMerchCert     = "merchant-cert"
	flagPublicKey     = "wechatpay-public-key"
	flagPublicKeyID   = "wechatpay-public-key-id"
	flagPlatformCerts = "platform-cert"
	flagAPIv3Key      = "apiv3-key"
	flagConfig        = "config"
)

// fileFlags name files; in a --config file they are relative to the file.
var fileFlags = map[string]bool{flagPrivateKey: true, flagMerchCert: true, flagPublicKey: true, flagPlatformCerts: true}

var envOf = map[string]string{
	flagBaseURL:       "WXPAY_BASE_URL",
	flagMchID:         "WXPAY_MCHID",
	flagPrivateKey:    "WXPAY_PRIVATE_KEY",
	flagMerchSerial:   "WXPAY_MERCHANT_SERIAL",
	flagMerchCert:     "WXPAY_MERCHANT_CERT",
	flagPublicKey:     "WXPAY_WECHATPAY_PUBLIC_KEY",
	flagPublicKeyID:   "WXPAY_WECHATPAY_PUBLIC_KEY_ID",
	flagPlatformCerts: "WXPAY_PLATFORM_CERTS",
	flagAPIv3Key:      "WXPAY_APIV3_KEY",
	flagConfig:        "WXPAY_CONFIG",
}

// settings are credential flags that fall back to their environment
// variables and then to a --config file: a flag given on the command line
// wins, even when empty, then the variable, then the file.
type settings struct {
	fs      *flag.FlagSet
	getenv  func(string) string
	str     map[string]*string
	list    map[string]*listFlag
	cfgPath *string
	config  map[string][]string // from --config, file paths made absolute
	cfgName string              // "--config FILE" or "WXPAY_CONFIG FILE", for messages
}

// setting is one resolved value and where it came from ("--mchid" or
// "WXPAY_MCHID"), so that errors can name it.
type setting struct {
	value  string
	source string
}

func newSettings(fs *flag.FlagSet, getenv func(string) string) *settings {
	s := &settings{fs: fs, getenv: getenv, str: map[string]*string{}, list: map[string]*listFlag{}}
	s.cfgPath = fs.String(flagConfig, "", "")
	return s
}

// loadConfig reads the --config file (or WXPAY_CONFIG), if any: a JSON
// object whose keys are flag names, e.g. {"mchid": "1900000109",
// "private-key": "apiclient_key.pem", "platform-cert": ["a.pem", "b.pem"]}.
// Call it once the flags are parsed.
func (s *settings) loadConfig() error {
	path, source := *s.cfgPath, "--"+flagConfig
	if !s.isSet(flagConfig) {
		path, source = s.getenv(envOf[flagConfig]), envOf[flagConfig]
	}
	if path == "" {
		return nil
	}
	s.cfgName = source + " " + path
	raw, err := readFileLimited(path, maxConfigBytes)
	if err != nil {
		return fmt.Errorf("%s: %v", s.cfgName, err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: not a JSON object: %v", s.cfgName, err)
	}
	s.config = map[string][]string{}
	for key, val := range doc {
		if _, known := envOf[key]; !known || key == flagConfig {
			return fmt.Errorf("%s: unknown key %q (keys are flag names, like \"mchid\")", s.cfgName, key)
		}
		var values []string
		var one string
		if err := json.Unmarshal(val, &one); err == nil {
			values = []string{one}
		} else if key != flagPlatformCerts || json.Unmarshal(val, &values) != nil {
			return fmt.Errorf("%s: %q must be a string%s", s.cfgName, key, map[bool]string{true: " or a list of strings"}[key == flagPlatformCerts])
		}
		if fileFlags[key] {
			for i, v := range values {
				if v != "" && !filepath.IsAbs(v) {
					values[i] = filepath.Join(filepath.Dir(path), v)
				}
			}
		}
		s.config[key] = values
	}
	return nil
}

// merchantFlags registers what signing a request needs.
func (s *settings) merchantFlags() {
	for _, name := range []string{flagBaseURL, flagMchID, flagPrivateKey, flagMerchSerial, flagMerchCert} {
		s.str[name] = s.fs.String(name, "", "")
	}
}

// verifyFlags registers what verifying WeChat Pay's signatures needs.
func (s *settings) verifyFlags() {
	for _, name := range []string{flagPublicKey, flagPublicKeyID, flagAPIv3Key} {
		s.str[name] = s.fs.String(name, "", "")
	}
	s.list[flagPlatformCerts] = &listFlag{}
	s.fs.Var(s.list[flagPlatformCerts], flagPlatformCerts, "")
}

func (s *settings) isSet(name string) bool {
	set := false
	s.fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// get resolves a string setting: the flag if given, else its variable.
func (s *settings) get(name string) setting {
	if s.isSet(name) {
		return setting{*s.str[name], "--" + name}
	}
	if v := s.getenv(envOf[name]); v != "" {
		return setting{v, envOf[name]}
	}
	if v := s.config[name]; len(v) > 0 {
		return setting{v[0], fmt.Sprintf("%q in %s", name, s.cfgName)}
	}
	return setting{}
}

// getList resolves a repeatable setting: every flag given, else the
// comma-separated variable.
func (s *settings) getList(name string) ([]string, string) {
	if s.isSet(name) {
		return *s.list[name], "--" + name
	}
	var out []string
	for _, v := range strings.Split(s.getenv(envOf[name]), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	if len(out) == 0 && len(s.config[name]) > 0 {
		return s.config[name], fmt.Sprintf("%q in %s", name, s.cfgName)
	}
	return out, envOf[name]
}

// required names a missing setting the way the usage line should.
func required(name string) error {
	return fmt.Errorf("--%s (or %s) is required", name, envOf[name])
}

// merchant reads the merchant's id, key and certificate serial.
func (s *settings) merchant() (wxpay.Option, error) {
	mchid := s.get(flagMchID)
	if mchid.value == "" {
		return nil, required(flagMchID)
	}
	keyFile := s.get(flagPrivateKey)
	if keyFile.value == "" {
		return nil, required(flagPrivateKey)
	}
	pemBytes, err := readFile(keyFile)
	if err != nil {
		return nil, err
	}
	key, err := wxpay.LoadPrivateKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", keyFile.source, keyFile.value, err)
	}

	// The serial and the certificate are one choice: flags, if either is
	// given, replace both variables.
	var serial, certFile setting
	if s.isSet(flagMerchSerial) || s.isSet(flagMerchCert) {
		serial, certFile = setting{*s.str[flagMerchSerial], "--" + flagMerchSerial}, setting{*s.str[flagMerchCert], "--" + flagMerchCert}
	} else {
		serial, certFile = s.get(flagMerchSerial), s.get(flagMerchCert)
	}
	if certFile.value != "" {
		cert, err := loadCert(certFile)
		if err != nil {
			return nil, err
		}
		if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
			return nil, fmt.Errorf("%s %s is not the certificate of %s %s", certFile.source, certFile.value, keyFile.source, keyFile.value)
		}
		fromCert := wxpay.CertificateSerial(cert)
		if serial.value != "" && !strings.EqualFold(serial.value, fromCert) {
			return nil, fmt.Errorf("%s %s disagrees with the serial %s of %s %s", serial.source, serial.value, fromCert, certFile.source, certFile.value)
		}
		serial.value = fromCert
	}
	if serial.value == "" {
		return nil, fmt.Errorf("--%s or --%s (or %s or %s) is required", flagMerchSerial, flagMerchCert, envOf[flagMerchSerial], envOf[flagMerchCert])
	}
	return wxpay.WithMerchant(mchid.value, serial.value, key), nil
}

// keyRing fills a key ring with the WeChat Pay public key and the platform
// certificates given. An empty ring is not an error here.
func (s *settings) keyRing() (*wxpay.KeyRing, error) {
	ring := wxpay.NewKeyRing()
	pubFile, keyID := s.get(flagPublicKey), s.get(flagPublicKeyID)
	switch {
	case pubFile.value != "" && keyID.value == "":
		return nil, fmt.Errorf("--%s (or %s) is required with %s", flagPublicKeyID, envOf[flagPublicKeyID], pubFile.source)
	case pubFile.value == "" && keyID.value != "":
		return nil, fmt.Errorf("--%s (or %s) is required with %s", flagPublicKey, envOf[flagPublicKey], keyID.source)
	case pubFile.value != "":
		pemBytes, err := readFile(pubFile)
		if err != nil {
			return nil, err
		}
		pub, err := wxpay.LoadPublicKey(pemBytes)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %v", pubFile.source, pubFile.value, err)
		}
		if err := ring.AddPublicKey(keyID.value, pub); err != nil {
			return nil, fmt.Errorf("%s: %v", keyID.source, err)
		}
	}
	files, source := s.getList(flagPlatformCerts)
	for _, f := range files {
		cert, err := loadCert(setting{f, source})
		if err != nil {
			return nil, err
		}
		if err := ring.AddCertificates(cert); err != nil {
			return nil, fmt.Errorf("%s %s: %v", source, f, err)
		}
	}
	return ring, nil
}

// apiv3Key returns the APIv3 key, checked for length, or "" if none is given.
func (s *settings) apiv3Key() (string, error) {
	k := s.get(flagAPIv3Key)
	if k.value == "" {
		return "", nil
	}
	if err := wxauth.CheckAPIv3Key([]byte(k.value)); err != nil {
		// Never echo the key itself.
		return "", fmt.Errorf("%s: %v", k.source, err)
	}
	return k.value, nil
}

func loadCert(f setting) (*x509.Certificate, error) {
	pemBytes, err := readFile(f)
	if err != nil {
		return nil, err
	}
	cert, err := wxpay.LoadCertificate(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", f.source, f.value, err)
	}
	return cert, nil
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// splitPair splits "k=v" (for --query and --path-param) at the first "=".
func splitPair(flagName, v string) (string, string, error) {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("--%s %q: want k=v", flagName, v)
	}
	return k, val, nil
}

// parseHeader splits a --header value, "Name: value", and checks both parts
// the way HTTP/1.1 does. A line break in a value would end the header there,
// so such a header is refused before anything is sent rather than failing as
// a network error after the request was signed.
func parseHeader(v string) (string, string, error) {
	k, val, ok := strings.Cut(v, ":")
	k, val = strings.TrimSpace(k), strings.TrimSpace(val)
	switch {
	case !ok || k == "":
		return "", "", fmt.Errorf("--header %q: want 'Name: value'", v)
	case !isToken(k):
		return "", "", fmt.Errorf("--header %q: the name %q is not an HTTP token (letters, digits and !#$%%&'*+-.^_`|~ only)", v, k)
	}
	for _, r := range val {
		if r != '\t' && (r < 0x20 || r == 0x7f) {
			return "", "", fmt.Errorf("--header %q: the value has the control character %q; a header value cannot hold one", v, r)
		}
	}
	return k, val, nil
}

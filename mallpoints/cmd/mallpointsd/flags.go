package main

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/seed2ac2593f/wxpay"
)

// config is everything the flags and the environment say.
type config struct {
	listen, adminListen, adminToken string
	db, rules                       string
	tlsCert, tlsKey                 string
	sandboxListen                   string
	workers                         int
	logFormat                       string

	// WeChat Pay credentials, as for `wxpay`.
	baseURL, mchID, privateKey, merchantSerial, merchantCert string
	publicKey, publicKeyID, apiv3Key                         string
	platformCerts                                            listFlag

	dbGiven bool // --db or MALLPOINTS_DB was set
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

const usage = `mallpointsd: the mall points service — WeChat Pay business-circle payments in, points synced out.

Usage: mallpointsd [flags]

With no WeChat Pay credentials it starts an embedded sandbox on loopback,
with a database of its own made afresh, and prints how to make a payment.

Service (environment variable in brackets):
  --listen ADDR          public surface: POST /wechatpay/notify, /healthz, /readyz (127.0.0.1:8080) [MALLPOINTS_LISTEN]
  --admin-listen ADDR    JSON API under /api/ (127.0.0.1:8081) [MALLPOINTS_ADMIN_LISTEN]
  --admin-token TOKEN    required when --admin-listen is not loopback; sent as Authorization: Bearer [MALLPOINTS_ADMIN_TOKEN]
  --db PATH|URL          SQLite file (./mallpoints.db) or postgres:// URL [MALLPOINTS_DB]
  --rules FILE           rules YAML; reloaded on SIGHUP [MALLPOINTS_RULES]
  --tls-cert FILE        serve --listen over https with this certificate chain [MALLPOINTS_TLS_CERT]
  --tls-key FILE         and this key [MALLPOINTS_TLS_KEY]
  --workers N            syncs sent at once (32) [MALLPOINTS_WORKERS]
  --log-format text|json (text) [MALLPOINTS_LOG_FORMAT]
  --sandbox-listen ADDR  the embedded sandbox's address, without credentials (127.0.0.1:8090) [MALLPOINTS_SANDBOX_LISTEN]

WeChat Pay credentials, as for wxpay:
  --base-url URL [WXPAY_BASE_URL]   --mchid ID [WXPAY_MCHID]   --private-key FILE [WXPAY_PRIVATE_KEY]
  --merchant-serial S [WXPAY_MERCHANT_SERIAL] or --merchant-cert FILE [WXPAY_MERCHANT_CERT]
  --wechatpay-public-key FILE [WXPAY_WECHATPAY_PUBLIC_KEY] with --wechatpay-public-key-id ID [WXPAY_WECHATPAY_PUBLIC_KEY_ID]
  and/or --platform-cert FILE, repeatable [WXPAY_PLATFORM_CERTS, comma-separated]
  --apiv3-key KEY [WXPAY_APIV3_KEY]
`

// parseFlags reads args, falling back to the environment for each flag not
// given.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("mallpointsd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	strs := []struct {
		p           *string
		name, env   string
		def         string
		isDBSetting bool
	}{
		{&c.listen, "listen", "MALLPOINTS_LISTEN", "127.0.0.1:8080", false},
		{&c.adminListen, "admin-listen", "MALLPOINTS_ADMIN_LISTEN", "127.0.0.1:8081", false},
		{&c.adminToken, "admin-token", "MALLPOINTS_ADMIN_TOKEN", "", false},
		{&c.db, "db", "MALLPOINTS_DB", "./mallpoints.db", true},
		{&c.rules, "rules", "MALLPOINTS_RULES", "", false},
		{&c.tlsCert, "tls-cert", "MALLPOINTS_TLS_CERT", "", false},
		{&c.tlsKey, "tls-key", "MALLPOINTS_TLS_KEY", "", false},
		{&c.logFormat, "log-format", "MALLPOINTS_LOG_FORMAT", "text", false},
		{&c.sandboxListen, "sandbox-listen", "MALLPOINTS_SANDBOX_LISTEN", "127.0.0.1:8090", false},
		{&c.baseURL, "base-url", "WXPAY_BASE_URL", "https://api.mch.weixin.qq.com/", false},
		{&c.mchID, "mchid", "WXPAY_MCHID", "", false},
		{&c.privateKey, "private-key", "WXPAY_PRIVATE_KEY", "", false},
		{&c.merchantSerial, "merchant-serial", "WXPAY_MERCHANT_SERIAL", "", false},
		{&c.merchantCert, "merchant-cert", "WXPAY_MERCHANT_CERT", "", false},
		{&c.publicKey, "wechatpay-public-key", "WXPAY_WECHATPAY_PUBLIC_KEY", "", false},
		{&c.publicKeyID, "wechatpay-public-key-id", "WXPAY_WECHATPAY_PUBLIC_KEY_ID", "", false},
		{&c.apiv3Key, "apiv3-key", "WXPAY_APIV3_KEY", "", false},
	}
	for _, s := range strs {
		fs.StringVar(s.p, s.name, s.def, "")
	}
	fs.IntVar(&c.workers, "workers", 0, "")
	fs.Var(&c.platformCerts, "platform-cert", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, usage)
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, s := range strs {
		if given[s.name] {
			c.dbGiven = c.dbGiven || s.isDBSetting
			continue
		}
		if v := getenv(s.env); v != "" {
			*s.p = v
			c.dbGiven = c.dbGiven || s.isDBSetting
		}
	}
	if !given["workers"] {
		if v := getenv("MALLPOINTS_WORKERS"); v != "" {
			if _, err := fmt.Sscan(v, &c.workers); err != nil || c.workers < 1 {
				return nil, fmt.Errorf("MALLPOINTS_WORKERS %q is not a positive number", v)
			}
		}
	}
	if c.workers < 0 {
		return nil, errors.New("--workers must be positive")
	}
	if !given["platform-cert"] {
		if v := getenv("WXPAY_PLATFORM_CERTS"); v != "" {
			c.platformCerts = strings.Split(v, ",")
		}
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return nil, fmt.Errorf("--log-format %q: text or json", c.logFormat)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if c.adminToken == "" && !isLoopback(c.adminListen) {
		return nil, fmt.Errorf("--admin-listen %s is not on loopback: set --admin-token (or MALLPOINTS_ADMIN_TOKEN); the admin surface changes balances", c.adminListen)
	}
	return c, nil
}

// hasCredentials says whether any WeChat Pay credential was given.
func (c *config) hasCredentials() bool {
	return c.mchID != "" || c.privateKey != "" || c.merchantSerial != "" || c.merchantCert != "" ||
		c.publicKey != "" || c.publicKeyID != "" || c.apiv3Key != "" || len(c.platformCerts) > 0
}

// isLoopback reports whether addr's host is a loopback address or localhost.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// credentials loads the key files and builds the client options, naming the
// flag of whatever is missing or unreadable.
func (c *config) credentials() (opts []wxpay.Option, certs []*x509.Certificate, err error) {
	need := func(v, name string) error {
		if v == "" {
			return fmt.Errorf("--%s is required with WeChat Pay credentials", name)
		}
		return nil
	}
	if err := errors.Join(need(c.mchID, "mchid"), need(c.privateKey, "private-key"), need(c.apiv3Key, "apiv3-key")); err != nil {
		return nil, nil, err
	}
	if c.publicKey == "" && len(c.platformCerts) == 0 {
		return nil, nil, errors.New("--wechatpay-public-key (with --wechatpay-public-key-id) or --platform-cert is required to verify WeChat Pay")
	}
	key, err := readKey(c.privateKey, "--private-key", wxpay.LoadPrivateKey)
	if err != nil {
		return nil, nil, err
	}
	serial := c.merchantSerial
	if serial == "" {
		if c.merchantCert == "" {
			return nil, nil, errors.New("--merchant-serial or --merchant-cert is required")
		}
		cert, err := readKey(c.merchantCert, "--merchant-cert", wxpay.LoadCertificate)
		if err != nil {
			return nil, nil, err
		}
		serial = strings.ToUpper(cert.SerialNumber.Text(16))
	}
	opts = []wxpay.Option{wxpay.WithMerchant(c.mchID, serial, key), wxpay.WithBaseURL(c.baseURL),
		wxpay.WithAPIv3Key(c.apiv3Key), wxpay.WithoutRetries()}
	if c.publicKey != "" {
		if c.publicKeyID == "" {
			return nil, nil, errors.New("--wechatpay-public-key-id is required with --wechatpay-public-key")
		}
		pub, err := readKey(c.publicKey, "--wechatpay-public-key", func(b []byte) (*rsa.PublicKey, error) { return wxpay.LoadPublicKey(b) })
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, wxpay.WithWechatPayPublicKey(c.publicKeyID, pub))
	}
	for _, f := range c.platformCerts {
		cert, err := readKey(f, "--platform-cert", wxpay.LoadCertificate)
		if err != nil {
			return nil, nil, err
		}
		certs = append(certs, cert)
	}
	if len(certs) > 0 {
		opts = append(opts, wxpay.WithPlatformCertificates(certs...))
	}
	return opts, certs, nil
}

// readKey reads a PEM file and parses it, naming the flag on failure but
// never the key's content.
func readKey[T any](path, flagName string, parse func([]byte) (T, error)) (T, error) {
	var zero T
	raw, err := os.ReadFile(path)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", flagName, err)
	}
	v, err := parse(raw)
	if err != nil {
		return zero, fmt.Errorf("%s %s: %w", flagName, path, err)
	}
	return v, nil
}

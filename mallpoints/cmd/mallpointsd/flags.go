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
	adminURLs                       listFlag
	// Connections served at once per listener; more wait in the kernel's
	// backlog.
	maxConns, adminMaxConns int

	// WeChat Pay credentials, as for `wxpay`.
	baseURL, mchID, privateKey, merchantSerial, merchantCert string
	publicKey, publicKeyID, apiv3Key                         string
	platformCerts                                            listFlag

	dbGiven bool // --db or MALLPOINTS_DB was set
	// warnings are logged once the logger exists.
	warnings []string
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
  --admin-listen ADDR    dashboard, JSON API under /api/, /metrics (127.0.0.1:8081) [MALLPOINTS_ADMIN_LISTEN]
  --admin-url URL        how people reach the console, e.g. https://points.mall.example; repeatable:
                         its host is accepted, its origin expected (other hosts get 421) [MALLPOINTS_ADMIN_URL, comma-separated]
  --admin-token TOKEN    at least 32 characters; required when --admin-listen is not loopback; sent as
                         Authorization: Bearer. Prefer [MALLPOINTS_ADMIN_TOKEN] or [MALLPOINTS_ADMIN_TOKEN_FILE]:
                         a flag's value is visible to every local account in /proc/PID/cmdline
  --db PATH|URL          SQLite file (./mallpoints.db) or postgres:// URL [MALLPOINTS_DB]
  --rules FILE           rules YAML; reloaded on SIGHUP [MALLPOINTS_RULES]
  --tls-cert FILE        serve --listen over https with this certificate chain [MALLPOINTS_TLS_CERT]
  --tls-key FILE         and this key [MALLPOINTS_TLS_KEY]
  --workers N            syncs sent at once (32) [MALLPOINTS_WORKERS]
  --max-connections N    connections --listen serves at once (1024) [MALLPOINTS_MAX_CONNECTIONS]
  --admin-max-connections N  connections --admin-listen serves at once (64) [MALLPOINTS_ADMIN_MAX_CONNECTIONS]
  --log-format text|json (text) [MALLPOINTS_LOG_FORMAT]
  --sandbox-listen ADDR  the embedded sandbox's address, without credentials (127.0.0.1:8090) [MALLPOINTS_SANDBOX_LISTEN]

WeChat Pay credentials, as for wxpay:
  --base-url URL [WXPAY_BASE_URL]   --mchid ID [WXPAY_MCHID]   --private-key FILE [WXPAY_PRIVATE_KEY]
  --merchant-serial S [WXPAY_MERCHANT_SERIAL] or --merchant-cert FILE [WXPAY_MERCHANT_CERT]
  --wechatpay-public-key FILE [WXPAY_WECHATPAY_PUBLIC_KEY] with --wechatpay-public-key-id ID [WXPAY_WECHATPAY_PUBLIC_KEY_ID]
  and/or --platform-cert FILE, repeatable [WXPAY_PLATFORM_CERTS, comma-separated]
  --apiv3-key KEY        prefer [WXPAY_APIV3_KEY] or [WXPAY_APIV3_KEY_FILE], as for --admin-token

A variable ending in _FILE names a file holding the secret (a trailing newline is ignored).
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
	ints := []struct {
		p         *int
		name, env string
		def, min  int
	}{
		{&c.workers, "workers", "MALLPOINTS_WORKERS", 0, 0}, // 0: the outbox's default
		{&c.maxConns, "max-connections", "MALLPOINTS_MAX_CONNECTIONS", 1024, 1},
		{&c.adminMaxConns, "admin-max-connections", "MALLPOINTS_ADMIN_MAX_CONNECTIONS", 64, 1},
	}
	for _, n := range ints {
		fs.IntVar(n.p, n.name, n.def, "")
	}
	fs.Var(&c.platformCerts, "platform-cert", "")
	fs.Var(&c.adminURLs, "admin-url", "")
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
	for _, n := range ints {
		if v := getenv(n.env); v != "" && !given[n.name] {
			if _, err := fmt.Sscan(v, n.p); err != nil || *n.p < 1 {
				return nil, fmt.Errorf("%s %q is not a positive number", n.env, v)
			}
		}
		if *n.p < n.min {
			return nil, fmt.Errorf("--%s must be at least %d", n.name, n.min)
		}
	}
	for _, l := range []struct {
		p         *listFlag
		name, env string
	}{{&c.platformCerts, "platform-cert", "WXPAY_PLATFORM_CERTS"}, {&c.adminURLs, "admin-url", "MALLPOINTS_ADMIN_URL"}} {
		if v := getenv(l.env); v != "" && !given[l.name] {
			for _, item := range strings.Split(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					*l.p = append(*l.p, item)
				}
			}
		}
	}
	if err := c.secrets(given, getenv); err != nil {
		return nil, err
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return nil, fmt.Errorf("--log-format %q: text or json", c.logFormat)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if c.adminToken == "" && !isLoopback(c.adminListen) {
		return nil, fmt.Errorf("--admin-listen %s is not on loopback: set MALLPOINTS_ADMIN_TOKEN_FILE (or MALLPOINTS_ADMIN_TOKEN, --admin-token); the admin surface changes balances", c.adminListen)
	}
	if n := len(c.adminToken); n > 0 && n < minAdminToken {
		return nil, fmt.Errorf("the admin token has %d characters; use at least %d, such as the output of `openssl rand -hex 32` "+
			"or `head -c 32 /dev/urandom | base64`, in a file named by MALLPOINTS_ADMIN_TOKEN_FILE", n, minAdminToken)
	}
	return c, nil
}

// minAdminToken is the shortest admin token taken: guessing one of 32
// random hex characters is out of reach even without the limit on wrong
// tokens.
const minAdminToken = 32

// maxSecretFile bounds what a …_FILE variable's file may hold: a secret,
// not a file named by mistake.
const maxSecretFile = 4096

// secrets reads the admin token and the APIv3 key from the files their
// …_FILE variables name, unless given otherwise, and warns about a secret
// given as a flag, which any local account reads in /proc/PID/cmdline.
func (c *config) secrets(given map[string]bool, getenv func(string) string) error {
	for _, s := range []struct {
		p         *string
		flag, env string
	}{
		{&c.adminToken, "admin-token", "MALLPOINTS_ADMIN_TOKEN"},
		{&c.apiv3Key, "apiv3-key", "WXPAY_APIV3_KEY"},
	} {
		file := getenv(s.env + "_FILE")
		switch {
		case given[s.flag]:
			c.warnings = append(c.warnings, fmt.Sprintf("--%s on the command line is visible to every local account in /proc/%d/cmdline and ps; "+
				"set %s_FILE (a file only the service reads) or %s instead", s.flag, os.Getpid(), s.env, s.env))
		case file != "" && getenv(s.env) != "":
			return fmt.Errorf("%s and %s_FILE are both set: set one", s.env, s.env)
		case file != "":
			v, err := readSecretFile(file)
			if err != nil {
				return fmt.Errorf("%s_FILE: %w", s.env, err)
			}
			*s.p = v
		}
	}
	return nil
}

// readSecretFile reads a secret from path, without its trailing newline;
// errors never show the content.
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(raw) > maxSecretFile {
		return "", fmt.Errorf("%s holds more than %d bytes: it should hold the secret alone", path, maxSecretFile)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(raw), "\n"), "\r")
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
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

package main

import (
	"cmp"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/credentials"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/memberstatus"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/merchants"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/server"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// config is everything the flags and the environment say.
type config struct {
	listen, adminListen, adminToken string
	db, rules                       string
	merchants                       string
	tlsCert, tlsKey                 string
	adminTLSCert, adminTLSKey       string
	sandboxListen                   string
	workers                         int
	logFormat                       string
	adminURLs                       listFlag
	// Reverse proxies in front of the admin listener, and single sign-on
	// through them: the header naming the person, and the file holding the
	// secret the proxy sends with it (read into proxySecret).
	trustedProxies                   listFlag
	proxyUserHeader, proxySecretFile string
	proxySecret                      string
	// Connections served at once per listener; more wait in the kernel's
	// backlog.
	maxConns, adminMaxConns int
	// An expiry run's members per transaction and its rest between two.
	expiryBatch int
	expiryPause time.Duration
	// WeChat Pay's member queries: how long their answers are used, the
	// calls a second per calling merchant, and how often a member's
	// authorisation is asked again (0: never).
	statusCache, recheckInterval time.Duration
	queryBudget                  int
	// How long notifications and sync attempts are kept: --retention as
	// written, and as read.
	retentionText string
	retention     time.Duration

	// creds are the WeChat Pay credentials, as for `wxpay`; nil when none
	// was given (the embedded sandbox runs instead).
	creds   *credentials.Credentials
	baseURL string // where creds call WeChat Pay
	// merchantCert is the certificate --merchant-cert names, for its
	// expiry; nil without one.
	merchantCert *x509.Certificate

	dbGiven bool // --db or MALLPOINTS_DB was set
	// getenv reads the environment, for the variables the merchants file
	// names.
	getenv func(string) string
	// warnings are logged once the logger exists.
	warnings []string
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// option is one of the service's own flags and its environment variable;
// the table of them registers the flags, reads the environment and makes
// the help.
type option struct {
	name, env, arg string
	help           string // one line; the default, if any, is added to it
	def            string // the default, as the help shows it
	p              any    // *string, *int, *time.Duration or *listFlag
	min            int    // the least value of an int
}

// options lists the service's flags, in the order of the help.
func (c *config) options() []option {
	return []option{
		{"listen", "MALLPOINTS_LISTEN", "ADDR", "public surface: POST /wechatpay/notify[/{mchid}], /healthz, /readyz", "127.0.0.1:8080", &c.listen, 0},
		{"admin-listen", "MALLPOINTS_ADMIN_LISTEN", "ADDR", "dashboard, JSON API under /api/, /metrics", "127.0.0.1:8081", &c.adminListen, 0},
		{"admin-url", "MALLPOINTS_ADMIN_URL", "URL", "how people reach the console; repeatable: its host is accepted, its origin expected", "", &c.adminURLs, 0},
		{"admin-token", "MALLPOINTS_ADMIN_TOKEN", "TOKEN", "the bootstrap administrator's, 32+ characters; off loopback it or an admin account is required; prefer MALLPOINTS_ADMIN_TOKEN_FILE", "", &c.adminToken, 0},
		{"admin-trusted-proxies", "MALLPOINTS_ADMIN_TRUSTED_PROXIES", "CIDR,…", "reverse proxies in front of the admin listener: the client is the right-most X-Forwarded-For entry not among them", "", &c.trustedProxies, 0},
		{"admin-proxy-user-header", "MALLPOINTS_ADMIN_PROXY_USER_HEADER", "NAME", "single sign-on: the header a trusted proxy names the account in, such as X-Forwarded-User", "", &c.proxyUserHeader, 0},
		{"admin-proxy-secret-file", "MALLPOINTS_ADMIN_PROXY_SECRET_FILE", "FILE", "the secret the proxy sends as X-Mallpoints-Proxy-Secret with the user header", "", &c.proxySecretFile, 0},
		{"admin-tls-cert", "MALLPOINTS_ADMIN_TLS_CERT", "FILE", "serve --admin-listen over https with this certificate chain (Secure cookies)", "", &c.adminTLSCert, 0},
		{"admin-tls-key", "MALLPOINTS_ADMIN_TLS_KEY", "FILE", "and this key", "", &c.adminTLSKey, 0},
		{"db", "MALLPOINTS_DB", "PATH|URL", "SQLite file or postgres:// URL", "./mallpoints.db", &c.db, 0},
		{"rules", "MALLPOINTS_RULES", "FILE", "rules YAML; reloaded on SIGHUP", "", &c.rules, 0},
		{"merchants", "MALLPOINTS_MERCHANTS", "FILE", "merchants YAML, several merchants in place of the credentials below (--base-url stays); reloaded on SIGHUP", "", &c.merchants, 0},
		{"tls-cert", "MALLPOINTS_TLS_CERT", "FILE", "serve --listen over https with this certificate chain", "", &c.tlsCert, 0},
		{"tls-key", "MALLPOINTS_TLS_KEY", "FILE", "and this key", "", &c.tlsKey, 0},
		{"retention", "MALLPOINTS_RETENTION", "DURATION", "how long notifications, sync attempts and finished jobs are kept, as 90d or 2160h; at least 2d; the ledger is kept for ever", "90d", &c.retentionText, 0},
		{"workers", "MALLPOINTS_WORKERS", "N", "syncs sent at once (32)", "", &c.workers, 0},
		{"max-connections", "MALLPOINTS_MAX_CONNECTIONS", "N", "connections --listen serves at once", "1024", &c.maxConns, 1},
		{"admin-max-connections", "MALLPOINTS_ADMIN_MAX_CONNECTIONS", "N", "connections --admin-listen serves at once", "64", &c.adminMaxConns, 1},
		{"expiry-batch", "MALLPOINTS_EXPIRY_BATCH", "N", "members an expiry run expires in one transaction", fmt.Sprint(ledger.ExpiryBatch), &c.expiryBatch, 1},
		{"expiry-pause", "MALLPOINTS_EXPIRY_PAUSE", "DURATION", "an expiry run's rest between two batches; 0s for none", ledger.ExpiryPause.String(), &c.expiryPause, 0},
		{"status-cache", "MALLPOINTS_STATUS_CACHE", "DURATION", "how long WeChat Pay's answers about a member serve GET /api/members/{mall}/{openid}/status", "10m", &c.statusCache, 0},
		{"query-budget", "MALLPOINTS_QUERY_BUDGET", "N", "calls a second to each WeChat Pay member query per calling merchant, shared by every replica, counted per tenth of a second (WeChat Pay allows 150)", "120", &c.queryBudget, memberstatus.MinBudget},
		{"recheck-interval", "MALLPOINTS_RECHECK_INTERVAL", "DURATION", "how often a member active in the last 30 days has its authorisation asked again; 0 turns the re-check off", "168h", &c.recheckInterval, 0},
		{"log-format", "MALLPOINTS_LOG_FORMAT", "text|json", "", "text", &c.logFormat, 0},
		{"sandbox-listen", "MALLPOINTS_SANDBOX_LISTEN", "ADDR", "the embedded sandbox's address, without credentials", "127.0.0.1:8090", &c.sandboxListen, 0},
	}
}

// usage is the help, made from the flags' tables.
func usage(opts []option) string {
	var b strings.Builder
	b.WriteString(`mallpointsd: the mall points service — WeChat Pay business-circle payments in, points synced out.

Usage: mallpointsd [flags]

With no WeChat Pay credentials it starts an embedded sandbox on loopback,
with a database of its own made afresh, and prints how to make a payment.

Service (environment variable in brackets):
`)
	for _, o := range opts {
		env := "[" + o.env + "]"
		if _, list := o.p.(*listFlag); list {
			env = "[" + o.env + ", comma-separated]"
		}
		help := o.help
		if o.def != "" {
			help = strings.TrimSpace(help + " (" + o.def + ")")
		}
		fmt.Fprintf(&b, "  %-30s %s %s\n", "--"+o.name+" "+o.arg, env, help)
	}
	b.WriteString("\nWeChat Pay credentials, as for wxpay:\n")
	b.WriteString(credentials.Usage(credentials.All))
	b.WriteString("\nA variable ending in _FILE names a file holding the secret (a trailing newline is ignored).\n")
	return b.String()
}

// flagSet registers the flags on a new flag set, the service's own (opts)
// and the credentials'.
func (c *config) flagSet() (fs *flag.FlagSet, opts []option, credFlags *credentials.Flags) {
	fs = flag.NewFlagSet("mallpointsd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	opts = c.options()
	for _, o := range opts {
		switch p := o.p.(type) {
		case *string:
			fs.StringVar(p, o.name, o.def, o.help)
		case *int:
			var def int
			fmt.Sscan(o.def, &def)
			fs.IntVar(p, o.name, def, o.help)
		case *time.Duration:
			def, _ := time.ParseDuration(o.def)
			fs.DurationVar(p, o.name, def, o.help)
		case *listFlag:
			fs.Var(p, o.name, o.help)
		}
	}
	return fs, opts, credentials.Register(fs, credentials.All)
}

// parseFlags reads args, falling back to the environment for each flag not
// given, and loads the WeChat Pay credentials they name.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	c := &config{getenv: getenv}
	fs, opts, credFlags := c.flagSet()
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, usage(opts))
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, o := range opts {
		v := getenv(o.env)
		if v != "" && !given[o.name] {
			switch p := o.p.(type) {
			case *string:
				*p = v
			case *int:
				if _, err := fmt.Sscan(v, p); err != nil || *p < 1 {
					return nil, fmt.Errorf("%s %q is not a positive number", o.env, v)
				}
			case *time.Duration:
				d, err := time.ParseDuration(v)
				if err != nil {
					return nil, fmt.Errorf("%s %q is not a duration such as 20ms, 10m or 168h", o.env, v)
				}
				*p = d
			case *listFlag:
				for _, item := range strings.Split(v, ",") {
					if item = strings.TrimSpace(item); item != "" {
						*p = append(*p, item)
					}
				}
			}
		}
		if p, ok := o.p.(*int); ok && *p < o.min {
			return nil, fmt.Errorf("--%s must be at least %d", o.name, o.min)
		}
		if p, ok := o.p.(*time.Duration); ok && *p < 0 {
			return nil, fmt.Errorf("--%s must not be negative", o.name)
		}
	}
	c.dbGiven = given["db"] || getenv("MALLPOINTS_DB") != ""
	if err := c.adminSecret(given["admin-token"], getenv); err != nil {
		return nil, err
	}
	src := credFlags.Sources(getenv, nil)
	switch {
	case c.merchants != "" && src.Given():
		return nil, errors.New("--merchants lists the merchants with their keys: give it or the one merchant's credentials (--mchid, --private-key, …), not both")
	case c.merchants != "":
		c.baseURL = cmp.Or(src.BaseURL.Value, wxpay.DefaultBaseURL)
	case src.Given():
		creds, err := src.Load(credentials.All)
		if err != nil {
			return nil, err
		}
		c.creds, c.baseURL = creds, cmp.Or(src.BaseURL.Value, wxpay.DefaultBaseURL)
		c.warnings = append(c.warnings, creds.Warnings...)
		if c.merchantCert, err = merchants.MerchantCertificate(src); err != nil {
			return nil, err
		}
	}
	// --admin-trusted-proxies 10.0.0.0/8,fd00::/8 names several at once.
	var proxies listFlag
	for _, item := range c.trustedProxies {
		for _, p := range strings.Split(item, ",") {
			if p = strings.TrimSpace(p); p != "" {
				proxies = append(proxies, p)
			}
		}
	}
	c.trustedProxies = proxies
	if c.proxySecretFile != "" {
		v, err := readSecretFile(c.proxySecretFile)
		if err != nil {
			return nil, fmt.Errorf("--admin-proxy-secret-file: %w", err)
		}
		c.proxySecret = v
	}
	if c.statusCache == 0 {
		return nil, errors.New("--status-cache must be more than 0: every lookup would ask WeChat Pay")
	}
	retention, err := parseRetention(c.retentionText)
	if err != nil {
		return nil, err
	}
	c.retention = retention
	if c.logFormat != "text" && c.logFormat != "json" {
		return nil, fmt.Errorf("--log-format %q: text or json", c.logFormat)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if (c.adminTLSCert == "") != (c.adminTLSKey == "") {
		return nil, errors.New("--admin-tls-cert and --admin-tls-key go together")
	}
	// Off loopback, the admin surface needs the admin token or an unscoped
	// admin account, which the service checks in its database once open;
	// the sandbox mode's database is new and has no accounts.
	if c.adminToken == "" && !server.IsLoopback(c.adminListen) && c.creds == nil {
		return nil, fmt.Errorf("--admin-listen %s is not on loopback: set MALLPOINTS_ADMIN_TOKEN_FILE (or MALLPOINTS_ADMIN_TOKEN, --admin-token); "+
			"the sandbox mode's database has no accounts; the admin surface changes balances", c.adminListen)
	}
	if n := len(c.adminToken); n > 0 && n < minAdminToken {
		return nil, fmt.Errorf("the admin token has %d characters; use at least %d, such as the output of `openssl rand -hex 32` "+
			"or `head -c 32 /dev/urandom | base64`, in a file named by MALLPOINTS_ADMIN_TOKEN_FILE", n, minAdminToken)
	}
	return c, nil
}

// expiry is the expiry runs' rate: --expiry-pause 0s means none, which
// ledger.ExpiryConfig says with a negative pause.
func (c *config) expiry() ledger.ExpiryConfig {
	e := ledger.ExpiryConfig{Batch: c.expiryBatch, Pause: c.expiryPause}
	if e.Pause == 0 {
		e.Pause = -1
	}
	return e
}

// parseRetention reads --retention: whole days (90d) or a Go duration
// (2160h), at least storage.MinRetention.
func parseRetention(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
		if n > 100*365 {
			err = errors.New("over a century")
		}
	}
	switch {
	case err != nil:
		return 0, fmt.Errorf("--retention %q: a number of days such as 90d, or a duration such as 2160h", s)
	case d < storage.MinRetention:
		return 0, fmt.Errorf("--retention %s is under 2 days: WeChat Pay redelivers a notification for 24h4m, and a repeat is known by its id", s)
	}
	return d, nil
}

// minAdminToken is the shortest admin token taken: guessing one of 32
// random hex characters is out of reach even without the limit on wrong
// tokens.
const minAdminToken = 32

// maxSecretFile bounds what MALLPOINTS_ADMIN_TOKEN_FILE's file may hold:
// a secret, not a file named by mistake.
const maxSecretFile = 4096

// adminSecret reads the admin token from the file MALLPOINTS_ADMIN_TOKEN_FILE
// names, unless it is given otherwise, and warns about a token given as a
// flag, which any local account reads in /proc/PID/cmdline. (The credentials
// package does the same for the APIv3 key.)
func (c *config) adminSecret(flagGiven bool, getenv func(string) string) error {
	const env = "MALLPOINTS_ADMIN_TOKEN"
	file := getenv(env + "_FILE")
	switch {
	case flagGiven:
		c.warnings = append(c.warnings, fmt.Sprintf("--admin-token on the command line is visible to every local account in /proc/%d/cmdline and ps; "+
			"set %s_FILE (a file only the service reads) or %s instead", os.Getpid(), env, env))
	case file != "" && getenv(env) != "":
		return fmt.Errorf("%s and %s_FILE are both set: set one", env, env)
	case file != "":
		v, err := readSecretFile(file)
		if err != nil {
			return fmt.Errorf("%s_FILE: %w", env, err)
		}
		c.adminToken = v
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

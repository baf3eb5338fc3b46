package main

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/internal/delivery"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// defaultKeysDir is where `wxpay sandbox` keeps the keys it makes when none
// are given, so that a second run (and its clients) reuses them.
const defaultKeysDir = "wxpay-sandbox-keys"

// sandboxFile is the --config file of `wxpay sandbox`: the flags' names as
// keys, plus a list of merchants for more than one. File paths are relative
// to the file.
type sandboxFile struct {
	Listen              string            `json:"listen"`
	WechatPayPrivateKey string            `json:"wechatpay-private-key"`
	WechatPayKeyID      string            `json:"wechatpay-public-key-id"`
	PlatformKey         string            `json:"platform-key"`
	PlatformCert        string            `json:"platform-cert"`
	NotifyRetrySchedule string            `json:"notify-retry-schedule"`
	Merchants           []sandboxMerchant `json:"merchants"`
}

type sandboxMerchant struct {
	MchID             string              `json:"mchid"`
	Name              string              `json:"name"`
	MerchantCert      string              `json:"merchant-cert"`
	MerchantPublicKey string              `json:"merchant-public-key"`
	MerchantSerial    string              `json:"merchant-serial"`
	APIv3Key          string              `json:"apiv3-key"`
	NotifyURL         string              `json:"notify-url"`
	AuthNotifyURL     string              `json:"auth-notify-url"`
	SubMchIDs         []string            `json:"sub-mchids"`
	AppIDs            []string            `json:"appids"`
	Brands            map[string][]string `json:"brands"` // brand id → app ids
}

// sandboxOptions are the flags of `wxpay sandbox` merged with its --config
// file, the retry schedule parsed once.
type sandboxOptions struct {
	listen, keysDir                  string
	mchid, merchantCert, merchantPub string
	merchantSerial, apiv3, notifyURL string
	wxKey, wxKeyID, platformKey      string
	platformCert                     string
	subs                             listFlag
	schedule                         []time.Duration // nil: WeChat Pay's own
	publicKeyShare                   float64
	rateLimits                       bool
	merchants                        []sandboxMerchant // from --config
}

// sandboxCmd serves the sandbox until ctx ends.
func (c *cli) sandboxCmd(ctx context.Context, args []string) int {
	const cmd = "wxpay sandbox"
	o, code, done := c.parseSandboxFlags(cmd, args)
	if done {
		return code
	}
	cfg, made, err := c.sandboxConfig(o)
	if err != nil {
		return c.usageError(cmd, err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(c.stderr, nil))
	sb, err := sandbox.New(cfg)
	if err != nil {
		return c.usageError(cmd, err)
	}
	defer sb.Close()
	return c.serveSandbox(ctx, sb, o, made)
}

// parseSandboxFlags reads the flags and the --config file, flags winning, and
// checks everything that can be checked before keys are made.
func (c *cli) parseSandboxFlags(cmd string, args []string) (o sandboxOptions, code int, done bool) {
	fs := newFlagSet("sandbox")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8090", "")
	fs.StringVar(&o.keysDir, "keys-dir", defaultKeysDir, "")
	for name, p := range map[string]*string{
		"mchid": &o.mchid, "merchant-cert": &o.merchantCert, "merchant-public-key": &o.merchantPub,
		"merchant-serial": &o.merchantSerial, "wechatpay-private-key": &o.wxKey, "wechatpay-public-key-id": &o.wxKeyID,
		"platform-key": &o.platformKey, "platform-cert": &o.platformCert, "apiv3-key": &o.apiv3, "notify-url": &o.notifyURL,
	} {
		fs.StringVar(p, name, "", "")
	}
	schedule := fs.String("notify-retry-schedule", "", "")
	configFile := fs.String("config", "", "")
	fs.Float64Var(&o.publicKeyShare, "notify-public-key-share", 1, "")
	fs.BoolVar(&o.rateLimits, "rate-limits", false, "")
	fs.Var(&o.subs, "sub-mchid", "")
	positional, code, done := c.parseFlags(fs, sandboxHelp, args)
	if done {
		return o, code, true
	}
	fail := func(err error) (sandboxOptions, int, bool) { return o, c.usageError(cmd, err), true }
	if len(positional) > 0 {
		return fail(fmt.Errorf("unexpected argument %q", positional[0]))
	}
	if *configFile != "" {
		file, err := readSandboxFile(*configFile)
		if err != nil {
			return fail(err)
		}
		// Flags win over the file's top-level settings.
		if !flagGiven(fs, "listen") && file.Listen != "" {
			o.listen = file.Listen
		}
		for _, f := range []struct{ flag, file *string }{
			{&o.wxKey, &file.WechatPayPrivateKey}, {&o.wxKeyID, &file.WechatPayKeyID},
			{&o.platformKey, &file.PlatformKey}, {&o.platformCert, &file.PlatformCert}, {schedule, &file.NotifyRetrySchedule},
		} {
			if *f.flag == "" {
				*f.flag = *f.file
			}
		}
		o.merchants = file.Merchants
	}
	if *schedule != "" {
		s, err := delivery.ParseSchedule(*schedule)
		if err != nil {
			return fail(fmt.Errorf("--notify-retry-schedule: %v", err))
		}
		o.schedule = s
	}
	if o.publicKeyShare < 0 || o.publicKeyShare > 1 {
		return fail(fmt.Errorf("--notify-public-key-share %v is not between 0 and 1", o.publicKeyShare))
	}
	return o, 0, false
}

// sandboxConfig turns the options into a configuration: the keys given, or
// keys made (or reused) in --keys-dir, which it returns to print how to
// connect.
func (c *cli) sandboxConfig(o sandboxOptions) (cfg sandbox.Config, made *sandbox.Keys, err error) {
	merchantGiven := o.mchid != "" || o.merchantCert != "" || o.merchantPub != "" || len(o.merchants) > 0
	wechatGiven := o.wxKey != "" || o.platformKey != "" || o.platformCert != ""
	switch {
	case !merchantGiven && !wechatGiven:
		if o.apiv3 != "" {
			return cfg, nil, errors.New("--apiv3-key needs the keys it goes with: give --mchid and --merchant-cert too, or let the sandbox use its own")
		}
		keys, reused, err := keysIn(o.keysDir)
		if err != nil {
			return cfg, nil, err
		}
		cfg, made = keys.Config(), keys
		for _, id := range o.subs {
			cfg.Merchants[0].SubMerchants = append(cfg.Merchants[0].SubMerchants, sandbox.SubMerchant{MchID: id})
		}
		fmt.Fprintf(c.stderr, "wxpay sandbox: %s keys in %s\n", map[bool]string{true: "reusing the", false: "made new"}[reused], o.keysDir)
	case !merchantGiven || !wechatGiven:
		return cfg, nil, errors.New("give the merchant (--mchid with --merchant-cert, or --config) and WeChat Pay's keys (--wechatpay-private-key with --wechatpay-public-key-id, and/or --platform-key with --platform-cert), or none of them to let the sandbox make keys")
	default:
		if cfg, err = wechatKeys(o.wxKey, o.wxKeyID, o.platformKey, o.platformCert); err != nil {
			return cfg, nil, err
		}
		merchants := o.merchants
		if o.mchid != "" {
			merchants = append([]sandboxMerchant{{MchID: o.mchid, MerchantCert: o.merchantCert, MerchantPublicKey: o.merchantPub,
				MerchantSerial: o.merchantSerial, APIv3Key: o.apiv3, SubMchIDs: o.subs}}, merchants...)
		}
		for _, m := range merchants {
			mm, err := m.merchant()
			if err != nil {
				return cfg, nil, err
			}
			cfg.Merchants = append(cfg.Merchants, mm)
		}
	}
	if o.notifyURL != "" && len(cfg.Merchants) > 0 {
		cfg.Merchants[0].NotifyURL = o.notifyURL
	}
	cfg.NotifyRetrySchedule = o.schedule
	cfg.NotifyPublicKeyShare = o.publicKeyShare
	cfg.RateLimits = o.rateLimits
	return cfg, made, nil
}

// serveSandbox listens, prints where (and how to connect, for keys it made)
// and serves until ctx ends.
func (c *cli) serveSandbox(ctx context.Context, sb *sandbox.Sandbox, o sandboxOptions, made *sandbox.Keys) int {
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return c.failure(fmt.Errorf("wxpay sandbox: --listen %s: %v", o.listen, err))
	}
	base, warning := connectBase(ln.Addr().(*net.TCPAddr))
	fmt.Fprintf(c.stderr, "wxpay sandbox: listening on %s (admin API under %ssandbox/)\n", base, base)
	if warning != "" {
		fmt.Fprintf(c.stderr, "wxpay sandbox: WARNING: %s\n", warning)
	}
	if made != nil {
		c.printConnect(base, o.keysDir, made, commandPrefix(invokedAs(), executablePath(), workingDir()))
	}
	srv := newHTTPServer(sb, serveTimeouts)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return c.failure(fmt.Errorf("wxpay sandbox: %v", err))
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdown)
	fmt.Fprintln(c.stderr, "wxpay sandbox: stopped")
	return exitOK
}

// connectBase is the base URL that reaches a sandbox listening on addr, and
// a warning when it listens beyond loopback. A wildcard address (0.0.0.0,
// ::) is reached from this machine on loopback: clients refuse http to any
// other host, and http://[::]:P/ is no address to connect to.
func connectBase(addr *net.TCPAddr) (base, warning string) {
	port := strconv.Itoa(addr.Port)
	host := addr.IP.String()
	switch {
	case addr.IP.IsLoopback():
	case addr.IP.IsUnspecified():
		host = "127.0.0.1" // a listener on :: takes IPv4 too
		warning = "listening on every interface: the admin API (/sandbox/) has no authentication, so anyone who can reach port " + port +
			" can create payments, refunds and faults. The SDK and `wxpay call` take http only on loopback; connect with " + "http://" + host + ":" + port + "/"
	default:
		if addr.IP.To4() == nil {
			host = "[" + host + "]"
		}
		warning = "listening on " + host + ", not loopback: the admin API (/sandbox/) has no authentication, and the SDK and `wxpay call` refuse http to any host but loopback (put TLS in front to reach it from elsewhere)"
	}
	return "http://" + net.JoinHostPort(strings.Trim(host, "[]"), port) + "/", warning
}

// invokedAs is the command as the shell was given it (os.Args[0]), "" if
// unknown.
func invokedAs() string {
	if len(os.Args) == 0 {
		return ""
	}
	return os.Args[0]
}

// executablePath is this program's path, "" if unknown.
func executablePath() string {
	p, _ := os.Executable()
	return p
}

// workingDir is the working directory, "" if unknown.
func workingDir() string {
	d, _ := os.Getwd()
	return d
}

// modulePath is the module of this command, for go run and go install lines.
const modulePath = "github.com/seed2ac2593f/wxpay"

// commandPrefix is how to run this command again from dir, so that the lines
// it prints run as printed. Started from a binary, it is the command as it
// was invoked (arg0: "wxpay" found on PATH, "./wxpay" or "/opt/bin/wxpay"
// started by its path), quoted for a shell when it needs to be. Built by go
// run (a binary named wxpay in the go-build cache), it is "go run <path>"
// with the path of cmd/wxpay relative to dir when dir is inside this
// module, else "go run modulePath/cmd/wxpay@latest". Inside a test binary
// (name.test), whose arg0 is not this command, it is "wxpay".
func commandPrefix(arg0, exe, dir string) string {
	name := strings.TrimSuffix(filepath.Base(exe), ".exe")
	switch {
	case name == "wxpay" && strings.Contains(filepath.ToSlash(exe), "/go-build"):
		return goRunPrefix(dir)
	case arg0 == "" || strings.HasSuffix(name, ".test"):
		return "wxpay"
	}
	return shellQuote(arg0)
}

// goRunPrefix is the go run command that builds this command from dir.
func goRunPrefix(dir string) string {
	for d := dir; d != "" && filepath.IsAbs(d); d = filepath.Dir(d) {
		if gomod, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			first, _, _ := strings.Cut(string(gomod), "\n")
			if strings.TrimSpace(first) != "module "+modulePath {
				break // another module: its go run cannot build ours by path
			}
			rel, err := filepath.Rel(dir, filepath.Join(d, "cmd", "wxpay"))
			if err != nil {
				break
			}
			if rel != "." && !strings.HasPrefix(rel, "..") {
				rel = "." + string(filepath.Separator) + rel
			}
			return "go run " + filepath.ToSlash(rel)
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "go run " + modulePath + "/cmd/wxpay@latest"
}

// shellQuote is s as one word for a POSIX shell: as it is when it holds only
// characters no shell treats specially, else in single quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:+,@%=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// printConnect prints command lines that talk to the sandbox, runnable as
// printed from where the user stands: run is how to start this command.
func (c *cli) printConnect(base, dir string, k *sandbox.Keys, run string) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	p := func(name string) string { return filepath.Join(abs, name) }
	query := run + ` call GET 'v3/businesscircle/user-authorizations/{openid}' --path-param openid=oWmnN4xxxxxxxxxxe92NHIGf1xd8 --query appid=wx1234567890abcdef`
	fmt.Fprintf(c.stderr, `
Talk to it with:
  %s --base-url %s --mchid %s --private-key %s --merchant-cert %s --wechatpay-public-key %s --wechatpay-public-key-id %s

or, with the credentials in the environment:
  export WXPAY_BASE_URL=%s WXPAY_MCHID=%s \
    WXPAY_PRIVATE_KEY=%s WXPAY_MERCHANT_CERT=%s \
    WXPAY_WECHATPAY_PUBLIC_KEY=%s WXPAY_WECHATPAY_PUBLIC_KEY_ID=%s
  %s
`, query, base, k.MchID, p(sandbox.FileMerchantKey), p(sandbox.FileMerchantCert), p(sandbox.FilePublicKey), k.PublicKeyID,
		base, k.MchID, p(sandbox.FileMerchantKey), p(sandbox.FileMerchantCert), p(sandbox.FilePublicKey), k.PublicKeyID, query)
	if strings.HasPrefix(run, "go run ") {
		fmt.Fprintf(c.stderr, "(%s builds the command each time; `go install %s/cmd/wxpay@latest` installs it as wxpay)\n", run, modulePath)
	}
	fmt.Fprintf(c.stderr, `
Make a member and a payment to sync points for (admin API):
  curl -s -X POST %ssandbox/authorizations -H 'Content-Type: application/json' -d '{"appid":"wx1234567890abcdef","openid":"oWmnN4xxxxxxxxxxe92NHIGf1xd8"}'
  curl -s -X POST %ssandbox/transactions -H 'Content-Type: application/json' -d '{"appid":"wx1234567890abcdef","openid":"oWmnN4xxxxxxxxxxe92NHIGf1xd8","amount":8800}'

`, base, base)
}

// keysIn loads the keys in dir, or makes and writes them when there are none.
func keysIn(dir string) (keys *sandbox.Keys, reused bool, err error) {
	if _, err := os.Stat(filepath.Join(dir, sandbox.FileMerchantKey)); err == nil {
		k, err := sandbox.LoadKeysDir(dir)
		if err != nil {
			return nil, false, fmt.Errorf("--keys-dir %s: %v", dir, err)
		}
		return k, true, nil
	}
	k, err := sandbox.GenerateKeys()
	if err != nil {
		return nil, false, err
	}
	if err := k.WriteDir(dir); err != nil {
		return nil, false, fmt.Errorf("--keys-dir %s: %v", dir, err)
	}
	return k, false, nil
}

// wechatKeys reads WeChat Pay's signing keys into a configuration.
func wechatKeys(keyFile, keyID, platformKeyFile, platformCertFile string) (sandbox.Config, error) {
	var cfg sandbox.Config
	switch {
	case (keyFile == "") != (keyID == ""):
		return cfg, errors.New("--wechatpay-private-key and --wechatpay-public-key-id go together")
	case (platformKeyFile == "") != (platformCertFile == ""):
		return cfg, errors.New("--platform-key and --platform-cert go together")
	}
	if keyFile != "" {
		key, err := loadPrivateKeyFile("--wechatpay-private-key", keyFile)
		if err != nil {
			return cfg, err
		}
		cfg.PublicKey = &sandbox.PublicKeySigner{ID: keyID, Key: key}
	}
	if platformKeyFile != "" {
		key, err := loadPrivateKeyFile("--platform-key", platformKeyFile)
		if err != nil {
			return cfg, err
		}
		cert, err := loadCert("--platform-cert", platformCertFile)
		if err != nil {
			return cfg, err
		}
		if !key.PublicKey.Equal(cert.PublicKey) {
			return cfg, fmt.Errorf("--platform-cert %s is not the certificate of --platform-key %s", platformCertFile, platformKeyFile)
		}
		cfg.PlatformCertificates = []sandbox.PlatformCertificate{{Certificate: cert, Key: key}}
	}
	return cfg, nil
}

func loadPrivateKeyFile(source, file string) (*rsa.PrivateKey, error) {
	pemBytes, err := readFile(source, file)
	if err != nil {
		return nil, err
	}
	key, err := wxpay.LoadPrivateKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", source, file, err)
	}
	return key, nil
}

// merchant turns one merchant of the flags or the file into configuration.
func (m sandboxMerchant) merchant() (sandbox.Merchant, error) {
	out := sandbox.Merchant{MchID: m.MchID, Name: m.Name, CertSerial: m.MerchantSerial, APIv3Key: m.APIv3Key,
		NotifyURL: m.NotifyURL, AuthNotifyURL: m.AuthNotifyURL, AppIDs: m.AppIDs}
	if m.MchID == "" {
		return out, errors.New("a merchant needs --mchid (\"mchid\" in --config)")
	}
	switch {
	case m.MerchantCert != "":
		cert, err := loadCert("--merchant-cert", m.MerchantCert)
		if err != nil {
			return out, err
		}
		out.Certificate = cert
	case m.MerchantPublicKey != "" && m.MerchantSerial != "":
		pemBytes, err := readFile("--merchant-public-key", m.MerchantPublicKey)
		if err != nil {
			return out, err
		}
		if out.PublicKey, err = wxpay.LoadPublicKey(pemBytes); err != nil {
			return out, fmt.Errorf("--merchant-public-key %s: %v", m.MerchantPublicKey, err)
		}
	default:
		return out, fmt.Errorf("merchant %s needs --merchant-cert, or --merchant-public-key with --merchant-serial", m.MchID)
	}
	if m.APIv3Key == "" {
		return out, fmt.Errorf("merchant %s needs --apiv3-key (\"apiv3-key\" in --config)", m.MchID)
	}
	for _, id := range m.SubMchIDs {
		out.SubMerchants = append(out.SubMerchants, sandbox.SubMerchant{MchID: id})
	}
	for brand, apps := range m.Brands {
		id, err := strconv.ParseInt(brand, 10, 64)
		if err != nil {
			return out, fmt.Errorf("merchant %s: brand %q is not a number", m.MchID, brand)
		}
		if out.Brands == nil {
			out.Brands = map[int64][]string{}
		}
		out.Brands[id] = apps
	}
	return out, nil
}

// readSandboxFile reads a --config file, resolving file paths against it.
func readSandboxFile(path string) (sandboxFile, error) {
	var f sandboxFile
	raw, err := readFileLimited(path, maxConfigBytes)
	if err != nil {
		return f, fmt.Errorf("--config %s: %v", path, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("--config %s: %v", path, err)
	}
	rel := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(filepath.Dir(path), *p)
		}
	}
	rel(&f.WechatPayPrivateKey)
	rel(&f.PlatformKey)
	rel(&f.PlatformCert)
	for i := range f.Merchants {
		rel(&f.Merchants[i].MerchantCert)
		rel(&f.Merchants[i].MerchantPublicKey)
	}
	return f, nil
}

// flagGiven reports whether the flag name was given on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// httpTimeouts bound how long a client may hold a connection of `wxpay
// sandbox`: a 1 byte/s body or an idle keep-alive is cut off.
type httpTimeouts struct{ readHeader, read, write, idle time.Duration }

// serveTimeouts are those of `wxpay sandbox`; write leaves room for the
// longest latency a fault can inject (one minute).
var serveTimeouts = httpTimeouts{readHeader: 10 * time.Second, read: 30 * time.Second, write: 90 * time.Second, idle: time.Minute}

// newHTTPServer is an http.Server for h with the timeouts t.
func newHTTPServer(h http.Handler, t httpTimeouts) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: t.readHeader, ReadTimeout: t.read, WriteTimeout: t.write, IdleTimeout: t.idle}
}

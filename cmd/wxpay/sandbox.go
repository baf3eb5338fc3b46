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

// sandboxCmd serves the sandbox until ctx ends.
func (c *cli) sandboxCmd(ctx context.Context, args []string) int {
	const cmd = "wxpay sandbox"
	fs := newFlagSet("sandbox")
	listen := fs.String("listen", "127.0.0.1:8090", "")
	mchid := fs.String("mchid", "", "")
	merchantCert := fs.String("merchant-cert", "", "")
	merchantPub := fs.String("merchant-public-key", "", "")
	merchantSerial := fs.String("merchant-serial", "", "")
	wxKey := fs.String("wechatpay-private-key", "", "")
	wxKeyID := fs.String("wechatpay-public-key-id", "", "")
	platformKey := fs.String("platform-key", "", "")
	platformCert := fs.String("platform-cert", "", "")
	apiv3 := fs.String("apiv3-key", "", "")
	notifyURL := fs.String("notify-url", "", "")
	schedule := fs.String("notify-retry-schedule", "", "")
	configFile := fs.String("config", "", "")
	keysDir := fs.String("keys-dir", defaultKeysDir, "")
	var subs listFlag
	fs.Var(&subs, "sub-mchid", "")
	positional, code, done := c.parseFlags(fs, sandboxHelp, args)
	if done {
		return code
	}
	if len(positional) > 0 {
		return c.usageError(cmd, fmt.Errorf("unexpected argument %q", positional[0]))
	}
	var file sandboxFile
	if *configFile != "" {
		var err error
		if file, err = readSandboxFile(*configFile); err != nil {
			return c.usageError(cmd, err)
		}
	}
	// Flags win over the file's top-level settings.
	pick := func(flagValue, fileValue string) string {
		if flagValue != "" {
			return flagValue
		}
		return fileValue
	}
	if !flagGiven(fs, "listen") && file.Listen != "" {
		*listen = file.Listen
	}
	*wxKey, *wxKeyID = pick(*wxKey, file.WechatPayPrivateKey), pick(*wxKeyID, file.WechatPayKeyID)
	*platformKey, *platformCert = pick(*platformKey, file.PlatformKey), pick(*platformCert, file.PlatformCert)
	*schedule = pick(*schedule, file.NotifyRetrySchedule)

	var cfg sandbox.Config
	var made *sandbox.Keys // keys made or reused in --keys-dir, to print how to connect
	merchantGiven := *mchid != "" || *merchantCert != "" || *merchantPub != "" || len(file.Merchants) > 0
	wechatGiven := *wxKey != "" || *platformKey != "" || *platformCert != ""
	switch {
	case !merchantGiven && !wechatGiven:
		if *apiv3 != "" {
			return c.usageError(cmd, errors.New("--apiv3-key needs the keys it goes with: give --mchid and --merchant-cert too, or let the sandbox use its own"))
		}
		var schedErr error
		if *schedule != "" {
			_, schedErr = delivery.ParseSchedule(*schedule)
		}
		if schedErr != nil {
			return c.usageError(cmd, fmt.Errorf("--notify-retry-schedule: %v", schedErr))
		}
		keys, reused, err := keysIn(*keysDir)
		if err != nil {
			return c.usageError(cmd, err)
		}
		made = keys
		cfg = keys.Config()
		fmt.Fprintf(c.stderr, "wxpay sandbox: %s keys in %s\n", map[bool]string{true: "reusing the", false: "made new"}[reused], *keysDir)
	case !merchantGiven || !wechatGiven:
		return c.usageError(cmd, errors.New("give the merchant (--mchid with --merchant-cert, or --config) and WeChat Pay's keys (--wechatpay-private-key with --wechatpay-public-key-id, and/or --platform-key with --platform-cert), or none of them to let the sandbox make keys"))
	default:
		var err error
		if cfg, err = wechatKeys(*wxKey, *wxKeyID, *platformKey, *platformCert); err != nil {
			return c.usageError(cmd, err)
		}
		merchants := file.Merchants
		if *mchid != "" {
			merchants = append([]sandboxMerchant{{MchID: *mchid, MerchantCert: *merchantCert, MerchantPublicKey: *merchantPub,
				MerchantSerial: *merchantSerial, APIv3Key: *apiv3, SubMchIDs: subs}}, merchants...)
		}
		for _, m := range merchants {
			mm, err := m.merchant()
			if err != nil {
				return c.usageError(cmd, err)
			}
			cfg.Merchants = append(cfg.Merchants, mm)
		}
		cfg.NotifyPublicKeyShare = 1
	}
	if len(cfg.Merchants) > 0 {
		if *notifyURL != "" {
			cfg.Merchants[0].NotifyURL = *notifyURL
		}
		if len(subs) > 0 && made != nil {
			for _, id := range subs {
				cfg.Merchants[0].SubMerchants = append(cfg.Merchants[0].SubMerchants, sandbox.SubMerchant{MchID: id})
			}
		}
	}
	if *schedule != "" {
		s, err := delivery.ParseSchedule(*schedule)
		if err != nil {
			return c.usageError(cmd, fmt.Errorf("--notify-retry-schedule: %v", err))
		}
		cfg.NotifyRetrySchedule = s
	}
	cfg.Logger = slog.New(slog.NewTextHandler(c.stderr, nil))
	sb, err := sandbox.New(cfg)
	if err != nil {
		return c.usageError(cmd, err)
	}
	defer sb.Close()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return c.failure(fmt.Errorf("wxpay sandbox: --listen %s: %v", *listen, err))
	}
	base := "http://" + ln.Addr().String() + "/"
	fmt.Fprintf(c.stderr, "wxpay sandbox: listening on %s (admin API under %ssandbox/)\n", base, base)
	if made != nil {
		c.printConnect(base, *keysDir, made)
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

// printConnect prints the exact command lines that talk to the sandbox.
func (c *cli) printConnect(base, dir string, k *sandbox.Keys) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	p := func(name string) string { return filepath.Join(abs, name) }
	const query = `wxpay call GET 'v3/businesscircle/user-authorizations/{openid}' --path-param openid=oWmnN4xxxxxxxxxxe92NHIGf1xd8 --query appid=wx1234567890abcdef`
	fmt.Fprintf(c.stderr, `
Talk to it with:
  %s --base-url %s --mchid %s --private-key %s --merchant-cert %s --wechatpay-public-key %s --wechatpay-public-key-id %s

or, with the credentials in the environment:
  export WXPAY_BASE_URL=%s WXPAY_MCHID=%s \
    WXPAY_PRIVATE_KEY=%s WXPAY_MERCHANT_CERT=%s \
    WXPAY_WECHATPAY_PUBLIC_KEY=%s WXPAY_WECHATPAY_PUBLIC_KEY_ID=%s
  %s

Make a member and a payment to sync points for (admin API):
  curl -s -X POST %ssandbox/authorizations -H 'Content-Type: application/json' -d '{"appid":"wx1234567890abcdef","openid":"oWmnN4xxxxxxxxxxe92NHIGf1xd8"}'
  curl -s -X POST %ssandbox/transactions -H 'Content-Type: application/json' -d '{"appid":"wx1234567890abcdef","openid":"oWmnN4xxxxxxxxxxe92NHIGf1xd8","amount":8800}'

`, query, base, k.MchID, p(sandbox.FileMerchantKey), p(sandbox.FileMerchantCert), p(sandbox.FilePublicKey), k.PublicKeyID,
		base, k.MchID, p(sandbox.FileMerchantKey), p(sandbox.FileMerchantCert), p(sandbox.FilePublicKey), k.PublicKeyID, query, base, base)
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
		cert, err := loadCert(setting{platformCertFile, "--platform-cert"})
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
	pemBytes, err := readFile(setting{file, source})
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
		cert, err := loadCert(setting{m.MerchantCert, "--merchant-cert"})
		if err != nil {
			return out, err
		}
		out.Certificate = cert
	case m.MerchantPublicKey != "" && m.MerchantSerial != "":
		pemBytes, err := readFile(setting{m.MerchantPublicKey, "--merchant-public-key"})
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
	raw, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("--config %s: %v", path, withoutPath(err))
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

// keygen writes fresh keys for a sandbox and its clients.
func (c *cli) keygen(_ context.Context, args []string) int {
	const cmd = "wxpay keygen"
	fs := newFlagSet("keygen")
	out := fs.String("out", "", "")
	force := fs.Bool("force", false, "")
	positional, code, done := c.parseFlags(fs, keygenHelp, args)
	if done {
		return code
	}
	switch {
	case len(positional) > 0:
		return c.usageError(cmd, fmt.Errorf("unexpected argument %q", positional[0]))
	case *out == "":
		return c.usageError(cmd, errors.New("--out DIR is required"))
	}
	if _, err := os.Stat(filepath.Join(*out, sandbox.FileMerchantKey)); err == nil && !*force {
		return c.usageError(cmd, fmt.Errorf("--out %s already holds keys; pass --force to replace them", *out))
	}
	k, err := sandbox.GenerateKeys()
	if err != nil {
		return c.failure(err)
	}
	if err := k.WriteDir(*out); err != nil {
		return c.failure(err)
	}
	summary := map[string]string{
		"dir": *out, "mchid": k.MchID, "merchant_serial": k.MerchantSerial,
		"public_key_id": k.PublicKeyID, "platform_serial": k.PlatformSerial,
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	enc.Encode(summary)
	fmt.Fprintf(c.stderr, "wxpay keygen: TEST keys written to %s (never use them with real money)\n", *out)
	fmt.Fprintf(c.stderr, "  serve them:  wxpay sandbox --keys-dir %s\n", *out)
	return exitOK
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

// Command mallpointsd is the mall points service: it takes WeChat Pay's
// business-circle notifications (payments, refunds, member activations),
// keeps a ledger of points per member, and syncs each payment's points back
// to WeChat Pay through a durable outbox.
//
//	cd mallpoints && go run ./cmd/mallpointsd
//
// With no credentials it runs against an embedded sandbox and prints a curl
// line that makes a payment. See --help for the flags; every flag has a
// MALLPOINTS_* or WXPAY_* environment variable.
package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/notify"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/lograte"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/memberstatus"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/merchants"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/metrics"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/outbox"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	os.Exit(run(ctx, os.Args[1:], os.Getenv, hup, os.Stdout, os.Stderr))
}

// Shutdown budget: stop taking requests, then let running syncs finish.
const (
	httpShutdown   = 5 * time.Second
	outboxShutdown = 20 * time.Second
	// merchantsReload bounds a reload of the merchants file, with the
	// download of platform certificates it may make.
	merchantsReload = 30 * time.Second
)

// run is the whole program; it returns the exit code. It stops when ctx
// ends (SIGTERM or SIGINT); a value on hup reloads the rules and the
// merchants.
func run(ctx context.Context, args []string, getenv func(string) string, hup <-chan os.Signal, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "rules" {
		return rulesCommand(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "users" {
		return usersCommand(ctx, args[1:], getenv, os.Stdin, stdout, stderr)
	}
	c, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "mallpointsd:", err)
		return 2
	}
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if c.logFormat == "json" {
		h = slog.NewJSONHandler(stderr, nil)
	}
	log := slog.New(h)
	for _, w := range c.warnings {
		log.Warn("mallpointsd: " + w)
	}
	if err := serve(ctx, c, log, hup, stdout); err != nil {
		fmt.Fprintln(stderr, "mallpointsd:", err)
		return 1
	}
	return 0
}

// serve runs the service until ctx ends.
func serve(ctx context.Context, c *config, log *slog.Logger, hup <-chan os.Signal, stdout io.Writer) error {
	public, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	public = limitListen(public, c.maxConns)
	defer public.Close()
	admin, err := net.Listen("tcp", c.adminListen)
	if err != nil {
		return fmt.Errorf("--admin-listen: %w", err)
	}
	admin = limitListen(admin, c.adminMaxConns)
	defer admin.Close()

	publicTLS, adminTLS, certs, err := loadTLS(c)
	if err != nil {
		return err
	}
	scfg := server.Config{DB: c.db, Certificates: certs, RulesPath: c.rules, AdminToken: c.adminToken, Logger: log,
		Workers: c.workers, Retention: c.retention, AdminListen: c.adminListen, AdminURLs: c.adminURLs,
		TrustedProxies: c.trustedProxies, ProxyUserHeader: c.proxyUserHeader, ProxySecret: c.proxySecret,
		Status: memberstatus.Config{CacheFor: c.statusCache, Budget: c.queryBudget, RecheckInterval: c.recheckInterval},
		Expiry: c.expiry()}
	if c.recheckInterval == 0 {
		scfg.Status.RecheckInterval = -1 // off
	}
	var apiv3Key string
	clientOptions := []wxpay.Option{wxpay.WithoutRetries(), wxpay.WithLogger(log), wxpay.WithHTTPClient(outboundHTTP(c.workers))}
	switch {
	case c.merchants != "":
		// Each merchant's client is made, and its certificates refreshed, by the server.
		scfg.MerchantsPath = c.merchants
		scfg.MerchantOptions = merchants.Options{BaseURL: c.baseURL, Client: clientOptions, LookupEnv: func(k string) (string, bool) {
			v := c.getenv(k)
			return v, v != ""
		}}
		fmt.Fprintf(stdout, "mallpointsd: the merchants of %s against %s; database %s\n", c.merchants, c.baseURL, redactDSN(c.db))
	case c.creds != nil:
		if scfg.Client, err = wxpay.NewClient(append(c.creds.Options, clientOptions...)...); err != nil {
			return err
		}
		scfg.MchID, apiv3Key = c.creds.MchID, c.creds.APIv3Key
		if cert := c.merchantCert; cert != nil {
			scfg.Certificates = append(scfg.Certificates, metrics.Certificate{Kind: metrics.CertMerchant, Merchant: scfg.MchID,
				Serial: wxpay.CertificateSerial(cert), NotAfter: cert.NotAfter})
		}
		fmt.Fprintf(stdout, "mallpointsd: merchant %s against %s; database %s\n", scfg.MchID, c.baseURL, redactDSN(c.db))
		if len(c.creds.Keys.Certificates()) > 0 {
			// Platform-certificate mode: keep the certificates current, as WeChat Pay rotates them.
			r, err := scfg.Client.StartCertificateRefresher(ctx, merchants.RefreshInterval)
			if err != nil {
				return fmt.Errorf("download platform certificates: %w", err)
			}
			defer r.Stop()
		}
	default:
		sb, err := startSandbox(c, public.Addr().String(), admin.Addr().String(), log, stdout)
		if err != nil {
			return err
		}
		defer sb.close()
		scfg.Client, scfg.MchID, scfg.DB, apiv3Key = sb.client, sb.mchID, sb.db, sb.apiv3Key
		scfg.Sandbox = sb.sandbox
	}
	if scfg.Client != nil {
		if scfg.Parser, err = notify.NewParser(scfg.Client.Verifier(), apiv3Key); err != nil {
			return err
		}
	}
	srv, err := server.New(ctx, scfg)
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		srv.Close(context.Background())
		return err
	}
	log.Info("mallpointsd: rules in force", "version", srv.Rules().Load().Version(), "file", c.rules)

	// Anyone can open connections that fail their TLS handshake: the
	// listeners' error records are rate-limited and counted like the
	// notifications' rejections.
	errorLog := lograte.ErrorLog(lograte.New(log.Handler(), lograte.Config{MinLevel: slog.LevelWarn,
		Dropped: srv.Metrics().LogDropped}), slog.LevelWarn)
	publicSrv := newHTTPServer(srv.Public(), errorLog)
	adminSrv := newHTTPServer(srv.Admin(), errorLog)
	errc := make(chan error, 2)
	go func() {
		if publicTLS != nil {
			publicSrv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*publicTLS}}
			errc <- publicSrv.ServeTLS(public, "", "")
			return
		}
		errc <- publicSrv.Serve(public)
	}()
	go func() {
		if adminTLS != nil {
			adminSrv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*adminTLS}}
			errc <- adminSrv.ServeTLS(admin, "", "")
			return
		}
		errc <- adminSrv.Serve(admin)
	}()
	scheme, adminScheme := "http", "http"
	if c.tlsCert != "" {
		scheme = "https"
	}
	if c.adminTLSCert != "" {
		adminScheme = "https"
	}
	if c.merchants == "" {
		fmt.Fprintf(stdout, "mallpointsd: notifications at %s://%s/wechatpay/notify; admin API at %s://%s/api/\n",
			scheme, public.Addr(), adminScheme, admin.Addr())
	} else {
		for _, m := range srv.Merchants().Load().Merchants() {
			fmt.Fprintf(stdout, "mallpointsd: merchant %s (%s) notified at %s://%s/wechatpay/notify/%s\n", m.MchID, m.Mode, scheme, public.Addr(), m.MchID)
		}
		fmt.Fprintf(stdout, "mallpointsd: admin API at %s://%s/api/\n", adminScheme, admin.Addr())
	}
	fmt.Fprintf(stdout, "mallpointsd: dashboard at %s://%s/, metrics at %s://%s/metrics\n", adminScheme, admin.Addr(), adminScheme, admin.Addr())

	for {
		select {
		case <-hup:
			if c.rules != "" || c.merchants == "" {
				if set, err := srv.ReloadRules(); err != nil {
					log.Error("mallpointsd: rules not reloaded; the previous rules stay in force", "error", err)
				} else {
					log.Info("mallpointsd: rules reloaded", "version", set.Version())
				}
			}
			if c.merchants != "" {
				rctx, cancel := context.WithTimeout(ctx, merchantsReload)
				if set, err := srv.ReloadMerchants(rctx); err != nil {
					log.Error("mallpointsd: merchants not reloaded; the previous merchants stay in force", "error", err)
				} else {
					log.Info("mallpointsd: merchants reloaded", "merchants", len(set.Merchants()))
				}
				cancel()
			}
			continue
		case err := <-errc:
			srv.Close(context.Background())
			return fmt.Errorf("serve: %w", err)
		case <-ctx.Done():
		}
		break
	}
	log.Info("mallpointsd: shutting down: no new notifications; finishing running syncs")
	srv.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), httpShutdown)
	defer cancel()
	var errs []error
	for _, hs := range []*http.Server{publicSrv, adminSrv} {
		// Connections still open at the deadline (a client that never sent
		// a request) are closed; that is not a failed shutdown.
		if err := hs.Shutdown(sctx); errors.Is(err, context.DeadlineExceeded) {
			log.Warn("mallpointsd: closing connections still open after the shutdown deadline")
			hs.Close()
		} else if err != nil {
			errs = append(errs, err)
		}
	}
	octx, ocancel := context.WithTimeout(context.Background(), outboxShutdown)
	defer ocancel()
	errs = append(errs, srv.Close(octx))
	log.Info("mallpointsd: stopped")
	return errors.Join(errs...)
}

// loadTLS reads the listeners' certificates and keys (--tls-cert,
// --admin-tls-cert), nil when not given, and lists their leaves for the
// expiry gauge. They are served as read at start: a renewed certificate
// takes a restart.
func loadTLS(c *config) (public, admin *tls.Certificate, certs []metrics.Certificate, err error) {
	load := func(certFile, keyFile, flag, kind string) (*tls.Certificate, error) {
		if certFile == "" {
			return nil, nil
		}
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		certs = append(certs, metrics.Certificate{Kind: kind, Serial: pair.Leaf.SerialNumber.Text(16), NotAfter: pair.Leaf.NotAfter})
		return &pair, nil
	}
	if public, err = load(c.tlsCert, c.tlsKey, "--tls-cert", metrics.CertTLS); err != nil {
		return nil, nil, nil, err
	}
	if admin, err = load(c.adminTLSCert, c.adminTLSKey, "--admin-tls-cert", metrics.CertAdminTLS); err != nil {
		return nil, nil, nil, err
	}
	return public, admin, certs, nil
}

// redactDSN hides a password in a database URL.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

// newHTTPServer bounds every phase of a request: WeChat Pay waits at most
// five seconds for an answer, and slow or idle clients must not hold
// connections (each listener also serves a bounded number at once).
func newHTTPServer(h http.Handler, errorLog *stdlog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          errorLog,
	}
}

// outboundHTTP is the HTTP client of the calls to WeChat Pay: every call goes
// to one host, so it keeps as many idle connections to it as the outbox has
// workers (net/http's default keeps two, and a busy outbox would then open,
// and shake TLS hands on, a new connection for most calls).
func outboundHTTP(workers int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = cmp.Or(workers, outbox.DefaultWorkers)
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

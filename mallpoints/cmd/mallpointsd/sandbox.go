package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/server"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// The demo member the embedded sandbox starts with, so that one curl line
// makes a payment that earns points.
const (
	demoAppID  = "wxd678efh567hg6787"
	demoOpenID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
)

// embedded is the sandbox mallpointsd runs without credentials.
type embedded struct {
	client   *wxpay.Client
	mchID    string
	apiv3Key string
	db       string
	close    func()
	// sandbox is the emulator itself: the dashboard makes payments there.
	sandbox *sandbox.Sandbox
}

// startSandbox starts a sandbox on c.sandboxListen that sends its
// notifications to the service at publicAddr, makes a database of its own
// in a fresh temporary folder, and prints how to use both. The sandbox keeps
// its state in memory, so the database starts afresh with it, every time.
func startSandbox(c *config, publicAddr, adminAddr string, log *slog.Logger, stdout io.Writer) (*embedded, error) {
	if c.dbGiven {
		return nil, errors.New("--db needs WeChat Pay credentials: the embedded sandbox keeps its state in memory, so it always runs on a fresh database of its own")
	}
	if c.tlsCert != "" {
		return nil, errors.New("--tls-cert needs WeChat Pay credentials: the embedded sandbox notifies over plain http on loopback")
	}
	if !server.IsLoopback(c.listen) {
		return nil, fmt.Errorf("--listen %s: without credentials the service runs an embedded sandbox and listens on loopback only", c.listen)
	}
	ln, err := net.Listen("tcp", c.sandboxListen)
	if err != nil {
		return nil, fmt.Errorf("--sandbox-listen: %w", err)
	}
	if !server.IsLoopback(ln.Addr().String()) {
		ln.Close()
		return nil, fmt.Errorf("--sandbox-listen %s is not on loopback", c.sandboxListen)
	}
	keys, err := sandbox.GenerateKeys()
	if err != nil {
		ln.Close()
		return nil, err
	}
	cfg := keys.Config()
	cfg.PlatformCertificates = nil // public-key mode, as for merchants onboarded since 2024
	cfg.Merchants[0].NotifyURL = "http://" + publicAddr + "/wechatpay/notify"
	// Retry quickly: the service may still be starting when the first notification goes out.
	cfg.NotifyRetrySchedule = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 15 * time.Second,
		30 * time.Second, time.Minute, 3 * time.Minute, 10 * time.Minute}
	cfg.Logger = log.With("component", "sandbox")
	sb, err := sandbox.New(cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	// The service's own limits, but a write timeout above the longest
	// latency a sandbox fault can inject, as `wxpay sandbox` has.
	hs := newHTTPServer(sb, slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	hs.WriteTimeout = 90 * time.Second
	go hs.Serve(ln)
	sandboxURL := "http://" + ln.Addr().String()

	dir, err := os.MkdirTemp("", "mallpointsd-sandbox-")
	if err != nil {
		hs.Close()
		return nil, err
	}
	e := &embedded{mchID: keys.MchID, apiv3Key: keys.APIv3Key, db: filepath.Join(dir, "mallpoints.db"), sandbox: sb}
	e.close = func() {
		sb.Close()
		hs.Close()
		os.RemoveAll(dir)
	}
	e.client, err = wxpay.NewClient(
		wxpay.WithMerchant(keys.MchID, keys.MerchantSerial, keys.MerchantKey),
		wxpay.WithWechatPayPublicKey(keys.PublicKeyID, &keys.WechatPayKey.PublicKey),
		wxpay.WithBaseURL(sandboxURL),
		wxpay.WithAPIv3Key(keys.APIv3Key),
		wxpay.WithoutRetries(),
		wxpay.WithLogger(log),
		wxpay.WithHTTPClient(outboundHTTP(c.workers)),
	)
	if err != nil {
		e.close()
		return nil, err
	}
	// The demo member is authorised before the service listens; its
	// activation notification is retried until the service answers.
	if _, _, err := sb.Authorize(sandbox.MemberRequest{AppID: demoAppID, OpenID: demoOpenID}); err != nil {
		e.close()
		return nil, err
	}
	fmt.Fprintf(stdout, `mallpointsd: no WeChat Pay credentials given: running against an embedded sandbox at %[1]s (merchant %[2]s).
mallpointsd: sandbox mode keeps its own database, made afresh: %[3]s (removed at exit; %[4]s is not touched).
Make a payment of 123.45 yuan by the demo member (it earns 123 points, synced back to the sandbox):
  curl -s -H 'Content-Type: application/json' -d '{"appid":"%[5]s","openid":"%[6]s","amount":12345}' %[1]s/sandbox/transactions
Or make one in the dashboard: http://%[7]s/
See it in the service:      curl -s http://%[7]s/api/transactions
and what the sandbox got:   curl -s %[1]s/sandbox/points/TRANSACTION_ID
`, sandboxURL, keys.MchID, e.db, c.db, demoAppID, demoOpenID, adminAddr)
	return e, nil
}

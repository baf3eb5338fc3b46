package sandbox

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/notify"
)

// Server is a sandbox listening on a loopback port, in the style of
// httptest.Server, with a client ready to call it. Close it when done.
type Server struct {
	URL     string        // base URL of the sandbox, such as http://127.0.0.1:PORT
	Client  *wxpay.Client // signs as the merchant and verifies the sandbox's answers
	Keys    *Keys
	Sandbox *Sandbox
	// NotifyURL is the receiver started for WithNotifyHandler or
	// WithNotifyFunc, or the URL given with WithNotifyURL; empty when
	// notifications go nowhere.
	NotifyURL string
	// Parser verifies and decrypts notifications the way the merchant must:
	// with the client's keys and the APIv3 key.
	Parser *notify.Parser

	http     *httptest.Server
	receiver *httptest.Server
}

// KeyMode says which WeChat Pay keys a Server has, and trusts.
type KeyMode int

const (
	// PublicKeyMode: WeChat Pay's public key only (微信支付公钥), as for merchants
	// onboarded since 2024; GET /v3/certificates is 404.
	PublicKeyMode KeyMode = iota
	// PlatformCertificateMode: the platform certificate only (平台证书).
	PlatformCertificateMode
	// MigrationMode: both. Answers are signed with the key the request's
	// Wechatpay-Serial names; notifications with the public key.
	MigrationMode
)

// ServerOption configures NewServer.
type ServerOption func(*serverConfig)

type serverConfig struct {
	keys          *Keys
	mode          KeyMode
	notifyURL     string
	notifyFunc    notify.HandlerFunc
	notifyHandler func(*Server) http.Handler
	subs          []string
	now           func() time.Time
	schedule      []time.Duration
	configure     []func(*Config)
	clientOptions []wxpay.Option
}

// WithKeys uses k instead of the keys generated once per process.
func WithKeys(k *Keys) ServerOption { return func(c *serverConfig) { c.keys = k } }

// WithKeyMode chooses the WeChat Pay keys; the default is PublicKeyMode.
func WithKeyMode(m KeyMode) ServerOption { return func(c *serverConfig) { c.mode = m } }

// WithNotifyURL sends the merchant's notifications to url.
func WithNotifyURL(url string) ServerOption { return func(c *serverConfig) { c.notifyURL = url } }

// WithNotifyFunc starts a notification receiver (notify.NewHandler with the
// server's Parser) that calls fn with every notification that verified and
// decrypted, and points the merchant's notification URL at it.
func WithNotifyFunc(fn notify.HandlerFunc) ServerOption {
	return func(c *serverConfig) { c.notifyFunc = fn }
}

// WithNotifyHandler starts a notification receiver serving the handler fn
// returns, and points the merchant's notification URL at it. fn is called
// once, inside NewServer, after srv.Client and srv.Parser exist, so the
// handler can verify notifications with srv.Parser and answer them with
// calls through srv.Client, such as the points sync that follows a payment;
// srv.Sandbox is set before the first notification arrives. It replaces
// WithNotifyFunc.
func WithNotifyHandler(fn func(srv *Server) http.Handler) ServerOption {
	return func(c *serverConfig) { c.notifyHandler = fn }
}

// WithSubMerchants makes the merchant a service provider (服务商) acting for
// the malls ids: its calls must name one of them in sub_mchid.
func WithSubMerchants(ids ...string) ServerOption {
	return func(c *serverConfig) { c.subs = append(c.subs, ids...) }
}

// WithClock sets the sandbox clock and the client's.
func WithClock(now func() time.Time) ServerOption { return func(c *serverConfig) { c.now = now } }

// WithRetrySchedule sets the waits between notification attempts. The
// default of a Server is fast, for tests: 10ms, 20ms, 40ms, 80ms, 160ms
// (a Sandbox of its own defaults to WeChat Pay's 24-hour schedule).
func WithRetrySchedule(waits ...time.Duration) ServerOption {
	return func(c *serverConfig) { c.schedule = append([]time.Duration{}, waits...) }
}

// WithConfig lets fn change the sandbox configuration last, for anything
// the other options do not cover (more merchants, brands, a logger).
func WithConfig(fn func(*Config)) ServerOption {
	return func(c *serverConfig) { c.configure = append(c.configure, fn) }
}

// WithClientOptions adds options to the Server's client, such as
// wxpay.WithoutRetries().
func WithClientOptions(opts ...wxpay.Option) ServerOption {
	return func(c *serverConfig) { c.clientOptions = append(c.clientOptions, opts...) }
}

var sharedKeys = sync.OnceValues(GenerateKeys)

// NewServer starts a sandbox for one merchant on a loopback port. Keys are
// generated once per process unless given. Like httptest.NewServer it
// panics when it cannot start. Its servers (the sandbox and the receiver of
// WithNotifyFunc) cut off slow and idle clients: 10 s for the headers, 30 s
// for the whole request, 90 s to answer, one minute idle.
func NewServer(opts ...ServerOption) *Server {
	sc := serverConfig{schedule: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond,
		40 * time.Millisecond, 80 * time.Millisecond, 160 * time.Millisecond}}
	for _, o := range opts {
		o(&sc)
	}
	if sc.keys == nil {
		k, err := sharedKeys()
		if err != nil {
			panic("sandbox: NewServer: " + err.Error())
		}
		sc.keys = k
	}
	k := sc.keys
	srv := &Server{Keys: k}

	cfg := k.Config()
	switch sc.mode {
	case PublicKeyMode:
		cfg.PlatformCertificates = nil
	case PlatformCertificateMode:
		cfg.PublicKey = nil
	}
	cfg.Now = sc.now
	cfg.NotifyRetrySchedule = sc.schedule
	for _, id := range sc.subs {
		cfg.Merchants[0].SubMerchants = append(cfg.Merchants[0].SubMerchants, SubMerchant{MchID: id})
	}

	// The client first: the notification receiver verifies with its keys.
	var handler atomic.Pointer[Sandbox]
	srv.http = startServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.Load().ServeHTTP(w, r)
	}), defaultTimeouts)
	srv.URL = srv.http.URL
	copts := []wxpay.Option{
		wxpay.WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey),
		wxpay.WithBaseURL(srv.URL),
		wxpay.WithHTTPClient(srv.http.Client()),
		wxpay.WithAPIv3Key(k.APIv3Key),
	}
	if cfg.PublicKey != nil {
		copts = append(copts, wxpay.WithWechatPayPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey))
	}
	if cfg.PlatformCertificates != nil {
		copts = append(copts, wxpay.WithPlatformCertificates(k.PlatformCert))
	}
	if sc.now != nil {
		copts = append(copts, wxpay.WithClock(sc.now))
	}
	var err error
	if srv.Client, err = wxpay.NewClient(append(copts, sc.clientOptions...)...); err != nil {
		srv.http.Close()
		panic("sandbox: NewServer: " + err.Error())
	}
	if srv.Parser, err = notify.NewParser(srv.Client.Verifier(), k.APIv3Key); err != nil {
		srv.http.Close()
		panic("sandbox: NewServer: " + err.Error())
	}

	srv.NotifyURL = sc.notifyURL
	switch {
	case sc.notifyHandler != nil:
		srv.receiver = startServer(sc.notifyHandler(srv), defaultTimeouts)
	case sc.notifyFunc != nil:
		srv.receiver = startServer(notify.NewHandler(srv.Parser, sc.notifyFunc), defaultTimeouts)
	}
	if srv.receiver != nil {
		srv.NotifyURL = srv.receiver.URL
	}
	cfg.Merchants[0].NotifyURL = srv.NotifyURL
	for _, fn := range sc.configure {
		fn(&cfg)
	}
	if srv.Sandbox, err = New(cfg); err != nil {
		srv.Close()
		panic("sandbox: NewServer: " + err.Error())
	}
	handler.Store(srv.Sandbox)
	return srv
}

// Close stops notification deliveries, then the receiver and the server.
func (s *Server) Close() {
	if s.Sandbox != nil {
		s.Sandbox.Close()
	}
	if s.receiver != nil {
		s.receiver.Close()
	}
	s.http.Close()
}

// timeouts bound how long a client may hold a connection of a server the
// sandbox starts: a 1 byte/s body or an idle keep-alive is cut off.
type timeouts struct {
	readHeader, read, write, idle time.Duration
}

// defaultTimeouts are generous for tests on one machine; write leaves room
// for the longest injected latency (Faults).
var defaultTimeouts = timeouts{
	readHeader: 10 * time.Second,
	read:       30 * time.Second,
	write:      maxLatency + 30*time.Second,
	idle:       time.Minute,
}

// startServer starts h on a loopback port, like httptest.NewServer, with
// the timeouts t.
func startServer(h http.Handler, t timeouts) *httptest.Server {
	s := httptest.NewUnstartedServer(h)
	s.Config.ReadHeaderTimeout = t.readHeader
	s.Config.ReadTimeout = t.read
	s.Config.WriteTimeout = t.write
	s.Config.IdleTimeout = t.idle
	s.Start()
	return s
}

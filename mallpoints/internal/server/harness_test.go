package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/merchants"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/server"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/pgtest"
	"github.com/seed2ac2593f/wxpay/notify"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// Keys are made once per test binary: a 2048-bit RSA key is slow.
var testKeys = sync.OnceValues(sandbox.GenerateKeys)

const (
	appID = "wxd678efh567hg6787"
)

// engine is a database the suite runs on.
type engine struct {
	name string
	dsn  func(t *testing.T) string
}

// engines are SQLite, always, and PostgreSQL: MALLPOINTS_TEST_POSTGRES (a
// URL) or the local server at 127.0.0.1:5432 as user postgres. Without a
// reachable server the PostgreSQL runs skip, except with CI=true, where they
// fail.
func engines(t *testing.T) []engine {
	list := []engine{{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "mallpoints.db") }}}
	base, ok := pgtest.Optional(t)
	if !ok {
		return list
	}
	return append(list, engine{"postgres", func(t *testing.T) string { return newPostgresDatabase(t, base) }})
}

// newPostgresDatabase creates a database of its own for one test and drops
// it afterwards.
func newPostgresDatabase(t *testing.T, base string) string {
	return pgtest.NewDatabase(t, base, "mallpoints_test")
}

// forEachEngine runs fn as a parallel subtest per engine.
func forEachEngine(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Parallel()
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			fn(t, e.dsn(t))
		})
	}
}

// env is one service against one sandbox, over loopback HTTP.
type env struct {
	t       *testing.T
	dsn     string
	keys    *sandbox.Keys
	sb      *sandbox.Sandbox
	sbHTTP  *httptest.Server
	client  *wxpay.Client
	parser  *notify.Parser
	srv     *server.Server
	public  *httptest.Server
	admin   *httptest.Server
	mchID   string
	token   string
	options envOptions

	mu       sync.Mutex
	received []delivery // every notification that reached the service
	replicas []*server.Server
	turn     int
}

// delivery is a notification as it reached the service, for replaying.
type delivery struct {
	path   string // /wechatpay/notify, or /wechatpay/notify/{mchid}
	header http.Header
	body   []byte
}

type envOptions struct {
	rules     *rules.Set
	rulesPath string
	subs      []string // partner mode: the provider's malls
	brands    map[int64][]string
	token     string
	replicas  int // services on the one database, taking notifications in turn; 0 means 1
	// merchants, when set, is a merchants file (--merchants) the service
	// takes instead of the one merchant's credentials; its clients call
	// the sandbox.
	merchants string
	// sandbox and server, when set, change the sandbox's and the service's
	// configuration last (a sandbox clock, the outbox's timings).
	sandbox func(*sandbox.Config)
	server  func(*server.Config)
}

// newEnv starts a sandbox and a service on dsn, wired to each other.
func newEnv(t *testing.T, dsn string, opts envOptions) *env {
	t.Helper()
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dsn: dsn, keys: keys, mchID: keys.MchID, options: opts, token: opts.token}
	e.public = httptest.NewUnstartedServer(nil)
	cfg := keys.Config()
	cfg.PlatformCertificates = nil
	cfg.Merchants[0].NotifyURL = "http://" + e.public.Listener.Addr().String() + "/wechatpay/notify"
	cfg.NotifyRetrySchedule = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond,
		80 * time.Millisecond, 160 * time.Millisecond, 320 * time.Millisecond, 640 * time.Millisecond, time.Second,
		time.Second, time.Second, time.Second, time.Second}
	for _, id := range opts.subs {
		cfg.Merchants[0].SubMerchants = append(cfg.Merchants[0].SubMerchants, sandbox.SubMerchant{MchID: id})
	}
	if opts.brands != nil {
		cfg.Merchants[0].Brands = opts.brands
	}
	if opts.sandbox != nil {
		opts.sandbox(&cfg)
	}
	if e.sb, err = sandbox.New(cfg); err != nil {
		t.Fatal(err)
	}
	e.sbHTTP = httptest.NewServer(e.sb)
	t.Cleanup(e.sbHTTP.Close)
	t.Cleanup(e.sb.Close)
	e.client, err = wxpay.NewClient(
		wxpay.WithMerchant(keys.MchID, keys.MerchantSerial, keys.MerchantKey),
		wxpay.WithWechatPayPublicKey(keys.PublicKeyID, &keys.WechatPayKey.PublicKey),
		wxpay.WithBaseURL(e.sbHTTP.URL),
		wxpay.WithoutRetries(),
	)
	if err != nil {
		t.Fatal(err)
	}
	if e.parser, err = notify.NewParser(e.client.Verifier(), keys.APIv3Key); err != nil {
		t.Fatal(err)
	}
	e.start()
	t.Cleanup(e.stop)
	return e
}

// start starts the service on the env's database and public listener.
func (e *env) start() {
	t := e.t
	t.Helper()
	ctx := context.Background()
	var srvs []*server.Server
	for range max(e.options.replicas, 1) {
		cfg := server.Config{
			DB: e.dsn, MchID: e.mchID, Client: e.client, Parser: e.parser, Rules: e.options.rules,
			RulesPath: e.options.rulesPath, AdminToken: e.token, Logger: testLogger(t), RetryBase: 20 * time.Millisecond,
		}
		if e.options.merchants != "" {
			cfg.MchID, cfg.Client, cfg.Parser = "", nil, nil
			cfg.MerchantsPath = e.options.merchants
			cfg.MerchantOptions = merchants.Options{BaseURL: e.sbHTTP.URL, Client: []wxpay.Option{wxpay.WithoutRetries()}}
		}
		if e.options.server != nil {
			e.options.server(&cfg)
		}
		srv, err := server.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		srvs = append(srvs, srv)
	}
	srv := srvs[0]
	e.mu.Lock()
	e.srv, e.replicas = srv, srvs
	e.mu.Unlock()
	if e.public.Config.Handler == nil {
		e.public.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/wechatpay/notify") {
				body, _ := io.ReadAll(r.Body)
				e.mu.Lock()
				e.received = append(e.received, delivery{r.URL.Path, r.Header.Clone(), body})
				e.mu.Unlock()
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			e.mu.Lock()
			var srv *server.Server
			if len(e.replicas) > 0 {
				srv = e.replicas[e.turn%len(e.replicas)]
				e.turn++
			}
			e.mu.Unlock()
			if srv == nil {
				http.Error(w, "restarting", http.StatusServiceUnavailable)
				return
			}
			srv.Public().ServeHTTP(w, r)
		})
		e.public.Start()
	}
	e.admin = httptest.NewServer(srv.Admin())
	for _, srv := range srvs {
		if err := srv.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// stop stops the service gracefully; the sandbox keeps its state.
func (e *env) stop() {
	if e.srv == nil {
		return
	}
	e.admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.mu.Lock()
	srvs := e.replicas
	e.srv, e.replicas = nil, nil
	e.mu.Unlock()
	for _, srv := range srvs {
		if err := srv.Close(ctx); err != nil {
			e.t.Errorf("close: %v", err)
		}
	}
}

// deliveries returns the notifications received so far.
func (e *env) deliveries() []delivery {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]delivery(nil), e.received...)
}

// deliveryOf finds the first notification received whose id is id.
func (e *env) deliveryOf(id string) delivery {
	e.t.Helper()
	var found delivery
	e.eventually("notification "+id, func() bool {
		for _, d := range e.deliveries() {
			var env struct{ ID string }
			if json.Unmarshal(d.body, &env) == nil && env.ID == id {
				found = d
				return true
			}
		}
		return false
	})
	return found
}

// replay sends a received notification again, as WeChat Pay re-delivers.
func (e *env) replay(d delivery) int { return e.replayAt(d.path, d) }

// replayAt sends a received notification again, to path.
func (e *env) replayAt(path string, d delivery) int {
	req, err := http.NewRequest(http.MethodPost, e.public.URL+path, bytes.NewReader(d.body))
	if err != nil {
		e.t.Error(err)
		return 0
	}
	req.Header = d.header.Clone()
	resp, err := e.public.Client().Do(req)
	if err != nil {
		e.t.Error(err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() && os.Getenv("MALLPOINTS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// member authorises a new member at the sandbox and waits until the
// service has recorded the activation.
func (e *env) member(mall string) string {
	e.t.Helper()
	var b [8]byte
	rand.Read(b[:])
	openid := "o" + hex.EncodeToString(b[:])
	req := sandbox.MemberRequest{AppID: appID, OpenID: openid}
	if mall != e.mchID {
		req.SubMchID = mall
	}
	if _, _, err := e.sb.Authorize(req); err != nil {
		e.t.Fatal(err)
	}
	e.eventually("activation of "+openid, func() bool {
		var m struct {
			Member struct {
				AuthType string `json:"auth_type"`
			} `json:"member"`
		}
		return e.get("/api/members/"+mall+"/"+openid, &m) == http.StatusOK && m.Member.AuthType != ""
	})
	return openid
}

// pay makes a payment at the sandbox.
func (e *env) pay(mall, openid string, amount int64, shop string) string {
	e.t.Helper()
	return e.payment(mall, openid, amount, shop).TransactionID
}

// payment makes a payment at the sandbox and returns its ids.
func (e *env) payment(mall, openid string, amount int64, shop string) sandbox.Payment {
	e.t.Helper()
	req := sandbox.PaymentRequest{AppID: appID, OpenID: openid, Amount: amount, ShopNumber: shop}
	if mall != e.mchID {
		req.SubMchID = mall
	}
	p, err := e.sb.Pay(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// transaction is the API's view of a payment.
type transaction struct {
	Transaction struct {
		TransactionID   string `json:"transaction_id"`
		OpenID          string `json:"openid"`
		Points          int64  `json:"points"`
		EarnPoints      bool   `json:"earn_points"`
		NoPointsRemarks string `json:"no_points_remarks"`
		TotalPoints     int64  `json:"total_points"`
		RuleVersion     string `json:"rule_version"`
		Refunded        int64  `json:"refunded"`
		PointsDeducted  int64  `json:"points_deducted"`
		Sync            struct {
			ID            int64  `json:"id"`
			State         string `json:"state"`
			LastCode      string `json:"last_code"`
			LastRequestID string `json:"last_request_id"`
			Attempts      int    `json:"attempts"`
			SyncedTotal   *int64 `json:"synced_total"`
		} `json:"sync"`
	} `json:"transaction"`
	Entries []struct {
		Seq       int64  `json:"seq"`
		Kind      string `json:"kind"`
		Points    int64  `json:"points"`
		Shortfall int64  `json:"shortfall"`
		RefundID  string `json:"refund_id"`
	} `json:"entries"`
	Attempts []struct {
		Outcome     string `json:"outcome"`
		Status      int    `json:"status"`
		Code        string `json:"code"`
		RequestID   string `json:"request_id"`
		TotalPoints *int64 `json:"total_points"`
	} `json:"attempts"`
}

// synced waits until the payment's sync is done and returns the API's view.
func (e *env) synced(mall, txid string) transaction {
	e.t.Helper()
	var tr transaction
	e.eventually("sync of "+txid, func() bool {
		tr = transaction{}
		return e.get("/api/transactions/"+mall+"/"+txid, &tr) == http.StatusOK && tr.Transaction.Sync.State == "synced"
	})
	return tr
}

// sandboxSync is what the sandbox received for a transaction.
type sandboxSync struct {
	Count int
	Body  struct {
		SubMchID        string `json:"sub_mchid"`
		TransactionID   string `json:"transaction_id"`
		OpenID          string `json:"openid"`
		EarnPoints      bool   `json:"earn_points"`
		IncreasedPoints int64  `json:"increased_points"`
		NoPointsRemarks string `json:"no_points_remarks"`
		TotalPoints     *int64 `json:"total_points"`
	}
}

func (e *env) sandboxSync(txid string) sandboxSync {
	e.t.Helper()
	p, ok := e.sb.Points(txid)
	if !ok {
		e.t.Fatalf("sandbox knows no transaction %s", txid)
	}
	s := sandboxSync{Count: p.SyncCount}
	if len(p.LastSync) > 0 {
		if err := json.Unmarshal(p.LastSync, &s.Body); err != nil {
			e.t.Fatal(err)
		}
	}
	return s
}

// eventually polls cond until it holds or 60 seconds pass.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// get calls the admin API and decodes the answer into v; it returns the
// status.
func (e *env) get(path string, v any) int {
	return e.do(http.MethodGet, path, nil, nil, v)
}

func (e *env) do(method, path string, body any, header http.Header, v any) int {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			raw, _ := json.Marshal(b)
			rd = bytes.NewReader(raw)
		}
	}
	req, err := http.NewRequest(method, e.admin.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := e.admin.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if v != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, v); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

func fmtInt(n int64) string { return fmt.Sprint(n) }

// brandRules writes, in a folder of the test's own, a rules file that gives
// the test mall brand id brand, and returns its path and a function that
// rewrites it with another brand (the parked-parking tests fix the rules and
// reload them).
func brandRules(t *testing.T, brand int) (path string, rewrite func(brand int)) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "rules.yaml")
	rewrite = func(brand int) {
		r := fmt.Sprintf("malls:\n  - mchid: \"1900000109\"\n    brand_id: %d\n    app_ids: [%s]\n", brand, appID)
		if err := os.WriteFile(path, []byte(r), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rewrite(brand)
	return path, rewrite
}

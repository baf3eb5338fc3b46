package server_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/dashboard"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/notify"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// scrape reads /metrics with the Prometheus text parser.
func (e *env) scrape() map[string]*dto.MetricFamily {
	e.t.Helper()
	body, status := e.page(http.MethodGet, "/metrics", nil)
	if status != http.StatusOK {
		e.t.Fatalf("GET /metrics: status %d: %s", status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		e.t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// page calls the admin listener with the token, without following
// redirects, and returns the body and status.
func (e *env) page(method, path string, form url.Values) (string, int) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.admin.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return string(raw), resp.StatusCode
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// value finds the sample of family name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func TestMetricsCountThePaymentItsSyncAndTheMallsLastNotification(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		openid := e.member(e.mchID)
		txid := e.pay(e.mchID, openid, 12345, "")
		e.synced(e.mchID, txid)

		// A notification signed by nobody is refused and counted.
		req, _ := http.NewRequest(http.MethodPost, e.public.URL+"/wechatpay/notify", strings.NewReader(`{"id":"x"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Wechatpay-Serial", e.keys.PublicKeyID)
		req.Header.Set("Wechatpay-Timestamp", strconv.FormatInt(time.Now().Unix(), 10))
		req.Header.Set("Wechatpay-Nonce", "0123456789abcdef")
		req.Header.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(make([]byte, 256)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a badly signed notification: status %d, want 401", resp.StatusCode)
		}

		fams := e.scrape()
		for _, c := range []struct {
			name   string
			labels map[string]string
			want   float64
		}{
			{"mallpoints_notifications_total", map[string]string{"event_type": "MALL_TRANSACTION.SUCCESS", "outcome": "applied"}, 1},
			{"mallpoints_notifications_total", map[string]string{"event_type": "MALL_AUTH.ACTIVATE_CARD", "outcome": "applied"}, 1},
			{"mallpoints_notifications_total", map[string]string{"event_type": "unknown", "outcome": "rejected"}, 1},
			{"mallpoints_signature_verification_failures_total", nil, 1},
			{"mallpoints_sync_attempts_total", map[string]string{"outcome": "ok", "code": ""}, 1},
			{"mallpoints_sync_attempt_duration_seconds", map[string]string{"outcome": "ok"}, 1},
			{"mallpoints_sync_lag_seconds", nil, 1},
			{"mallpoints_ledger_entries_total", nil, 1},
			{"mallpoints_outbox_depth", nil, 0},
			{"mallpoints_outbox_oldest_age_seconds", nil, 0},
			{"mallpoints_outbox_parked", nil, 0},
			{"mallpoints_database_up", nil, 1},
			{"mallpoints_rules_info", map[string]string{"version": rules.Default().Version()}, 1},
			{"mallpoints_notification_handling_seconds", map[string]string{"event_type": "MALL_TRANSACTION.SUCCESS"}, 1},
			{"mallpoints_notification_handling_seconds", map[string]string{"event_type": "MALL_AUTH.ACTIVATE_CARD"}, 1},
			{"mallpoints_public_responses_total", map[string]string{"route": "POST /wechatpay/notify", "code": "204"}, 2},
			{"mallpoints_public_responses_total", map[string]string{"route": "POST /wechatpay/notify", "code": "401"}, 1},
			{"mallpoints_silence_threshold_seconds", map[string]string{"mall": e.mchID}, rules.DefaultSilenceAlert.Seconds()},
		} {
			got, ok := value(t, fams, c.name, c.labels)
			if !ok || got != c.want {
				t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
			}
		}
		silence, ok := value(t, fams, "mallpoints_seconds_since_last_notification", map[string]string{"mall": e.mchID})
		if !ok || silence < 0 || silence > 600 {
			t.Errorf("mallpoints_seconds_since_last_notification{mall=%s} = %v (present %v), want a few seconds", e.mchID, silence, ok)
		}
		for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
			if _, ok := fams[name]; !ok {
				t.Errorf("%s missing: the Go and process collectors are registered", name)
			}
		}
	})
}

// today is the Beijing day of now, as the dashboard writes it.
func today() string { return time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly) }

func TestDashboardPagesShowWhatTheAPIReports(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		openid := e.member(e.mchID)
		p, err := e.sb.Pay(sandbox.PaymentRequest{AppID: appID, OpenID: openid, Amount: 12345, ShopName: `<script>alert("x")</script>`})
		if err != nil {
			t.Fatal(err)
		}
		tr := e.synced(e.mchID, p.TransactionID)

		overview, st := e.page(http.MethodGet, "/", nil)
		if st != http.StatusOK {
			t.Fatalf("GET /: status %d", st)
		}
		for _, want := range []string{`id="payments-today">1<`, `id="points-issued">123<`, `id="points-deducted">0<`,
			`id="syncs-pending">0<`, `id="syncs-synced">1<`, `id="syncs-parked" href="/parked">0<`, p.TransactionID,
			`data-state="synced">synced</span>`} {
			if !strings.Contains(overview, want) {
				t.Errorf("overview lacks %q", want)
			}
		}
		txPage, st := e.page(http.MethodGet, "/transactions/"+e.mchID+"/"+p.TransactionID, nil)
		if st != http.StatusOK {
			t.Fatalf("transaction page: status %d", st)
		}
		for _, want := range []string{tr.Transaction.RuleVersion, tr.Attempts[0].RequestID, `&lt;script&gt;`, `id="sync-state">synced<`} {
			if !strings.Contains(txPage, want) {
				t.Errorf("transaction page lacks %q", want)
			}
		}
		if strings.Contains(txPage, "<script>") {
			t.Error("the shop name was rendered unescaped")
		}
		found, _ := e.page(http.MethodGet, "/members?openid="+openid, nil)
		if !strings.Contains(found, "/members/"+e.mchID+"/"+openid) {
			t.Error("the openid search does not find the member")
		}
		member, _ := e.page(http.MethodGet, "/members/"+e.mchID+"/"+openid, nil)
		if !strings.Contains(member, `id="balance">123<`) {
			t.Error("the member page does not show the balance 123")
		}
		if _, st := e.page(http.MethodGet, "/members/"+e.mchID+"/nobody", nil); st != http.StatusNotFound {
			t.Errorf("an unknown member: status %d, want 404", st)
		}
		rulesPage, _ := e.page(http.MethodGet, "/rules", nil)
		if !strings.Contains(rulesPage, `id="rules-version">`+rules.Default().Version()+`<`) {
			t.Error("the rules page does not show the version in force")
		}

		csv, st := e.page(http.MethodGet, "/export/ledger.csv?day="+today(), nil)
		if st != http.StatusOK {
			t.Fatalf("CSV export: status %d", st)
		}
		lines := strings.Split(strings.TrimSpace(csv), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "\ufeffseq,created_at,mall,mall_name,shop_number,shop_name,openid,kind,amount_yuan,points") ||
			!strings.Contains(lines[1], ","+p.TransactionID+",") || !strings.Contains(lines[1], ",earn,123.45,123,") {
			t.Errorf("CSV of today:\n%s", csv)
		}
		if _, st := e.page(http.MethodGet, "/export/ledger.csv?day=yesterday", nil); st != http.StatusBadRequest {
			t.Errorf("a bad day: status %d, want 400", st)
		}
	})
}

func TestDashboardRetryButtonRequeuesAParkedSync(t *testing.T) {
	t.Parallel()
	rulesPath, writeRules := brandRules(t, 999) // not the mall's brand: the sandbox refuses the parking sync
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{rulesPath: rulesPath, brands: map[int64][]string{1001: {appID}}})
	openid := e.member(e.mchID)
	if st := e.do(http.MethodPost, "/api/parkings", map[string]any{"openid": openid, "plate_number": "粤B12345",
		"state": "IN", "time": time.Now().Format(time.RFC3339)}, nil, nil); st != http.StatusAccepted {
		t.Fatalf("POST /api/parkings: status %d", st)
	}
	var parked string
	e.eventually("the sync to park", func() bool {
		parked, _ = e.page(http.MethodGet, "/parked", nil)
		return strings.Contains(parked, "NO_AUTH")
	})
	if !strings.Contains(parked, `action="/parked/1/retry"`) {
		t.Fatalf("no retry button for sync 1:\n%s", parked)
	}
	writeRules(1001)
	if _, err := e.srv.ReloadRules(); err != nil {
		t.Fatal(err)
	}
	body, st := e.page(http.MethodPost, "/parked/1/retry", url.Values{})
	if st != http.StatusSeeOther {
		t.Fatalf("retry: status %d: %s", st, body)
	}
	e.eventually("the retried sync to land", func() bool {
		var s struct{ Sync struct{ State string } }
		return e.get("/api/syncs/1", &s) == http.StatusOK && s.Sync.State == "synced"
	})
	if page, _ := e.page(http.MethodGet, "/parked", nil); !strings.Contains(page, `id="none-parked"`) {
		t.Error("the parked page still lists a sync")
	}
}

func TestDashboardSignsInWithTheTokenIntoAStrictHttpOnlyCookie(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{token: "s3cret-token"})
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: noRedirects.CheckRedirect}
	get := func(path string) *http.Response {
		resp, err := browser.Get(e.admin.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := get("/parked"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/signin?next=%2Fparked" {
		t.Fatalf("a page before signing in: %d to %q, want 303 to the sign-in", r.StatusCode, r.Header.Get("Location"))
	}
	signin := func(token string) *http.Response {
		resp, err := browser.PostForm(e.admin.URL+"/signin", url.Values{"token": {token}, "next": {"/parked"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := signin("s3cret-tokem"); r.StatusCode != http.StatusUnauthorized || len(r.Cookies()) != 0 {
		t.Fatalf("a wrong token: status %d, cookies %v", r.StatusCode, r.Cookies())
	}
	r := signin("s3cret-token")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/parked" {
		t.Fatalf("sign-in: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	var c *http.Cookie
	for _, k := range r.Cookies() {
		if k.Name == dashboard.SessionCookie {
			c = k
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || strings.Contains(c.Value, "s3cret") {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, not the token itself", c)
	}
	if r := get("/parked"); r.StatusCode != http.StatusOK {
		t.Errorf("a page after signing in: status %d", r.StatusCode)
	}
	for _, path := range []string{"/api/transactions", "/metrics"} {
		if r := get(path); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s with the cookie only: status %d, want 401 (the API keeps the bearer token)", path, r.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, e.admin.URL+"/parked/1/retry", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site retry with the cookie: status %d, want 403", resp.StatusCode)
	}
}

func TestMetricsTellARedeliveryAndANewIDForAKnownPaymentFromAnAppliedOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{})
	openid := e.member(e.mchID)
	p := e.payment(e.mchID, openid, 5000, "")
	e.synced(e.mchID, p.TransactionID)
	if st := e.replay(e.deliveryOf(p.NotificationID)); st != http.StatusNoContent && st != http.StatusOK {
		t.Fatalf("re-delivery answered %d", st)
	}
	// The same payment under a new notification id, through the service's own wrapper.
	handle := e.srv.Metrics().Notify(func(ctx context.Context, n *notify.Notification) (ledger.Outcome, error) {
		return e.srv.Ledger().Transaction(ctx, n, &businesscircle.TransactionEvent{MchID: e.mchID, AppID: appID,
			OpenID: openid, TransactionID: p.TransactionID, Amount: 5000, TimeEnd: "2026-01-01T10:00:00+08:00"})
	})
	if err := handle(context.Background(), &notify.Notification{ID: "another-id", EventType: businesscircle.EventTypeTransactionSuccess}); err != nil {
		t.Fatal(err)
	}
	fams := e.scrape()
	for outcome, want := range map[string]float64{"applied": 1, "duplicate_id": 1, "duplicate_key": 1} {
		got, _ := value(t, fams, "mallpoints_notifications_total", map[string]string{"event_type": "MALL_TRANSACTION.SUCCESS", "outcome": outcome})
		if got != want {
			t.Errorf("notifications with outcome %s: %v, want %v", outcome, got, want)
		}
	}
	if got, _ := value(t, fams, "mallpoints_ledger_entries_total", nil); got != 1 {
		t.Errorf("ledger entries %v, want 1", got)
	}
}

func TestProfilesAreServedOnTheAdminListenerOnlyWithTheToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{token: "s3cret-token"})
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/profile?seconds=1"} {
		resp, err := noRedirects.Get(e.admin.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without the token: %d, want 401 (profiles are for machines with the token, never a browser session)", path, resp.StatusCode)
		}
	}
	body, status := e.page(http.MethodGet, "/debug/pprof/goroutine?debug=1", nil)
	if status != http.StatusOK || !strings.Contains(body, "goroutine profile:") {
		t.Errorf("GET /debug/pprof/goroutine with the token: status %d, body %.80q", status, body)
	}
}

func TestSigninRefusesAnAddressThatSentTenWrongTokensEvenWithTheRightOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{token: "s3cret-token"})
	signin := func(token string) *http.Response {
		resp, err := noRedirects.PostForm(e.admin.URL+"/signin", url.Values{"token": {token}, "next": {"/"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 10 {
		if r := signin(fmt.Sprintf("guess-%d", i)); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: status %d, want 401", i+1, r.StatusCode)
		}
	}
	r := signin("s3cret-token")
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || len(r.Cookies()) != 0 {
		t.Fatalf("the right token after ten wrong ones: status %d, Retry-After %q, cookies %v; want 429 with Retry-After and no session",
			r.StatusCode, r.Header.Get("Retry-After"), r.Cookies())
	}
	// Wrong sign-ins and wrong Bearer tokens count against one limit per
	// address: the API refuses a token from it too.
	if _, status := e.page(http.MethodGet, "/api/transactions", nil); status != http.StatusTooManyRequests {
		t.Errorf("the API with the Bearer token from the same address: status %d, want 429", status)
	}
}

// Under --merchants every mall the file lists has a silence from the start,
// +Inf until its first notification, so the silence alert covers a mall
// that never sent one; a provider's own mchid is no mall. Each merchant's
// API certificate reports its time left.
func TestEveryMallTheMerchantsFileListsIsSilentUntilItsFirstNotification(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		tm := newTwoMerchants(t)
		e := newEnv(t, dsn, tm.options())
		silence := func(mall string) (float64, bool) {
			return value(t, e.scrape(), "mallpoints_seconds_since_last_notification", map[string]string{"mall": mall})
		}
		for _, mall := range []string{direct, listedSub} {
			if s, ok := silence(mall); !ok || !math.IsInf(s, 1) {
				t.Errorf("mall %s, never notified: silence %v (present %v), want +Inf", mall, s, ok)
			}
		}
		if s, ok := silence(provider); ok {
			t.Errorf("the provider's own mchid has a silence, %v", s)
		}
		e.member(listedSub)
		if s, ok := silence(listedSub); !ok || s < 0 || s > 600 {
			t.Errorf("mall %s after its first notification: silence %v (present %v), want seconds", listedSub, s, ok)
		}
		a, _ := testKeys()
		days, ok := value(t, e.scrape(), "mallpoints_certificate_expiry_seconds",
			map[string]string{"kind": "merchant", "merchant": direct, "serial": a.MerchantSerial})
		if !ok || days <= 0 {
			t.Errorf("the direct merchant's certificate: %v s left (present %v)", days, ok)
		}
	})
}

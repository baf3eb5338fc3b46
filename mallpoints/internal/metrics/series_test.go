package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/notify"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/metrics"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// manyMalls is the state of a provider's malls, each notified a minute ago.
type manyMalls struct{ malls []string }

func (s manyMalls) State(context.Context) (storage.State, error) {
	last := map[string]time.Time{}
	for _, m := range s.malls {
		last[m] = time.Now().Add(-time.Minute)
	}
	return storage.State{LastNotification: last}, nil
}

// series counts the lines of a scrape family by family: one per counter or
// gauge, and a histogram's buckets, +Inf, sum and count.
func series(f *dto.MetricFamily) int {
	n := 0
	for _, m := range f.GetMetric() {
		if h := m.GetHistogram(); h != nil {
			n += len(h.GetBucket()) + 3
			continue
		}
		if s := m.GetSummary(); s != nil {
			n += len(s.GetQuantile()) + 2
			continue
		}
		n++
	}
	return n
}

// The series of one replica serving 1,000 sub-merchants of a provider and 2
// direct merchants, after one of each event the service counts: only the
// silence and its threshold are per mall, 2 series a mall; everything else
// is bounded by event types, outcomes, codes, routes and certificates. The
// figures of docs/deploy.md ("Metrics") are this test's log:
//
//	go test -run TestTheSeriesOfAThousandMalls -v ./internal/metrics
func TestTheSeriesOfAThousandMalls(t *testing.T) {
	t.Parallel()
	var malls []string
	for i := range 1000 {
		malls = append(malls, fmt.Sprintf("19%08d", 3000+i))
	}
	named := append([]string{"1900000109", "1900000110"}, malls...)
	m := metrics.New(nil)
	m.WatchState(manyMalls{malls}, rules.NewCurrent(rules.Default()), func() []string { return named }, time.Now)
	var certs []metrics.Certificate
	certs = append(certs, metrics.Certificate{Kind: metrics.CertTLS, Serial: "1", NotAfter: time.Now().Add(time.Hour)},
		metrics.Certificate{Kind: metrics.CertAdminTLS, Serial: "2", NotAfter: time.Now().Add(time.Hour)})
	for _, merchant := range []string{"1900000109", "1900000110", "1900000209"} {
		// Each merchant's API certificate, and two platform certificates
		// while WeChat Pay rotates them.
		certs = append(certs, metrics.Certificate{Kind: metrics.CertMerchant, Merchant: merchant, Serial: "3" + merchant},
			metrics.Certificate{Kind: metrics.CertPlatform, Merchant: merchant, Serial: "4" + merchant},
			metrics.Certificate{Kind: metrics.CertPlatform, Merchant: merchant, Serial: "5" + merchant})
	}
	m.WatchCertificates(func() []metrics.Certificate { return certs }, time.Now)

	ctx := context.Background()
	for _, ev := range []string{"MALL_TRANSACTION.SUCCESS", "MALL_REFUND.SUCCESS", "MALL_AUTH.ACTIVATE_CARD"} {
		for _, out := range []struct {
			outcome ledger.Outcome
			err     error
		}{{ledger.OutcomeApplied, nil}, {ledger.OutcomeDuplicateID, nil}, {ledger.OutcomeDuplicateKey, nil},
			{"", errors.New("database down")}, {"", &ledger.Refusal{Field: "openid", Rule: ledger.RuleTooLong}}} {
			m.Notify(func(context.Context, *notify.Notification) (ledger.Outcome, error) { return out.outcome, out.err })(ctx,
				&notify.Notification{EventType: ev})
		}
	}
	m.Rejected(httptest.NewRequest(http.MethodPost, "/", nil), 401, &wxpay.VerificationError{Err: wxpay.ErrBadSignature})
	mux := http.NewServeMux()
	for _, route := range []string{"POST /wechatpay/notify/{mchid}", "GET /healthz", "GET /readyz"} {
		mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
			var code int
			fmt.Sscan(r.URL.Query().Get("code"), &code)
			w.WriteHeader(code)
		})
	}
	for _, r := range []string{"POST /wechatpay/notify/1?code=200", "POST /wechatpay/notify/1?code=204", "POST /wechatpay/notify/1?code=400",
		"POST /wechatpay/notify/1?code=401", "POST /wechatpay/notify/1?code=404", "POST /wechatpay/notify/1?code=413",
		"POST /wechatpay/notify/1?code=422", "POST /wechatpay/notify/1?code=500", "POST /wechatpay/notify/1?code=503",
		"GET /healthz?code=200", "GET /readyz?code=200", "GET /readyz?code=503", "GET /nothing", "GET /wechatpay/notify/1"} {
		var method, target string
		fmt.Sscan(r, &method, &target)
		m.Public(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, target, nil))
	}
	for _, a := range []storage.Attempt{{Outcome: storage.AttemptOK}, {Outcome: storage.AttemptRetry, Code: "SYSTEM_ERROR"},
		{Outcome: storage.AttemptRetry, Code: "NETWORK_ERROR"}, {Outcome: storage.AttemptRetry, Code: "SIGN_ERROR", Status: 401},
		{Outcome: storage.AttemptUnknown, Code: "NETWORK_ERROR"}, {Outcome: storage.AttemptParked, Code: "PARAM_ERROR"},
		{Outcome: storage.AttemptUnconfirmed, Code: "INVALID_REQUEST"}} {
		m.ObserveAttempt(a)
	}
	m.ObserveSyncLag(time.Second)
	m.LogDropped("notify: notification rejected")
	m.LogDropped("http: TLS handshake error")
	m.UnlistedMall("1900000209")

	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	perMall, total := 0, 0
	byFamily := map[string]int{}
	for _, f := range fams {
		n := series(f)
		total += n
		byFamily[f.GetName()] = n
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "mall" {
					perMall++
				}
			}
		}
	}
	if want := 2 * len(named); perMall != want {
		t.Errorf("%d series name a mall, want 2 per mall, %d", perMall, want)
	}
	for _, name := range []string{"mallpoints_seconds_since_last_notification", "mallpoints_silence_threshold_seconds"} {
		if byFamily[name] != len(named) {
			t.Errorf("%s: %d series, want one per mall, %d", name, byFamily[name], len(named))
		}
	}
	others, goProcess := 0, 0
	for name, n := range byFamily {
		switch {
		case name == "mallpoints_seconds_since_last_notification" || name == "mallpoints_silence_threshold_seconds":
		case strings.HasPrefix(name, "mallpoints_"):
			others += n
		default:
			goProcess += n
		}
	}
	t.Logf("%d malls: %d series in all: %d per mall (2 each), %d other mallpoints_ series, %d of the Go runtime and the process",
		len(named), total, perMall, others, goProcess)
	// The page states the service's own figures; the Go runtime's vary with Go.
	raw, err := os.ReadFile("../../../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, figure := range []string{fmt.Sprintf("%s per mall", thousands(perMall)), fmt.Sprintf("%d other `mallpoints_` series", others)} {
		if !strings.Contains(string(raw), figure) {
			t.Errorf("docs/deploy.md does not say %q", figure)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(byFamily)) {
		if strings.HasPrefix(name, "mallpoints_") {
			t.Logf("  %-48s %4d", name, byFamily[name])
		}
	}
}

// thousands writes n with a comma between thousands, as the docs do.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

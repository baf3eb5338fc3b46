package metrics_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/seed2ac2593f/wxpay/notify"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/metrics"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// alertRules is the shape of a Prometheus rules file.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// fixedState is a database state for the scrape-time collector.
type fixedState struct{}

func (fixedState) State(context.Context) (storage.State, error) {
	return storage.State{Pending: 1, OldestPending: time.Now().Add(-time.Minute), LastNotification: map[string]time.Time{"1900000109": time.Now()}}, nil
}

// exported lists every metric name a scrape of a service that has seen one
// of each event shows, histogram series included.
func exported(t *testing.T) []string {
	m := metrics.New(nil)
	m.WatchState(fixedState{}, rules.NewCurrent(rules.Default()), nil, time.Now)
	m.WatchCertificates(func() []metrics.Certificate {
		return []metrics.Certificate{{Kind: metrics.CertTLS, Serial: "1", NotAfter: time.Now().Add(time.Hour)}}
	}, time.Now)
	m.ObserveAttempt(storage.Attempt{Outcome: storage.AttemptOK, Elapsed: time.Millisecond})
	m.Notify(func(context.Context, *notify.Notification) (ledger.Outcome, error) { return ledger.OutcomeApplied, nil })(
		context.Background(), &notify.Notification{EventType: "MALL_TRANSACTION.SUCCESS"})
	m.Public(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fams {
		n := f.GetName()
		names = append(names, n, n+"_bucket", n+"_count", n+"_sum")
	}
	// Counters of events not seen here are still declared.
	return append(names, "mallpoints_notifications_total", "mallpoints_notifications_refused_total",
		"mallpoints_signature_verification_failures_total")
}

func TestTheSampleAlertRulesParseAndNameOnlyExportedMetrics(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../../docs/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var file alertRules
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("docs/alerts.yml: %v", err)
	}
	if len(file.Groups) == 0 {
		t.Fatal("docs/alerts.yml has no groups")
	}
	names := exported(t)
	metricName := regexp.MustCompile(`\bmallpoints_[a-z_]+`)
	seen := map[string]bool{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			switch {
			case r.Alert == "" || seen[r.Alert]:
				t.Errorf("group %s: an alert without a name or named twice: %q", g.Name, r.Alert)
			case strings.TrimSpace(r.Expr) == "":
				t.Errorf("%s: no expr", r.Alert)
			case r.Labels["severity"] != "page" && r.Labels["severity"] != "ticket":
				t.Errorf("%s: severity %q, want page or ticket", r.Alert, r.Labels["severity"])
			case r.Annotations["summary"] == "":
				t.Errorf("%s: no summary", r.Alert)
			}
			seen[r.Alert] = true
			if r.For != "" {
				if _, err := model.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for: %v", r.Alert, err)
				}
			}
			if strings.Count(r.Expr, "(") != strings.Count(r.Expr, ")") {
				t.Errorf("%s: unbalanced parentheses in %q", r.Alert, r.Expr)
			}
			for _, n := range metricName.FindAllString(r.Expr, -1) {
				if !slices.Contains(names, n) {
					t.Errorf("%s: names %s, which the service does not export", r.Alert, n)
				}
			}
		}
	}
	for _, must := range []string{"MallPointsNotificationsSilent", "MallPointsOutboxStuck", "MallPointsSyncsParked",
		"MallPointsSyncSignaturesRefused", "MallPointsSyncsUnconfirmed", "MallPointsCertificateExpiring"} {
		if !seen[must] {
			t.Errorf("no %s alert", must)
		}
	}
}

package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/metrics"
)

func TestThePublicListenersAnswersAreCountedByRouteAndCode(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /wechatpay/notify/{mchid}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("mchid") {
		case "1900000109":
			w.WriteHeader(http.StatusNoContent)
		case "1900000110":
			http.Error(w, "database down", http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(http.ResponseWriter, *http.Request) {}) // writes nothing: 200
	h := m.Public(mux)
	for _, r := range []struct{ method, path string }{
		{"POST", "/wechatpay/notify/1900000109"}, {"POST", "/wechatpay/notify/1900000109"},
		{"POST", "/wechatpay/notify/1900000110"}, {"POST", "/wechatpay/notify/1999999999"},
		{"GET", "/wechatpay/notify/1900000109"}, // wrong method: 405, no route
		{"GET", "/healthz"}, {"GET", "/readyz"}, {"GET", "/wp-login.php"}, {"GET", "/.env"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(r.method, r.path, nil))
	}
	want := `
# HELP mallpoints_public_responses_total Answers of the public listener (--listen), by route (the pattern matched; empty for none) and status code.
# TYPE mallpoints_public_responses_total counter
mallpoints_public_responses_total{code="200",route="GET /healthz"} 1
mallpoints_public_responses_total{code="200",route="GET /readyz"} 1
mallpoints_public_responses_total{code="204",route="POST /wechatpay/notify/{mchid}"} 2
mallpoints_public_responses_total{code="404",route="POST /wechatpay/notify/{mchid}"} 1
mallpoints_public_responses_total{code="500",route="POST /wechatpay/notify/{mchid}"} 1
mallpoints_public_responses_total{code="404",route=""} 2
mallpoints_public_responses_total{code="405",route=""} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "mallpoints_public_responses_total"); err != nil {
		t.Error(err)
	}
}

package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// recorder stands between the replicas and WeChat Pay (the sandbox) and
// keeps the body of every points sync sent, so that a test can check that
// no transaction was ever synced with different points, not only that the
// last sync was right. It forwards requests and answers untouched: the
// signatures cover them.
type recorder struct {
	*httptest.Server
	mu    sync.Mutex
	syncs map[string][]syncSent // by transaction_id
}

// syncSent is what one points sync said.
type syncSent struct {
	EarnPoints      bool   `json:"earn_points"`
	IncreasedPoints int64  `json:"increased_points"`
	TotalPoints     int64  `json:"total_points"`
	NoPointsRemarks string `json:"no_points_remarks"`
}

func newRecorder(t *testing.T, sandboxURL string) *recorder {
	u, err := url.Parse(sandboxURL)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{syncs: map[string][]syncSent{}}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(&url.URL{Scheme: u.Scheme, Host: u.Host}) }}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost && req.URL.Path == "/v3/businesscircle/points/notify" {
			body, err := io.ReadAll(req.Body)
			if err != nil {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
			var s struct {
				TransactionID string `json:"transaction_id"`
				syncSent
			}
			if json.Unmarshal(body, &s) == nil {
				r.mu.Lock()
				r.syncs[s.TransactionID] = append(r.syncs[s.TransactionID], s.syncSent)
				r.mu.Unlock()
			}
		}
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

// URL is what the replicas get as --base-url.
func (r *recorder) BaseURL() string { return r.URL + "/" }

// checkNeverSyncedWithDifferentPoints fails the test for a transaction whose
// syncs did not all say the same points. total_points is the member's
// balance when each was sent, so it may differ between re-sends.
func (r *recorder) checkNeverSyncedWithDifferentPoints(t *testing.T) (sent int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	points := func(s syncSent) syncSent { s.TotalPoints = 0; return s }
	for id, list := range r.syncs {
		sent += len(list)
		for _, s := range list[1:] {
			if points(s) != points(list[0]) {
				t.Errorf("transaction %s was synced with different points: %+v, then %+v", id, list[0], s)
				break
			}
		}
	}
	return sent
}

package speed

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/cputime"
)

// BenchmarkHTTPExchangeFloor is the least HTTP a payment costs the service:
// one POST of a notification-sized body answered 204 by a bare net/http
// handler, and one POST of a sync-sized body, with the client and the
// server in this process, 32 exchanges in flight over kept-alive loopback
// connections. The service answers one such exchange (the notification)
// and makes one (the sync), so cpu-µs/op, the process's CPU time per
// exchange, counts both sides of one and stands for both halves the service
// pays. No signing, no verification, no JSON: a floor.
func BenchmarkHTTPExchangeFloor(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	body := bytes.Repeat([]byte("x"), 700) // a signed notification's envelope is about this long
	b.SetParallelism(16)                   // 32 goroutines on 2 cores
	b.ReportAllocs()
	cpu0 := cputime.Process()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(srv.URL, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(cputime.MicrosPerOp(cpu0, b.N), "cpu-µs/op")
}

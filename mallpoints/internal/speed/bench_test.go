package speed

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/notify"
	"github.com/seed2ac2593f/wxpay/sandbox"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/pgtest"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/server"
)

var testKeys = sync.OnceValues(sandbox.GenerateKeys)

// wechatpay runs h under the pprof label side=wechatpay, so that a profile
// can leave the sandbox's work out.
func wechatpay(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pprof.Do(r.Context(), pprof.Labels("side", "wechatpay"), func(context.Context) { h.ServeHTTP(w, r) })
	})
}

// BenchmarkPaymentToSync is one batch of payments per iteration, from the
// sandbox's notifications to the points syncs it receives, on SQLite and,
// when a server is reachable, on PostgreSQL (MALLPOINTS_TEST_POSTGRES or the
// machine's local server; a database of its own, dropped afterwards).
func BenchmarkPaymentToSync(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchPaymentToSync(b, filepath.Join(b.TempDir(), "mallpoints.db")) })
	b.Run("postgres", func(b *testing.B) {
		benchPaymentToSync(b, pgtest.NewDatabase(b, pgtest.Require(b), "mallpoints_speed"))
	})
}

// batch is how many payments an iteration has in flight together.
const batch = 32

func benchPaymentToSync(b *testing.B, dsn string) {
	keys, err := testKeys()
	if err != nil {
		b.Fatal(err)
	}
	public := httptest.NewUnstartedServer(nil)
	cfg := keys.Config()
	cfg.PlatformCertificates = nil
	cfg.Merchants[0].NotifyURL = "http://" + public.Listener.Addr().String() + "/wechatpay/notify"
	cfg.NotifyRetrySchedule = []time.Duration{100 * time.Millisecond, time.Second}
	cfg.Logger = slog.New(slog.DiscardHandler)
	sb, err := sandbox.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Close()
	sbHTTP := httptest.NewServer(wechatpay(sb))
	defer sbHTTP.Close()
	client, err := wxpay.NewClient(wxpay.WithMerchant(keys.MchID, keys.MerchantSerial, keys.MerchantKey),
		wxpay.WithWechatPayPublicKey(keys.PublicKeyID, &keys.WechatPayKey.PublicKey),
		wxpay.WithBaseURL(sbHTTP.URL), wxpay.WithoutRetries())
	if err != nil {
		b.Fatal(err)
	}
	parser, err := notify.NewParser(client.Verifier(), keys.APIv3Key)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{DB: dsn, MchID: keys.MchID,
		Client: client, Parser: parser, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	public.Config.Handler = srv.Public()
	public.Start()
	defer public.Close()
	if err := srv.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer srv.Close(ctx)

	const appid, members = "wx1234567890abcdef", 50
	var openids []string
	for i := range members {
		id := fmt.Sprintf("oBench%02d", i)
		if _, _, err := sb.Authorize(sandbox.MemberRequest{AppID: appid, OpenID: id}); err != nil {
			b.Fatal(err)
		}
		openids = append(openids, id)
	}
	pay := func(n int) {
		ids := make([]string, 0, n)
		for i := range n {
			p, err := sb.Pay(sandbox.PaymentRequest{AppID: appid, OpenID: openids[i%members], Amount: int64(100 + i%9000)})
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, p.TransactionID)
		}
		for _, id := range ids {
			for {
				if p, _ := sb.Points(id); p.SyncCount > 0 {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	pay(100) // warm up: connections, statement caches
	b.ResetTimer()
	for b.Loop() {
		pay(batch)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(batch*b.N)/1000, "ms/payment")
}

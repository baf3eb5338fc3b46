package server_test

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/lograte"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/server"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit"
)

func TestAFloodOfBadlySignedNotificationsLogsABurstAndCountsTheRest(t *testing.T) {
	t.Parallel()
	var logs testkit.Buffer
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{
		server: func(c *server.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) },
	})
	const sent = 3 * lograte.DefaultBurst
	for range sent {
		req, _ := http.NewRequest(http.MethodPost, e.public.URL+"/wechatpay/notify", strings.NewReader(`{"id":"x"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Wechatpay-Serial", e.keys.PublicKeyID)
		req.Header.Set("Wechatpay-Timestamp", strconv.FormatInt(time.Now().Unix(), 10))
		req.Header.Set("Wechatpay-Nonce", "0123456789abcdef")
		req.Header.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(make([]byte, 256)))
		resp, err := e.public.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a badly signed notification: status %d, want 401", resp.StatusCode)
		}
	}
	if n := strings.Count(logs.String(), "notify: notification rejected"); n != lograte.DefaultBurst {
		t.Errorf("%d rejections logged of %d sent, want the burst of %d", n, sent, lograte.DefaultBurst)
	}
	got, ok := value(t, e.scrape(), "mallpoints_log_records_dropped_total", map[string]string{"message": "notify: notification rejected"})
	if want := float64(sent - lograte.DefaultBurst); !ok || got != want {
		t.Errorf("mallpoints_log_records_dropped_total = %v (present %v), want %v", got, ok, want)
	}
	// Every rejection is still counted where an operator looks first.
	if got, _ := value(t, e.scrape(), "mallpoints_signature_verification_failures_total", nil); got != sent {
		t.Errorf("signature failures counted %v, want %d", got, sent)
	}
}

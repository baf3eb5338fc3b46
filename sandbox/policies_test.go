package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// movableClock is a sandbox clock a test can move forward.
type movableClock struct{ unix atomic.Int64 }

func newMovableClock(t time.Time) *movableClock {
	c := &movableClock{}
	c.unix.Store(t.Unix())
	return c
}

func (c *movableClock) now() time.Time          { return time.Unix(c.unix.Load(), 0) }
func (c *movableClock) advance(d time.Duration) { c.unix.Add(int64(d / time.Second)) }

// "Today" of commit_status is the sandbox clock's day in Beijing, and refunds
// are notified within 30 days of the payment only.
func TestPoliciesDaysAndRefundWindow(t *testing.T) {
	t.Parallel()
	// 23:30 in Beijing: half an hour to midnight.
	clock := newMovableClock(time.Date(2025, 5, 19, 15, 30, 0, 0, time.UTC))
	srv := sandbox.NewServer(sandbox.WithClock(clock.now))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	status := func() businesscircle.PointsCommitStatus {
		t.Helper()
		cs, _, err := businesscircle.New(srv.Client).Businesscircle.Users.Points.CommitStatus.Get(ctx, openID,
			businesscircle.CommitStatusQuery{BrandID: 1, AppID: appID})
		if err != nil {
			t.Fatal(err)
		}
		return cs.PointsCommitStatus
	}
	txID := pay(t, srv.Sandbox, "", true)
	if s := status(); s != "PENDING" {
		t.Errorf("same evening: %s", s)
	}
	clock.advance(time.Hour) // 00:30 the next day in Beijing
	if s := status(); s != "FINISHED" {
		t.Errorf("after midnight in Beijing: %s, want FINISHED", s)
	}

	if err := syncPoints(srv, txID); err != nil {
		t.Fatal(err)
	}
	clock.advance(29 * 24 * time.Hour)
	if r, _ := srv.Sandbox.Refund(sandbox.RefundRequest{TransactionID: txID, RefundAmount: 1}); r.NotificationID == "" {
		t.Error("refund within 30 days not notified")
	}
	clock.advance(2 * 24 * time.Hour)
	if r, _ := srv.Sandbox.Refund(sandbox.RefundRequest{TransactionID: txID, RefundAmount: 1}); r.NotificationID != "" {
		t.Error("refund after 30 days notified")
	}
}

// With RejectRepeatedPointsSync a second sync is refused; by default it is
// counted (see TestAdminFlow).
func TestPoliciesRejectRepeatedSync(t *testing.T) {
	t.Parallel()
	srv := newServer(t, sandbox.WithClientOptions(wxpay.WithoutRetries()),
		sandbox.WithConfig(func(c *sandbox.Config) { c.RejectRepeatedPointsSync = true }))
	txID := pay(t, srv.Sandbox, "", true)
	if err := syncPoints(srv, txID); err != nil {
		t.Fatal(err)
	}
	err := syncPoints(srv, txID)
	if apiErr, ok := errors.AsType[*wxpay.APIError](err); !ok || apiErr.StatusCode != 400 || apiErr.Code != "PARAM_ERROR" {
		t.Errorf("second sync: %v", err)
	}
	if p, _ := srv.Sandbox.Points(txID); p.SyncCount != 1 {
		t.Errorf("sync_count = %d", p.SyncCount)
	}
}

// SignErrorAnswers signs 4xx answers other than 401.
func TestPoliciesSignErrorAnswers(t *testing.T) {
	t.Parallel()
	srv := newServer(t, sandbox.WithConfig(func(c *sandbox.Config) { c.SignErrorAnswers = true }))
	a := send(t, srv, raw{target: "/v3/businesscircle/points/notify", body: `{}`})
	if a.status != 400 {
		t.Fatalf("status %d", a.status)
	}
	verifyAnswer(t, srv.Keys, a)
	if a := send(t, srv, raw{target: "/v3/businesscircle/points/notify", body: `{}`, key: srv.Keys.PlatformKey}); a.status != 401 || a.header.Get("Wechatpay-Signature") != "" {
		t.Errorf("401 = %d, signed %v", a.status, a.header.Get("Wechatpay-Signature") != "")
	}
}

// One log record per request names the check that failed and the
// Request-ID, and never carries the Authorization header, the body or an
// openid.
func TestPoliciesLogging(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil))
	srv := newServer(t, sandbox.WithConfig(func(c *sandbox.Config) { c.Logger = logger }))
	bad := send(t, srv, raw{target: "/v3/businesscircle/points/notify", body: pointsBody("1"), key: srv.Keys.PlatformKey})
	good := send(t, srv, raw{method: http.MethodGet, target: "/v3/businesscircle/user-authorizations/" + openID + "?appid=" + appID})
	if good.status != 200 {
		t.Fatalf("status %d", good.status)
	}

	mu.Lock()
	defer mu.Unlock()
	var records []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if r["msg"] == "sandbox: request" {
			records = append(records, r)
		}
	}
	if len(records) != 2 {
		t.Fatalf("%d request records, want 2:\n%s", len(records), buf.String())
	}
	if r := records[0]; r["check"] != "signature" || r["request_id"] != bad.header.Get("Request-ID") || r["status"] != float64(401) ||
		r["code"] != "SIGN_ERROR" || r["path"] != "/v3/businesscircle/points/notify" || r["level"] != "WARN" {
		t.Errorf("rejection record = %v", r)
	}
	if r := records[1]; r["path"] != "/v3/businesscircle/user-authorizations/{openid}" || r["check"] != nil || r["mchid"] != srv.Keys.MchID {
		t.Errorf("success record = %v", r)
	}
	for _, secret := range []string{"WECHATPAY2", "nonce", "593BEC0C930BF1AFEB40B4A08C8FB242", openID, "transaction_id", srv.Keys.APIv3Key} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("the log carries %q", secret)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

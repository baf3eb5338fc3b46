package sandbox_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/notify"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// syncPoints sends the points sync of txID with the server's client.
func syncPoints(srv *sandbox.Server, txID string) error {
	_, err := businesscircle.New(srv.Client).Businesscircle.Points.Notify.Post(context.Background(), businesscircle.PointsNotifyRequest{
		TransactionID: txID, AppID: appID, OpenID: openID, EarnPoints: true, IncreasedPoints: 1,
		PointsUpdateTime: "2025-05-19T12:00:00+08:00",
	})
	return err
}

func setFaults(t testing.TB, s *sandbox.Sandbox, f sandbox.Faults) {
	t.Helper()
	if err := s.SetFaults(f); err != nil {
		t.Fatal(err)
	}
}

// Injected errors come before the endpoint acts: nothing is synced.
func TestFaultErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status int
		code   string
	}{{0, "SYSTEM_ERROR"}, {500, "SYSTEM_ERROR"}, {429, "FREQUENCY_LIMITED"}} {
		srv := newServer(t, sandbox.WithClientOptions(wxpay.WithoutRetries()))
		txID := pay(t, srv.Sandbox, "", true)
		setFaults(t, srv.Sandbox, sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{
			sandbox.PathPointsNotify: {ErrorRate: 1, ErrorStatus: tt.status},
		}})
		err := syncPoints(srv, txID)
		var apiErr *wxpay.APIError
		want := tt.status
		if want == 0 {
			want = 500
		}
		if !errors.As(err, &apiErr) || apiErr.StatusCode != want || apiErr.Code != tt.code || apiErr.RequestID == "" {
			t.Errorf("error status %d: %v, want %d %s", tt.status, err, want, tt.code)
		}
		if p, _ := srv.Sandbox.Points(txID); p.SyncCount != 0 {
			t.Errorf("an injected error still synced")
		}
		// Other endpoints are not affected.
		if _, _, err := businesscircle.New(srv.Client).Businesscircle.UserAuthorizations.Get(context.Background(), openID,
			businesscircle.UserAuthorizationQuery{AppID: appID}); err != nil {
			t.Errorf("another endpoint failed: %v", err)
		}
	}
}

// "*" applies to every endpoint without its own entry; the SDK's retries
// see the 500s.
func TestFaultWildcardAndRetries(t *testing.T) {
	t.Parallel()
	srv := newServer(t, sandbox.WithClientOptions(wxpay.WithRetryPolicy(wxpay.RetryPolicy{MaxRetries: 2, MinWait: time.Millisecond, MaxWait: time.Millisecond})))
	setFaults(t, srv.Sandbox, sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{
		"*":                      {ErrorRate: 1},
		sandbox.PathCertificates: {},
	}})
	_, _, err := businesscircle.New(srv.Client).Businesscircle.Users.Points.CommitStatus.Get(context.Background(), openID,
		businesscircle.CommitStatusQuery{BrandID: 1, AppID: appID})
	if apiErr, ok := errors.AsType[*wxpay.APIError](err); !ok || apiErr.StatusCode != 500 {
		t.Errorf("commit_status under *: %v", err)
	}
	a := send(t, srv, raw{method: http.MethodGet, target: "/v3/certificates"})
	if a.status != 404 || !strings.Contains(string(a.body), "RESOURCE_NOT_EXISTS") {
		t.Errorf("certificates has its own (empty) entry: %d %s", a.status, a.body)
	}
}

// Latency is added; a dropped connection is a network error after the
// endpoint acted.
func TestFaultLatencyAndDrop(t *testing.T) {
	t.Parallel()
	srv := newServer(t, sandbox.WithClientOptions(wxpay.WithoutRetries()))
	txID := pay(t, srv.Sandbox, "", true)
	setFaults(t, srv.Sandbox, sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{
		sandbox.PathPointsNotify: {Latency: sandbox.Duration(60 * time.Millisecond)},
	}})
	start := time.Now()
	if err := syncPoints(srv, txID); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("call took %v, want at least the 60ms latency", d)
	}

	setFaults(t, srv.Sandbox, sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{
		sandbox.PathPointsNotify: {DropRate: 1},
	}})
	err := syncPoints(srv, txID)
	if err == nil {
		t.Fatal("a dropped connection was a success")
	}
	if _, ok := errors.AsType[*wxpay.APIError](err); ok {
		t.Errorf("dropped connection gave an API error: %v", err)
	}
	if p, _ := srv.Sandbox.Points(txID); p.SyncCount != 2 {
		t.Errorf("sync_count = %d, want 2: the dropped sync took effect", p.SyncCount)
	}
}

// Probe signatures on answers are refused by the client as such.
func TestFaultProbeAnswers(t *testing.T) {
	t.Parallel()
	srv := newServer(t, sandbox.WithClientOptions(wxpay.WithoutRetries()))
	setFaults(t, srv.Sandbox, sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{"*": {ProbeRate: 1}}})
	_, _, err := businesscircle.New(srv.Client).Businesscircle.UserAuthorizations.Get(context.Background(), openID,
		businesscircle.UserAuthorizationQuery{AppID: appID})
	if !errors.Is(err, wxpay.ErrProbeSignature) {
		t.Errorf("error = %v, want ErrProbeSignature", err)
	}
	a := send(t, srv, raw{method: http.MethodGet, target: "/v3/businesscircle/user-authorizations/x"})
	if a.status != 400 || a.header.Get("Wechatpay-Signature") != "" {
		t.Errorf("an error answer got a probe signature: %d %v", a.status, a.header)
	}
}

// A probed notification is refused by the receiver and delivered again,
// correctly signed.
func TestFaultProbeNotifications(t *testing.T) {
	t.Parallel()
	received := make(chan string, 4)
	srv := newServer(t, sandbox.WithNotifyFunc(func(_ context.Context, n *notify.Notification) error {
		received <- n.ID
		return nil
	}))
	setFaults(t, srv.Sandbox, sandbox.Faults{Notifications: sandbox.NotificationFaults{ProbeRate: 1}})
	mb, _, _ := srv.Sandbox.Authorize(sandbox.MemberRequest{AppID: appID, OpenID: openID})
	d := waitFinal(t, srv.Sandbox, mb.NotificationID)
	if d.State != "delivered" || len(d.Attempts) != 2 || d.Attempts[0].Status != 401 || !strings.Contains(d.Attempts[0].Error, "FAIL") {
		t.Errorf("delivery = %+v, want 401 then success", d)
	}
	if id := <-received; id != mb.NotificationID {
		t.Errorf("received %s", id)
	}
}

// A notification stamped ten minutes off is refused for clock skew.
func TestFaultNotificationClockSkew(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	srv := newServer(t, sandbox.WithNotifyURL(rc.URL))
	setFaults(t, srv.Sandbox, sandbox.Faults{Notifications: sandbox.NotificationFaults{ClockSkew: sandbox.Duration(-10 * time.Minute)}})
	mb, _, _ := srv.Sandbox.Authorize(sandbox.MemberRequest{AppID: appID, OpenID: openID})
	waitFinal(t, srv.Sandbox, mb.NotificationID)
	got := rc.requests()
	if _, err := srv.Parser.Parse(got[0].header, got[0].body); !errors.Is(err, wxpay.ErrClockSkew) {
		t.Errorf("Parse = %v, want ErrClockSkew", err)
	}
}

// Faults are set and read through the admin API too; bad settings name the
// field and change nothing.
func TestFaultsAdmin(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	var f sandbox.Faults
	if st := adminDo(t, srv, http.MethodPut, "/sandbox/faults",
		`{"endpoints":{"/v3/businesscircle/parkings":{"error_rate":0.5,"error_status":429,"latency":"25ms"}},"notifications":{"probe_rate":1,"clock_skew":"-6m"}}`, &f); st != 200 {
		t.Fatalf("PUT = %d", st)
	}
	want := sandbox.EndpointFaults{ErrorRate: 0.5, ErrorStatus: 429, Latency: sandbox.Duration(25 * time.Millisecond)}
	if f.Endpoints[sandbox.PathParkings] != want || f.Notifications.ClockSkew != sandbox.Duration(-6*time.Minute) {
		t.Errorf("faults = %+v", f)
	}
	var shown map[string]any
	adminDo(t, srv, http.MethodGet, "/sandbox/faults", "", &shown)
	if !strings.Contains(mustJSON(shown), `"latency":"25ms"`) {
		t.Errorf("GET /sandbox/faults = %v", shown)
	}
	for _, tt := range []struct{ body, field string }{
		{`{"endpoints":{"/v3/nope":{}}}`, "endpoints//v3/nope"},
		{`{"endpoints":{"*":{"error_rate":2}}}`, "endpoints/*/error_rate"},
		{`{"endpoints":{"*":{"error_status":503}}}`, "endpoints/*/error_status"},
		{`{"endpoints":{"*":{"latency":"2h"}}}`, "endpoints/*/latency"},
		{`{"endpoints":{"*":{"latency":"soon"}}}`, "endpoints.latency"},
		{`{"notifications":{"probe_rate":-1}}`, "notifications/probe_rate"},
		{`{"notification":{}}`, "notification"},
	} {
		var e struct{ Error, Field string }
		if st := adminDo(t, srv, http.MethodPut, "/sandbox/faults", tt.body, &e); st != 400 || e.Field != tt.field {
			t.Errorf("PUT %s = %d %+v, want 400 naming %s", tt.body, st, e, tt.field)
		}
	}
	if got := srv.Sandbox.Faults(); got.Endpoints[sandbox.PathParkings] != want {
		t.Errorf("a bad PUT changed the faults: %+v", got)
	}
}

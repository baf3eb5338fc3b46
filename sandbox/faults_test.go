package sandbox_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"regexp"
	"strconv"
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

// Each signature fault of 2xx answers is refused by the client with the
// sentinel of the check it breaks, on an answer with a body (200) and
// without one (204), in both key modes. Error answers, signed here with
// Config.SignErrorAnswers, stay correct.
func TestFaultAnswerSignatures(t *testing.T) {
	t.Parallel()
	const skewLimit = 300 * time.Second
	tests := []struct {
		name   string
		faults sandbox.EndpointFaults
		want   error // nil: accepted
	}{
		{"no fault is accepted", sandbox.EndpointFaults{}, nil},
		{"a probe is refused as a probe", sandbox.EndpointFaults{ProbeRate: 1}, wxpay.ErrProbeSignature},
		{"an untrusted key is refused as a bad signature", sandbox.EndpointFaults{BadSignatureRate: 1}, wxpay.ErrBadSignature},
		{"an unknown serial is refused as such", sandbox.EndpointFaults{UnknownSerialRate: 1}, wxpay.ErrUnknownSerial},
		{"300 s ahead is accepted", sandbox.EndpointFaults{ClockSkew: sandbox.Duration(skewLimit)}, nil},
		{"300 s behind is accepted", sandbox.EndpointFaults{ClockSkew: sandbox.Duration(-skewLimit)}, nil},
		{"301 s ahead is clock skew", sandbox.EndpointFaults{ClockSkew: sandbox.Duration(skewLimit + time.Second)}, wxpay.ErrClockSkew},
		{"301 s behind is clock skew", sandbox.EndpointFaults{ClockSkew: sandbox.Duration(-skewLimit - time.Second)}, wxpay.ErrClockSkew},
	}
	modes := []struct {
		name string
		mode sandbox.KeyMode
	}{{"public key", sandbox.PublicKeyMode}, {"platform certificate", sandbox.PlatformCertificateMode}}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				srv := newServer(t, sandbox.WithKeyMode(m.mode), sandbox.WithClientOptions(wxpay.WithoutRetries()),
					sandbox.WithConfig(func(c *sandbox.Config) { c.SignErrorAnswers = true }))
				txID := pay(t, srv.Sandbox, "", true)
				setFaults(t, srv.Sandbox, sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{"*": tt.faults}})

				_, _, err := businesscircle.New(srv.Client).Businesscircle.UserAuthorizations.Get(context.Background(), openID,
					businesscircle.UserAuthorizationQuery{AppID: appID})
				if !errors.Is(err, tt.want) {
					t.Errorf("authorization query (200): %v, want %v", err, tt.want)
				}
				if err := syncPoints(srv, txID); !errors.Is(err, tt.want) {
					t.Errorf("points sync (204): %v, want %v", err, tt.want)
				}

				bad := send(t, srv, raw{method: http.MethodGet, target: "/v3/businesscircle/user-authorizations/x"})
				verifyAnswer(t, srv.Keys, bad)
				if bad.status != 400 || bad.header.Get("Wechatpay-Timestamp") != strconv.FormatInt(fixedNow.Unix(), 10) {
					t.Errorf("error answer %d stamped %s, want 400 at the sandbox clock", bad.status, bad.header.Get("Wechatpay-Timestamp"))
				}
			})
		}
	}
}

// The faulty answers are what the fault says, seen byte by byte: the right
// serial with another key's signature; a serial of the same kind that is
// none of the sandbox's, with the right key's signature; the timestamp
// shifted, signed for it.
func TestFaultAnswerSignatureHeaders(t *testing.T) {
	t.Parallel()
	for _, mode := range []sandbox.KeyMode{sandbox.PublicKeyMode, sandbox.PlatformCertificateMode} {
		srv := newServer(t, sandbox.WithKeyMode(mode))
		k := srv.Keys
		serial, key := k.PublicKeyID, &k.WechatPayKey.PublicKey
		shape := regexp.MustCompile(`^PUB_KEY_ID_[0-9]{34}$`)
		if mode == sandbox.PlatformCertificateMode {
			serial, key = k.PlatformSerial, &k.PlatformKey.PublicKey
			shape = regexp.MustCompile(`^[0-9A-F]{40}$`)
		}
		get := func(f sandbox.EndpointFaults) answer {
			t.Helper()
			setFaults(t, srv.Sandbox, sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{sandbox.PathUserAuthorization: f}})
			a := send(t, srv, raw{method: http.MethodGet, target: "/v3/businesscircle/user-authorizations/" + openID + "?appid=" + appID})
			if a.status != 200 {
				t.Fatalf("mode %d: %d %s", mode, a.status, a.body)
			}
			return a
		}

		a := get(sandbox.EndpointFaults{BadSignatureRate: 1})
		if got := a.header.Get("Wechatpay-Serial"); got != serial {
			t.Errorf("mode %d, bad signature: serial %s, want the right key's %s", mode, got, serial)
		}
		if err := verifyWith(key, a); err == nil {
			t.Errorf("mode %d, bad signature: verifies with the right key", mode)
		}

		a = get(sandbox.EndpointFaults{UnknownSerialRate: 1})
		if got := a.header.Get("Wechatpay-Serial"); got == serial || got == k.PublicKeyID || got == k.PlatformSerial || !shape.MatchString(got) {
			t.Errorf("mode %d, unknown serial: %q, want a serial like %s that no key has", mode, got, serial)
		}
		if err := verifyWith(key, a); err != nil {
			t.Errorf("mode %d, unknown serial: %v, want the right key's signature", mode, err)
		}

		a = get(sandbox.EndpointFaults{ClockSkew: sandbox.Duration(-10 * time.Minute)})
		if got, want := a.header.Get("Wechatpay-Timestamp"), strconv.FormatInt(fixedNow.Add(-10*time.Minute).Unix(), 10); got != want {
			t.Errorf("mode %d, clock skew: timestamp %s, want %s", mode, got, want)
		}
		if got := verifyAnswer(t, k, a); got != serial {
			t.Errorf("mode %d, clock skew: signed by %s, want %s", mode, got, serial)
		}
	}
}

// verifyWith checks an answer's signature with pub, whatever its serial.
func verifyWith(pub *rsa.PublicKey, a answer) error {
	sig, err := base64.StdEncoding.DecodeString(a.header.Get("Wechatpay-Signature"))
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(a.header.Get("Wechatpay-Timestamp") + "\n" + a.header.Get("Wechatpay-Nonce") + "\n" + string(a.body) + "\n"))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
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

// A notification whose first attempt carries a signature fault is refused
// by notify.Parser with the sentinel of the check it breaks; the
// re-delivery is correct and passes.
func TestFaultNotificationSignatures(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		faults sandbox.NotificationFaults
		want   error
	}{
		{"probe", sandbox.NotificationFaults{ProbeRate: 1}, wxpay.ErrProbeSignature},
		{"untrusted key", sandbox.NotificationFaults{BadSignatureRate: 1}, wxpay.ErrBadSignature},
		{"unknown serial", sandbox.NotificationFaults{UnknownSerialRate: 1}, wxpay.ErrUnknownSerial},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, http.StatusUnauthorized) // refuses the first attempt, as a receiver would
			srv := newServer(t, sandbox.WithNotifyURL(rc.URL))
			setFaults(t, srv.Sandbox, sandbox.Faults{Notifications: tt.faults})
			mb, _, err := srv.Sandbox.Authorize(sandbox.MemberRequest{AppID: appID, OpenID: openID})
			if err != nil {
				t.Fatal(err)
			}
			if d := waitFinal(t, srv.Sandbox, mb.NotificationID); d.State != "delivered" || len(d.Attempts) != 2 {
				t.Fatalf("delivery = %+v, want delivered at the second attempt", d)
			}
			got := rc.requests()
			if _, err := srv.Parser.Parse(got[0].header, got[0].body); !errors.Is(err, tt.want) {
				t.Errorf("first attempt: %v, want %v", err, tt.want)
			}
			if n, err := srv.Parser.Parse(got[1].header, got[1].body); err != nil || n.ID != mb.NotificationID {
				t.Errorf("re-delivery: %v, want notification %s", err, mb.NotificationID)
			}
		})
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
		`{"endpoints":{"/v3/businesscircle/parkings":{"error_rate":0.5,"error_status":429,"latency":"25ms",`+
			`"bad_signature_rate":0.25,"unknown_serial_rate":0.75,"clock_skew":"301s"}},`+
			`"notifications":{"probe_rate":1,"bad_signature_rate":0.5,"unknown_serial_rate":0.5,"clock_skew":"-6m"}}`, &f); st != 200 {
		t.Fatalf("PUT = %d", st)
	}
	want := sandbox.EndpointFaults{ErrorRate: 0.5, ErrorStatus: 429, Latency: sandbox.Duration(25 * time.Millisecond),
		BadSignatureRate: 0.25, UnknownSerialRate: 0.75, ClockSkew: sandbox.Duration(301 * time.Second)}
	wantN := sandbox.NotificationFaults{ProbeRate: 1, BadSignatureRate: 0.5, UnknownSerialRate: 0.5, ClockSkew: sandbox.Duration(-6 * time.Minute)}
	if f.Endpoints[sandbox.PathParkings] != want || f.Notifications != wantN {
		t.Errorf("faults = %+v", f)
	}
	var shown map[string]any
	adminDo(t, srv, http.MethodGet, "/sandbox/faults", "", &shown)
	if j := mustJSON(shown); !strings.Contains(j, `"latency":"25ms"`) || !strings.Contains(j, `"bad_signature_rate":0.25`) || !strings.Contains(j, `"clock_skew":"5m1s"`) {
		t.Errorf("GET /sandbox/faults = %v", shown)
	}
	for _, tt := range []struct{ body, field string }{
		{`{"endpoints":{"/v3/nope":{}}}`, "endpoints//v3/nope"},
		{`{"endpoints":{"v3/nope":{}}}`, "endpoints/v3/nope"},
		{`{"endpoints":{"*":{"error_rate":2}}}`, "endpoints/*/error_rate"},
		{`{"endpoints":{"*":{"error_status":503}}}`, "endpoints/*/error_status"},
		{`{"endpoints":{"*":{"latency":"2h"}}}`, "endpoints/*/latency"},
		{`{"endpoints":{"*":{"latency":"soon"}}}`, "endpoints.latency"},
		{`{"endpoints":{"*":{"bad_signature_rate":1.5}}}`, "endpoints/*/bad_signature_rate"},
		{`{"endpoints":{"*":{"unknown_serial_rate":-0.1}}}`, "endpoints/*/unknown_serial_rate"},
		{`{"endpoints":{"*":{"clock_skew":"later"}}}`, "endpoints.clock_skew"},
		{`{"notifications":{"probe_rate":-1}}`, "notifications/probe_rate"},
		{`{"notifications":{"bad_signature_rate":2}}`, "notifications/bad_signature_rate"},
		{`{"notifications":{"unknown_serial_rate":-1}}`, "notifications/unknown_serial_rate"},
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

// An endpoint is named by its path template as WeChat Pay's documents spell
// it (no leading slash, like package businesscircle's constants), and the
// same path with a leading slash names the same endpoint.
func TestFaultsNameEndpointsWithOrWithoutLeadingSlash(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	for _, name := range []string{sandbox.PathPointsNotify, "/" + sandbox.PathPointsNotify} {
		if err := srv.Sandbox.SetFaults(sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{name: {ErrorRate: 1}}}); err != nil {
			t.Fatalf("SetFaults(%q) = %v", name, err)
		}
		if _, ok := srv.Sandbox.Faults().Endpoints[sandbox.PathPointsNotify]; !ok {
			t.Errorf("SetFaults(%q): Faults() = %+v, want the entry under %s", name, srv.Sandbox.Faults(), sandbox.PathPointsNotify)
		}
	}
	both := map[string]sandbox.EndpointFaults{sandbox.PathParkings: {}, "/" + sandbox.PathParkings: {}}
	if err := srv.Sandbox.SetFaults(sandbox.Faults{Endpoints: both}); err == nil {
		t.Error("SetFaults with the same endpoint spelt twice succeeded")
	}
}

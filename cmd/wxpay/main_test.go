package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/credentials"
	"github.com/seed2ac2593f/wxpay/internal/wxauth"
	"github.com/seed2ac2593f/wxpay/internal/wxtest"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// keyFiles are the shared test keys written as PEM files, the way a merchant
// keeps them.
type keyFiles struct {
	keys                                             *wxtest.Keys
	privateKey, merchantCert, publicKey, platformPEM string
}

func writeKeyFiles(t *testing.T) keyFiles {
	t.Helper()
	k := wxtest.SharedKeys()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return keyFiles{
		keys:         k,
		privateKey:   write("apiclient_key.pem", wxtest.EncodePrivateKeyPEM(k.MerchantKey)),
		merchantCert: write("apiclient_cert.pem", wxtest.EncodeCertPEM(k.MerchantCert)),
		publicKey:    write("pub_key.pem", wxtest.EncodePublicKeyPEM(&k.WechatPayKey.PublicKey)),
		platformPEM:  write("wechatpay_platform.pem", wxtest.EncodeCertPEM(k.PlatformCert)),
	}
}

// flags are the credential flags of public-key mode.
func (f keyFiles) flags(baseURL string) []string {
	return []string{
		"--base-url", baseURL,
		"--mchid", f.keys.MchID,
		"--private-key", f.privateKey,
		"--merchant-cert", f.merchantCert,
		"--wechatpay-public-key", f.publicKey,
		"--wechatpay-public-key-id", f.keys.PublicKeyID,
	}
}

// env is the same as flags, as environment variables.
func (f keyFiles) env(baseURL string) map[string]string {
	return map[string]string{
		"WXPAY_BASE_URL":                baseURL,
		"WXPAY_MCHID":                   f.keys.MchID,
		"WXPAY_PRIVATE_KEY":             f.privateKey,
		"WXPAY_MERCHANT_CERT":           f.merchantCert,
		"WXPAY_WECHATPAY_PUBLIC_KEY":    f.publicKey,
		"WXPAY_WECHATPAY_PUBLIC_KEY_ID": f.keys.PublicKeyID,
	}
}

// callArgs returns "call", the credential flags, then the rest.
func callArgs(flags []string, rest ...string) []string {
	return append(append([]string{"call"}, flags...), rest...)
}

type result struct {
	code           int
	stdout, stderr string
}

// lines returns stderr's lines.
func (r result) lines() []string { return strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") }

// wxpayCLI runs the command in process with the given stdin and environment.
func wxpayCLI(t *testing.T, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := &cli{
		stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr,
		getenv:  func(k string) string { return env[k] },
		newKeys: demoKeys,
	}
	code := c.run(context.Background(), args)
	return result{code, stdout.String(), stderr.String()}
}

func newServer(t *testing.T, opts ...wxtest.Option) *wxtest.Server {
	t.Helper()
	s := wxtest.NewServer(wxtest.SharedKeys(), opts...)
	t.Cleanup(s.Close)
	return s
}

// onlyRequest returns the one request the server received, checked for a
// valid signature by the server's own verifier.
func onlyRequest(t *testing.T, s *wxtest.Server) wxtest.Request {
	t.Helper()
	reqs := s.Requests()
	if len(reqs) != 1 {
		t.Fatalf("server received %d requests, want 1", len(reqs))
	}
	if reqs[0].AuthErr != nil {
		t.Fatalf("server refused our signature: %v", reqs[0].AuthErr)
	}
	return reqs[0]
}

const pointsBody = `{"transaction_id":"1217752501201407033233368018", "appid":"wx1234567890abcdef","openid":"oWmnN4xxxxxxxxxxe92NHIGf1xd8","earn_points":true,"increased_points":100,"points_update_time":"2020-05-20T13:29:35.120+08:00"}`

func TestCallVerified204ExitsZero(t *testing.T) {
	t.Parallel()
	f, s := writeKeyFiles(t), newServer(t)
	r := wxpayCLI(t, "", nil, callArgs(f.flags(s.URL), "POST", "v3/businesscircle/points/notify", "--data", pointsBody)...)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout = %q, want nothing for a 204", r.stdout)
	}
	lines := r.lines()
	if len(lines) != 3 || lines[0] != "HTTP 204" || !strings.HasPrefix(lines[1], "Request-ID: ") || len(lines[1]) < len("Request-ID: ")+10 ||
		lines[2] != "Verified-By: "+f.keys.PublicKeyID {
		t.Errorf("stderr = %q, want HTTP 204, Request-ID and Verified-By %s", lines, f.keys.PublicKeyID)
	}
	req := onlyRequest(t, s)
	if req.Method != "POST" || req.RequestTarget != "/v3/businesscircle/points/notify" || string(req.Body) != pointsBody {
		t.Errorf("server got %s %s %q, want the --data bytes unchanged", req.Method, req.RequestTarget, req.Body)
	}
	if got := req.Header.Get("Wechatpay-Serial"); got != f.keys.PublicKeyID {
		t.Errorf("Wechatpay-Serial = %q, want %q", got, f.keys.PublicKeyID)
	}
}

func TestCallQueryPathParamAndHeaderReachTheServer(t *testing.T) {
	t.Parallel()
	f, s := writeKeyFiles(t), newServer(t)
	openid := "oWmn/N4+x y"
	s.Handle("GET", "/v3/businesscircle/user-authorizations/"+openid, func(*wxtest.Request) (int, []byte) {
		return 200, []byte(`{"authorize_state":"AUTHORIZED"}`)
	})
	// Flags before, between and after the positional arguments.
	args := append([]string{"call", "--query", "appid=wx1234567890abcdef"}, f.flags(s.URL)...)
	args = append(args, "GET", "--path-param", "openid="+openid, "v3/businesscircle/user-authorizations/{openid}",
		"--query", "sub_mchid=a b&c", "--header", "X-Trace:  hello: world ")
	r := wxpayCLI(t, "", nil, args...)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	req := onlyRequest(t, s)
	const want = "/v3/businesscircle/user-authorizations/oWmn%2FN4+x%20y?appid=wx1234567890abcdef&sub_mchid=a+b%26c"
	if req.RequestTarget != want {
		t.Errorf("request-target = %q, want %q", req.RequestTarget, want)
	}
	if got := req.Header.Get("X-Trace"); got != "hello: world" {
		t.Errorf("X-Trace = %q, want %q", got, "hello: world")
	}
	if len(req.Body) != 0 || req.Header.Get("Content-Type") != "" {
		t.Errorf("GET without --data sent body %q, Content-Type %q", req.Body, req.Header.Get("Content-Type"))
	}
}

func TestCallDataFromFileAndStdin(t *testing.T) {
	t.Parallel()
	f := writeKeyFiles(t)
	file := filepath.Join(t.TempDir(), "points.json")
	data := pointsBody + "\n"
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, data, stdin string }{
		{"file", "@" + file, ""},
		{"stdin", "@-", data},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			r := wxpayCLI(t, tc.stdin, nil, callArgs(f.flags(s.URL), "POST", "v3/businesscircle/points/notify", "--data", tc.data)...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			if got := onlyRequest(t, s).Body; string(got) != data {
				t.Errorf("server got body %q, want %q", got, data)
			}
		})
	}
}

func TestCallEnvironmentAndFlagsWin(t *testing.T) {
	t.Parallel()
	f := writeKeyFiles(t)
	t.Run("environment only", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		r := wxpayCLI(t, "", f.env(s.URL), "call", "POST", "v3/businesscircle/points/notify", "--data", pointsBody)
		if r.code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
		onlyRequest(t, s)
	})
	t.Run("flag beats a wrong variable", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		env := f.env(s.URL)
		env["WXPAY_MCHID"] = "1230000109"
		env["WXPAY_MERCHANT_SERIAL"] = "0000000000000000000000000000000000000001"
		r := wxpayCLI(t, "", env, "call", "--mchid", f.keys.MchID, "--merchant-serial", f.keys.MerchantSerial,
			"POST", "v3/businesscircle/points/notify", "--data", pointsBody)
		if r.code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
		onlyRequest(t, s)
	})
	t.Run("wrong flag beats a right variable", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		r := wxpayCLI(t, "", f.env(s.URL), "call", "--mchid", "1230000109", "POST", "v3/businesscircle/points/notify", "--data", pointsBody)
		if r.code != 1 || len(r.lines()) != 1 || !strings.Contains(r.stderr, "HTTP 401 SIGN_ERROR") {
			t.Fatalf("exit %d, stderr %q; want 1 and one HTTP 401 SIGN_ERROR line", r.code, r.stderr)
		}
		if err := s.Requests()[0].AuthErr; !errors.Is(err, wxtest.ErrMchID) {
			t.Errorf("server AuthErr = %v, want %v", err, wxtest.ErrMchID)
		}
	})
	t.Run("platform certificates, comma-separated", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, wxtest.WithDefaultMode(wxtest.PlatformCertMode))
		env := f.env(s.URL)
		delete(env, "WXPAY_WECHATPAY_PUBLIC_KEY")
		delete(env, "WXPAY_WECHATPAY_PUBLIC_KEY_ID")
		env["WXPAY_PLATFORM_CERTS"] = f.platformPEM + ", " + f.platformPEM
		r := wxpayCLI(t, "", env, "call", "POST", "v3/businesscircle/points/notify", "--data", pointsBody)
		if r.code != 0 || !strings.Contains(r.stderr, "Verified-By: "+f.keys.PlatformSerial+"\n") {
			t.Fatalf("exit %d, stderr:\n%s\nwant 0 and Verified-By %s", r.code, r.stderr, f.keys.PlatformSerial)
		}
		onlyRequest(t, s)
	})
}

func TestCallPlatformCertificateFlag(t *testing.T) {
	t.Parallel()
	f, s := writeKeyFiles(t), newServer(t)
	r := wxpayCLI(t, "", nil, "call", "--base-url", s.URL, "--mchid", f.keys.MchID, "--private-key", f.privateKey,
		"--merchant-serial", strings.ToLower(f.keys.MerchantSerial), "--platform-cert", f.platformPEM,
		"POST", "v3/businesscircle/points/notify", "--data", pointsBody)
	if r.code != 0 || !strings.Contains(r.stderr, "Verified-By: "+f.keys.PlatformSerial+"\n") {
		t.Fatalf("exit %d, stderr:\n%s\nwant 0 and Verified-By %s", r.code, r.stderr, f.keys.PlatformSerial)
	}
	if got := onlyRequest(t, s).Header.Get("Wechatpay-Serial"); got != f.keys.PlatformSerial {
		t.Errorf("Wechatpay-Serial = %q, want the platform serial %q", got, f.keys.PlatformSerial)
	}
}

func TestCallWithOnlyAnAPIv3KeyDownloadsCertificates(t *testing.T) {
	t.Parallel()
	f, s := writeKeyFiles(t), newServer(t)
	env := map[string]string{"WXPAY_APIV3_KEY": f.keys.APIv3Key}
	r := wxpayCLI(t, "", env, "call", "--base-url", s.URL, "--mchid", f.keys.MchID, "--private-key", f.privateKey,
		"--merchant-cert", f.merchantCert, "POST", "v3/businesscircle/points/notify", "--data", pointsBody)
	if r.code != 0 || !strings.Contains(r.stderr, "Verified-By: "+f.keys.PlatformSerial+"\n") {
		t.Fatalf("exit %d, stderr:\n%s\nwant 0 and Verified-By %s", r.code, r.stderr, f.keys.PlatformSerial)
	}
	if strings.Contains(r.stderr+r.stdout, f.keys.APIv3Key) {
		t.Error("the APIv3 key was printed")
	}
	reqs := s.Requests()
	if len(reqs) != 2 || reqs[0].RequestTarget != "/v3/certificates" || reqs[1].AuthErr != nil {
		t.Errorf("server got %d requests, want GET /v3/certificates then the call", len(reqs))
	}
}

// Every fault of the fake makes the call fail with one line naming the check,
// and nothing unverified reaches stdout.
func TestCallFaultsExitOneNamingTheCheck(t *testing.T) {
	t.Parallel()
	f := writeKeyFiles(t)
	for _, tc := range []struct {
		fault wxtest.Fault
		want  error
	}{
		{wxtest.FaultBadSignature, wxpay.ErrBadSignature},
		{wxtest.FaultTamperedBody, wxpay.ErrBadSignature},
		{wxtest.FaultUnknownSerial, wxpay.ErrUnknownSerial},
		{wxtest.FaultStaleTimestamp, wxpay.ErrClockSkew},
		{wxtest.FaultProbe, wxpay.ErrProbeSignature},
		{wxtest.FaultNoSignature, wxpay.ErrMissingHeader},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			t.Parallel()
			s := newServer(t, wxtest.WithFault(tc.fault))
			s.Handle("GET", "/v3/x", func(*wxtest.Request) (int, []byte) { return 200, []byte(`{"forged":true}`) })
			r := wxpayCLI(t, "", nil, callArgs(f.flags(s.URL), "GET", "v3/x")...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
			}
			if lines := r.lines(); len(lines) != 1 || !strings.HasPrefix(lines[0], tc.want.Error()) || !strings.Contains(lines[0], "Request-ID") {
				t.Errorf("stderr = %q, want one line starting %q with the Request-ID", r.stderr, tc.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q: an unverified body was printed", r.stdout)
			}
			onlyRequest(t, s)
		})
	}
}

// An answer outside 2xx prints its body on stdout and one line on stderr
// with the status, WeChat Pay's code and message, detail's field, location
// and issue (the message alone can mislead: the real one for a bad
// points_update_time blames the merchant id, transaction id or openid), and
// the Request-ID to quote to WeChat Pay.
func TestCallAPIErrorPrintsBodyAndOneLine(t *testing.T) {
	t.Parallel()
	f := writeKeyFiles(t)
	for _, tc := range []struct {
		name string
		body string
		want []string
	}{
		{"code and message", `{"code":"PARAM_ERROR","message":"参数错误: openid 不存在"}`,
			[]string{"wxpay: HTTP 400 PARAM_ERROR: 参数错误: openid 不存在"}},
		{"detail's field, location and issue", `{"code":"PARAM_ERROR","message":"参数校验错误，请检查商圈商户号，微信订单号，OPENID是否为空",` +
			`"detail":{"field":"/points_update_time","value":"2024-01-06 14:06:00","issue":"not an RFC 3339 time","location":"body"}}`,
			[]string{"wxpay: HTTP 400 PARAM_ERROR: 参数校验错误", "/points_update_time", "body", "not an RFC 3339 time"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			s.Handle("POST", "/v3/businesscircle/points/notify", func(*wxtest.Request) (int, []byte) { return 400, []byte(tc.body) })
			r := wxpayCLI(t, "", nil, callArgs(f.flags(s.URL), "POST", "v3/businesscircle/points/notify", "--data", pointsBody)...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
			}
			if r.stdout != tc.body+"\n" {
				t.Errorf("stdout = %q, want the error body %q and a line break", r.stdout, tc.body)
			}
			lines := r.lines()
			if len(lines) != 1 {
				t.Fatalf("stderr = %q, want one line", r.stderr)
			}
			for _, want := range append(tc.want, "Request-ID") {
				if !strings.Contains(lines[0], want) {
					t.Errorf("stderr = %q, want it to contain %q", lines[0], want)
				}
			}
		})
	}
}

func TestCallNoVerifyAcceptsABadSignatureWithAWarning(t *testing.T) {
	t.Parallel()
	f, s := writeKeyFiles(t), newServer(t, wxtest.WithFault(wxtest.FaultBadSignature))
	s.Handle("GET", "/v3/x", func(*wxtest.Request) (int, []byte) { return 200, []byte(`{"ok":1}`) })
	r := wxpayCLI(t, "", nil, callArgs(f.flags(s.URL), "GET", "v3/x", "--no-verify")...)
	if r.code != 0 || r.stdout != `{"ok":1}`+"\n" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "WARNING: --no-verify") || !strings.Contains(r.stderr, "Verified-By: nobody (--no-verify)\n") {
		t.Errorf("stderr = %q, want the warning and Verified-By: nobody", r.stderr)
	}
	// No key to verify with is needed either.
	r = wxpayCLI(t, "", nil, "call", "--base-url", s.URL, "--mchid", f.keys.MchID, "--private-key", f.privateKey,
		"--merchant-cert", f.merchantCert, "--no-verify", "GET", "v3/x")
	if r.code != 0 {
		t.Fatalf("without keys: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestCallUsageErrorsExitTwoWithOneLine(t *testing.T) {
	t.Parallel()
	f, s := writeKeyFiles(t), newServer(t)
	full := f.env(s.URL)
	without := func(names ...string) map[string]string {
		env := map[string]string{}
		for k, v := range full {
			env[k] = v
		}
		for _, n := range names {
			delete(env, n)
		}
		return env
	}
	call := []string{"call", "POST", "v3/businesscircle/points/notify"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"missing mchid", without("WXPAY_MCHID"), call, "wxpay call: --mchid (or WXPAY_MCHID) is required"},
		{"empty mchid flag beats the variable", full, append(call, "--mchid", ""), "wxpay call: --mchid (or WXPAY_MCHID) is required"},
		{"missing private key", without("WXPAY_PRIVATE_KEY"), call, "wxpay call: --private-key (or WXPAY_PRIVATE_KEY) is required"},
		{"missing serial", without("WXPAY_MERCHANT_CERT"), call,
			"wxpay call: --merchant-serial (or WXPAY_MERCHANT_SERIAL) or --merchant-cert (or WXPAY_MERCHANT_CERT) is required"},
		{"no key to verify with", without("WXPAY_WECHATPAY_PUBLIC_KEY", "WXPAY_WECHATPAY_PUBLIC_KEY_ID"), call,
			"wxpay call: a key to verify answers is required"},
		{"public key without id", without("WXPAY_WECHATPAY_PUBLIC_KEY_ID"), call,
			"wxpay call: --wechatpay-public-key-id (or WXPAY_WECHATPAY_PUBLIC_KEY_ID) is required with WXPAY_WECHATPAY_PUBLIC_KEY"},
		{"unreadable key file", full, append(call, "--private-key", "/nonexistent/key.pem"),
			"wxpay call: --private-key /nonexistent/key.pem: no such file or directory"},
		{"certificate of another key", full, append(call, "--merchant-cert", f.platformPEM), "is not the certificate of"},
		{"serial disagrees with certificate", full, append(call, "--merchant-serial", "01", "--merchant-cert", f.merchantCert), "disagrees with the serial"},
		{"bad APIv3 key", full, append(call, "--apiv3-key", "short"), "wxpay call: --apiv3-key: "},
		{"not a PEM file, named once", full, append(call, "--private-key", os.DevNull), "wxpay call: --private-key " + os.DevNull + ": no PEM data"},
		{"plain http elsewhere", full, append(call, "--base-url", "http://example.com/"), "plain http is allowed only for loopback"},
		{"no PATH", full, []string{"call", "GET"}, "wxpay call: want METHOD PATH, got 1 argument(s)"},
		{"bad method", full, []string{"call", "G T", "v3/x"}, `wxpay call: METHOD "G T" is not an HTTP method`},
		{"full URL as PATH", full, []string{"call", "GET", "https://api.mch.weixin.qq.com/v3/x"}, "give the path below --base-url"},
		{"unknown flag", full, append(call, "--nope"), "wxpay call: flag provided but not defined: --nope"},
		{"invalid JSON", full, append(call, "--data", "{nope"), "wxpay call: --data is not valid JSON"},
		{"missing data file", full, append(call, "--data", "@/nonexistent.json"), "wxpay call: --data @/nonexistent.json: no such file or directory"},
		{"flag without its value", full, append(call, "--data"), "wxpay call: flag needs an argument: --data"},
		{"query without =", full, append(call, "--query", "appid"), `wxpay call: --query "appid": want k=v`},
		{"header without colon", full, append(call, "--header", "X-Trace"), `wxpay call: --header "X-Trace": want 'Name: value'`},
		{"Authorization header", full, append(call, "--header", "authorization: x"), "wxpay call: --header Authorization"},
		{"header value with a line break", full, append(call, "--header", "X-Trace: a\nb"), `wxpay call: --header "X-Trace: a\nb": the value has the control character '\n'`},
		{"header value with a carriage return", full, append(call, "--header", "X-Trace: a\r\nInjected: 1"), `the value has the control character '\r'`},
		{"header value with NUL", full, append(call, "--header", "X-Trace: a\x00"), `the value has the control character '\x00'`},
		{"header name with a space", full, append(call, "--header", "X Trace: a"), `wxpay call: --header "X Trace: a": the name "X Trace" is not an HTTP token`},
		{"header name with a non-ASCII letter", full, append(call, "--header", "Tracé: a"), `the name "Tracé" is not an HTTP token`},
		{"unfilled path parameter", full, []string{"call", "GET", "v3/u/{openid}"}, "needs --path-param openid=…"},
		{"unused path parameter", full, []string{"call", "GET", "v3/u", "--path-param", "openid=x"}, "has no {openid}"},
		{"path parameter the client refuses to send", full, []string{"call", "GET", "v3/u/{openid}", "--path-param", "openid=.."}, "wxpay call: invalid request, not sent: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := wxpayCLI(t, "", tc.env, tc.args...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", r.code, r.stderr)
			}
			if lines := r.lines(); len(lines) != 1 || !strings.Contains(lines[0], tc.want) || !strings.HasPrefix(lines[0], "wxpay call: ") {
				t.Errorf("stderr = %q, want one line with %q", r.stderr, tc.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("usage errors sent %d requests", n)
	}
}

func TestCallNeverPrintsSecrets(t *testing.T) {
	t.Parallel()
	f, s := writeKeyFiles(t), newServer(t)
	r := wxpayCLI(t, "", nil, callArgs(f.flags(s.URL), "POST", "v3/businesscircle/points/notify", "--data", pointsBody)...)
	auth := onlyRequest(t, s).Header.Get("Authorization")
	pemKey, _ := os.ReadFile(f.privateKey)
	for _, secret := range []string{auth, string(pemKey), "PRIVATE KEY"} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("output contains a secret: %.40q", secret)
		}
	}
}

// demoKeys are sandbox keys made once per test binary.
var demoKeys = sync.OnceValues(sandbox.GenerateKeys)

func TestDemoRunsTheWholeFlowAgainstTheSandbox(t *testing.T) {
	t.Parallel()
	r := wxpayCLI(t, "", nil, "demo")
	if r.code != 0 {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	keys, _ := demoKeys()
	for _, want := range []string{
		"notify  verified and decrypted: openid oWmnN4xxxxxxxxxxe92NHIGf1xd8, auth_type REGISTERED_AND_AUTHORIZATION_MODE",
		"notify  verified and decrypted: oWmnN4xxxxxxxxxxe92NHIGf1xd8 paid 8800 fen",
		"points_commit_status PENDING",
		"answer  HTTP 204, its signature verified with " + keys.PublicKeyID,
		"sandbox recorded sync #1",
		"points_commit_status FINISHED",
		"AUTHORIZED since",
		"notify  verified and decrypted: 2000 of 8800 fen refunded",
		"client  rejected the answer: " + wxpay.ErrProbeSignature.Error(),
		"receiver answered the probe with HTTP 401",
		"ok: all 9 steps behaved as expected",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "FAIL") || r.stderr != "" {
		t.Errorf("demo reported a failure:\n%s%s", r.stdout, r.stderr)
	}
}

// notification builds a signed, encrypted MALL_TRANSACTION.SUCCESS
// notification the way WeChat Pay sends it, returning its body, the
// --header flags and the plaintext.
func notification(t *testing.T, k *wxtest.Keys, ts time.Time) (body []byte, headerFlags []string, plaintext string) {
	t.Helper()
	plaintext = `{"mchid":"1900000109","merchant_name":"腾讯广场","shop_name":"海底捞","shop_number":"123456","appid":"wx1234567890abcdef","openid":"oWmnN4xxxxxxxxxxe92NHIGf1xd8","time_end":"2020-05-20T13:29:35.120+08:00","amount":200,"transaction_id":"1217752501201407033233368018","commit_tag":"AABBCC"}`
	const nonce, ad = "GiCVO6LB04WZ", "mall_transaction"
	ct, err := wxauth.EncryptAEAD([]byte(k.APIv3Key), nonce, ad, []byte(plaintext))
	if err != nil {
		t.Fatal(err)
	}
	body = []byte(`{"id":"EV-2018022511223320873","create_time":"2015-05-20T13:29:35+08:00","resource_type":"encrypt-resource","event_type":"MALL_TRANSACTION.SUCCESS","summary":"支付成功","resource":{"original_type":"mall_transaction","algorithm":"AEAD_AES_256_GCM","ciphertext":"` +
		ct + `","associated_data":"` + ad + `","nonce":"` + nonce + `"}}`)
	h := wxtest.SignResponse(k.WechatPayKey, k.PublicKeyID, ts.Unix(), "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", body)
	for name, vs := range h {
		headerFlags = append(headerFlags, "--header", name+": "+vs[0])
	}
	return body, headerFlags, plaintext
}

func TestNotifyParse(t *testing.T) {
	t.Parallel()
	f := writeKeyFiles(t)
	k := f.keys
	keyFlags := []string{"--wechatpay-public-key", f.publicKey, "--wechatpay-public-key-id", k.PublicKeyID}
	env := map[string]string{"WXPAY_APIV3_KEY": k.APIv3Key}
	body, headers, plaintext := notification(t, k, time.Now())
	bodyFile := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(bodyFile, body, 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("stdin", func(t *testing.T) {
		t.Parallel()
		r := wxpayCLI(t, string(body), env, append(append([]string{"notify", "parse"}, headers...), keyFlags...)...)
		if r.code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
		if r.stdout != plaintext+"\n" {
			t.Errorf("stdout = %q, want the plaintext %q and a line break", r.stdout, plaintext)
		}
		for _, want := range []string{"Notification-ID: EV-2018022511223320873\n", "Event-Type: MALL_TRANSACTION.SUCCESS\n", "Verified-By: " + k.PublicKeyID + "\n"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr = %q, want %q", r.stderr, want)
			}
		}
		if strings.Contains(r.stderr, k.APIv3Key) {
			t.Error("the APIv3 key was printed")
		}
	})
	t.Run("body file, platform certificate unused", func(t *testing.T) {
		t.Parallel()
		args := append([]string{"notify", "parse", "--body", bodyFile, "--platform-cert", f.platformPEM}, headers...)
		r := wxpayCLI(t, "", env, append(args, keyFlags...)...)
		if r.code != 0 || r.stdout != plaintext+"\n" {
			t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})

	stale, staleHeaders, _ := notification(t, k, time.Now().Add(-time.Hour))
	wrongKey := filepath.Join(t.TempDir(), "wrong_apiv3_key.txt")
	if err := os.WriteFile(wrongKey, []byte(strings.Repeat("k", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		body    []byte
		headers []string
		extra   []string
		want    error
	}{
		{"tampered body", bytes.Replace(body, []byte("支付成功"), []byte("支付失败"), 1), headers, nil, wxpay.ErrBadSignature},
		{"line break added", append(bytes.Clone(body), '\n'), headers, nil, wxpay.ErrBadSignature},
		{"wrong APIv3 key", body, headers, []string{"--apiv3-key-file", wrongKey}, wxpay.ErrDecrypt},
		{"stale", stale, staleHeaders, nil, wxpay.ErrClockSkew},
		{"no headers", body, nil, nil, wxpay.ErrMissingHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append(append([]string{"notify", "parse"}, tc.headers...), keyFlags...)
			r := wxpayCLI(t, string(tc.body), env, append(args, tc.extra...)...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
			}
			checkFailureLine(t, r, tc.want)
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
	t.Run("an APIv3 key given as a flag works and is warned about", func(t *testing.T) {
		t.Parallel()
		args := append(append([]string{"notify", "parse", "--apiv3-key", k.APIv3Key}, headers...), keyFlags...)
		r := wxpayCLI(t, string(body), nil, args...)
		if r.code != 0 || r.stdout != plaintext+"\n" {
			t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, "wxpay: warning: --apiv3-key: other users of this machine can read a command line") {
			t.Errorf("stderr = %q, want a warning about --apiv3-key", r.stderr)
		}
		if strings.Contains(r.stderr, k.APIv3Key) {
			t.Error("the APIv3 key was printed")
		}
	})
	t.Run("an old notification with a wider clock skew", func(t *testing.T) {
		t.Parallel()
		args := append(append([]string{"notify", "parse", "--max-clock-skew", "2h"}, staleHeaders...), keyFlags...)
		if r := wxpayCLI(t, string(stale), env, args...); r.code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
	})
	t.Run("usage", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			env  map[string]string
			args []string
			want string
		}{
			{nil, append([]string{"notify", "parse"}, keyFlags...), "wxpay notify parse: --apiv3-key-file (or WXPAY_APIV3_KEY_FILE) or --apiv3-key (or WXPAY_APIV3_KEY) is required"},
			{env, []string{"notify", "parse"}, "wxpay notify parse: a key to verify with is required"},
			{env, append([]string{"notify", "parse", "--body", "/nonexistent"}, keyFlags...), "wxpay notify parse: --body /nonexistent: no such file"},
			{env, []string{"notify"}, "wxpay notify: want a subcommand: parse"},
			{env, append([]string{"notify", "parse", "--max-clock-skew", "soon"}, keyFlags...), `wxpay notify parse: invalid value "soon" for flag --max-clock-skew`},
			{env, []string{"notify", "show"}, `wxpay notify: unknown subcommand "show"`},
		} {
			r := wxpayCLI(t, string(body), tc.env, tc.args...)
			if r.code != 2 || len(r.lines()) != 1 || !strings.HasPrefix(r.stderr, tc.want) {
				t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
			}
		}
	})
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"help"}, {"--help"}, {"help", "call"}, {"call", "--help"}, {"call", "GET", "-h"},
		{"notify", "parse", "--help"}, {"help", "notify"}, {"demo", "--help"}, {"version"},
		{"certificates", "download", "--help"}, {"help", "certificates"},
		{"sandbox", "--help"}, {"help", "sandbox"}, {"keygen", "--help"}, {"help", "keygen"},
	} {
		r := wxpayCLI(t, "", nil, args...)
		if r.code != 0 || r.stdout == "" || r.stderr != "" {
			t.Errorf("%q: exit %d, stdout %d bytes, stderr %q", args, r.code, len(r.stdout), r.stderr)
		}
	}
	if r := wxpayCLI(t, "", nil, "version"); r.stdout != "wxpay "+wxpay.Version+" ("+strings.SplitN(r.stdout, "(", 2)[1] {
		t.Errorf("version = %q", r.stdout)
	}
	// Every flag of the contract is documented, with its variable, and each
	// help has an example.
	call := wxpayCLI(t, "", nil, "call", "--help").stdout
	for _, st := range credentials.Settings(credentials.All) {
		if !strings.Contains(call, "--"+st.Flag+" ") || !strings.Contains(call, st.Env) {
			t.Errorf("call help lacks --%s [%s]", st.Flag, st.Env)
		}
	}
	for _, flag := range []string{"--data", "--query", "--path-param", "--header", "--no-verify"} {
		if !strings.Contains(call, flag+" ") {
			t.Errorf("call help lacks %s", flag)
		}
	}
	for _, cmd := range []string{"call", "notify", "demo", "certificates", "sandbox", "keygen"} {
		if h := wxpayCLI(t, "", nil, "help", cmd).stdout; !strings.Contains(h, "Example") {
			t.Errorf("help %s has no example", cmd)
		}
	}
	for _, args := range [][]string{{}, {"nope"}, {"help", "nope"}, {"demo", "extra"}} {
		if r := wxpayCLI(t, "", nil, args...); r.code != 2 {
			t.Errorf("%q: exit %d, want 2", args, r.code)
		}
	}
}

// Each --flag a command's help lists (on its usage line and at the start of
// a line) is one the command accepts; the credential flags' lines are made
// from their registrations.
func TestEveryFlagInAHelpIsAccepted(t *testing.T) {
	t.Parallel()
	flagName := regexp.MustCompile(`(?m)(?:^Usage:.*?|^\s+)(--[a-z][a-z0-9-]*)`)
	for _, cmd := range [][]string{{"call"}, {"notify", "parse"}, {"certificates", "download"}, {"sandbox"}, {"keygen"}} {
		help := wxpayCLI(t, "", nil, append(cmd, "--help")...).stdout
		matches := flagName.FindAllStringSubmatch(help, -1)
		if len(matches) == 0 {
			t.Fatalf("%q --help lists no flag", cmd)
		}
		for _, m := range matches {
			name := m[1]
			// An unknown flag fails before --help is reached.
			r := wxpayCLI(t, "", nil, append(cmd, name+"=x", "--help")...)
			if strings.Contains(r.stderr, "flag provided but not defined") {
				t.Errorf("%q --help names %s, which it does not accept", cmd, name)
			}
		}
	}
}

func TestParseArgsInterleavesFlagsAndPositionals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args      []string
		wantPos   []string
		wantQuery []string
	}{
		{[]string{"POST", "v3/x", "--query", "a=1"}, []string{"POST", "v3/x"}, []string{"a=1"}},
		{[]string{"--query", "a=1", "POST", "--query=b=2", "v3/x"}, []string{"POST", "v3/x"}, []string{"a=1", "b=2"}},
		{[]string{"POST", "--", "--query", "v3/x"}, []string{"POST", "--query", "v3/x"}, nil},
		{[]string{"-", "x"}, []string{"-", "x"}, nil},
	} {
		fs := newFlagSet("t")
		var q listFlag
		fs.Var(&q, "query", "")
		pos, err := parseArgs(fs, tc.args)
		if err != nil || !reflect.DeepEqual(pos, tc.wantPos) || !reflect.DeepEqual([]string(q), tc.wantQuery) {
			t.Errorf("parseArgs(%q) = %q, query %q, %v; want %q, %q", tc.args, pos, q, err, tc.wantPos, tc.wantQuery)
		}
	}
}

// run itself wires the real streams and environment.
func TestRunUsesItsArguments(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"version"}, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
	if code != 0 || !strings.HasPrefix(stdout.String(), "wxpay "+wxpay.Version) {
		t.Errorf("run version = %d, %q", code, stdout.String())
	}
}

func TestCertificatesDownloadWritesVerifiedCertificates(t *testing.T) {
	t.Parallel()
	f, s := writeKeyFiles(t), newServer(t)
	out := filepath.Join(t.TempDir(), "certs")
	r := wxpayCLI(t, "", map[string]string{"WXPAY_APIV3_KEY": f.keys.APIv3Key}, "certificates", "download", "--out", out,
		"--base-url", s.URL, "--mchid", f.keys.MchID, "--private-key", f.privateKey, "--merchant-cert", f.merchantCert)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	var list []struct {
		SerialNo string `json:"serial_no"`
		File     string `json:"file"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 1 || list[0].SerialNo != f.keys.PlatformSerial {
		t.Fatalf("stdout %q (%v), want a JSON list with %s", r.stdout, err, f.keys.PlatformSerial)
	}
	data, err := os.ReadFile(filepath.Join(out, "wechatpay_"+f.keys.PlatformSerial+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	if cert, err := wxpay.LoadCertificate(data); err != nil || !cert.Equal(f.keys.PlatformCert) {
		t.Fatalf("written certificate: %v", err)
	}
}

func TestCertificatesDownloadFailures(t *testing.T) {
	t.Parallel()
	f := writeKeyFiles(t)
	noCerts := newServer(t)
	noCerts.Handle("GET", "/v3/certificates", func(*wxtest.Request) (int, []byte) {
		return 404, []byte(`{"code":"RESOURCE_NOT_EXISTS","message":"无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥。"}`)
	})
	probe := newServer(t, wxtest.WithFault(wxtest.FaultProbe))
	for _, tc := range []struct {
		name   string
		srv    *wxtest.Server
		apiv3  string
		code   int
		stderr string
	}{
		{"merchant without platform certificates", noCerts, f.keys.APIv3Key, 1, "has no platform certificates"},
		{"probe signature", probe, f.keys.APIv3Key, 1, "WECHATPAY/SIGNTEST/ probe"},
		{"wrong APIv3 key", newServer(t), "00000000000000000000000000000000", 1, "decryption failed"},
		{"no APIv3 key", newServer(t), "", 2, "--apiv3-key (or WXPAY_APIV3_KEY) is required"},
	} {
		out := t.TempDir()
		r := wxpayCLI(t, "", map[string]string{"WXPAY_APIV3_KEY": tc.apiv3}, "certificates", "download", "--out", out,
			"--base-url", tc.srv.URL, "--mchid", f.keys.MchID, "--private-key", f.privateKey, "--merchant-cert", f.merchantCert)
		if r.code != tc.code || len(r.lines()) != 1 || !strings.Contains(r.stderr, tc.stderr) || r.stdout != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d and one line with %q", tc.name, r.code, r.stdout, r.stderr, tc.code, tc.stderr)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("%s: %d files written", tc.name, len(entries))
		}
	}
}

func TestConfigFileSuppliesSettingsThatFlagsAndVariablesOverride(t *testing.T) {
	t.Parallel()
	f := writeKeyFiles(t)
	dir := filepath.Dir(f.privateKey)
	cfg := filepath.Join(dir, "wxpay.json")
	doc := fmt.Sprintf(`{"mchid": %q, "private-key": "apiclient_key.pem", "merchant-cert": "apiclient_cert.pem",
		"wechatpay-public-key": "pub_key.pem", "wechatpay-public-key-id": %q, "platform-cert": ["wechatpay_platform.pem"]}`,
		f.keys.MchID, f.keys.PublicKeyID)
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newServer(t)
	r := wxpayCLI(t, "", nil, "call", "--config", cfg, "--base-url", s.URL, "POST", "v3/businesscircle/points/notify", "--data", pointsBody)
	if r.code != 0 {
		t.Fatalf("--config: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	onlyRequest(t, s)

	s = newServer(t)
	r = wxpayCLI(t, "", map[string]string{"WXPAY_CONFIG": cfg, "WXPAY_MCHID": "1230000109"}, "call", "--base-url", s.URL,
		"POST", "v3/businesscircle/points/notify", "--data", pointsBody)
	if r.code != 1 || !strings.Contains(r.stderr, "SIGN_ERROR") {
		t.Fatalf("a variable should win over the file: exit %d, stderr %q", r.code, r.stderr)
	}

	for name, bad := range map[string]string{
		"unknown key": `{"mchid": "1", "password": "x"}`, "not an object": `[1]`, "list for a string": `{"mchid": ["1"]}`,
	} {
		p := filepath.Join(t.TempDir(), "bad.json")
		os.WriteFile(p, []byte(bad), 0o600)
		r := wxpayCLI(t, "", nil, "call", "--config", p, "GET", "v3/x")
		if r.code != 2 || len(r.lines()) != 1 || !strings.Contains(r.stderr, "--config "+p) {
			t.Errorf("%s: exit %d, stderr %q; want a usage error naming the file", name, r.code, r.stderr)
		}
	}
}

// Where the CLI of wechatpay-axios-plugin 0.9.6 falls short (its argument
// parser turns a numeric-looking sub_mchid into a number, and it exits 0
// after printing an error) this one does not: numeric-looking strings stay
// strings, path parameters can be passed, and an error exits non-zero.
func TestCallDoesWhatTheNodeCLICannot(t *testing.T) {
	t.Parallel()
	f, s := writeKeyFiles(t), newServer(t)
	body := `{"sub_mchid":"1900000109","transaction_id":"4200000001202405200000000001","appid":"wx1","openid":"o1","earn_points":true,"increased_points":100,"points_update_time":"2020-05-20T13:29:35+08:00"}`
	r := wxpayCLI(t, "", nil, callArgs(f.flags(s.URL), "POST", "v3/businesscircle/points/notify", "--data", body)...)
	if r.code != 0 || string(onlyRequest(t, s).Body) != body {
		t.Fatalf("exit %d; the server got %q, want %q (sub_mchid still a string)", r.code, s.Requests()[0].Body, body)
	}

	s = newServer(t)
	r = wxpayCLI(t, "", nil, callArgs(f.flags(s.URL), "GET", "v3/businesscircle/users/{openid}/points/commit_status",
		"--path-param", "openid=oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "--query", "brandid=1000", "--query", "appid=wx1")...)
	want := "/v3/businesscircle/users/oUpF8uMuAJO_M2pxb1Q9zNjWeS6o/points/commit_status?brandid=1000&appid=wx1"
	if got := onlyRequest(t, s).RequestTarget; got != want {
		t.Fatalf("request-target %s, want %s", got, want)
	}
	if r.code != 1 { // the fake has no such route: a 404 must not exit 0
		t.Fatalf("a 404 exited %d, want 1", r.code)
	}
}

func TestCallRetriesAndTimeoutFlags(t *testing.T) {
	t.Parallel()
	f := writeKeyFiles(t)
	for _, tc := range []struct {
		retries  string
		attempts int
	}{{"0", 1}, {"1", 2}} {
		s := newServer(t)
		s.Handle("GET", "/v3/flaky", func(*wxtest.Request) (int, []byte) {
			return 503, []byte(`{"code":"SERVICE_UNAVAILABLE","message":"x"}`)
		})
		r := wxpayCLI(t, "", nil, callArgs(f.flags(s.URL), "GET", "v3/flaky", "--retries", tc.retries)...)
		if r.code != 1 || len(s.Requests()) != tc.attempts {
			t.Errorf("--retries %s: exit %d after %d attempts, want 1 after %d", tc.retries, r.code, len(s.Requests()), tc.attempts)
		}
	}
	if r := wxpayCLI(t, "", nil, callArgs(f.flags("http://127.0.0.1:1/"), "GET", "v3/x", "--retries", "-1")...); r.code != 2 {
		t.Errorf("--retries -1: exit %d", r.code)
	}
}

// retryAfter answers 503 asking the client to wait the given Retry-After.
func retryAfter(value string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", value)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"code":"SERVICE_UNAVAILABLE","message":"overloaded"}`))
	}
}

// --timeout bounds the whole call, retries included: a server that never
// answers, or one that asks for a wait longer than the time left, ends the
// call by the deadline with one line saying so, instead of keeping the
// command waiting (a 503 with Retry-After: 3600 used to hold it for an hour).
func TestCallTimeoutBoundsTheWholeCall(t *testing.T) {
	t.Parallel()
	f := writeKeyFiles(t)
	for _, tc := range []struct {
		name     string
		handler  http.HandlerFunc
		timeout  string
		attempts int32 // at most
		want     string
	}{
		{"a server that never answers", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			"50ms", 1, "context deadline exceeded (--timeout 50ms, retries included, has passed)"},
		{"Retry-After beyond the longest wait of the retry policy", retryAfter("3600"), "2s", 1,
			"wxpay: HTTP 503 SERVICE_UNAVAILABLE: overloaded (no retry: WeChat Pay asked to wait 1h0m0s"},
		{"Retry-After beyond the --timeout", retryAfter("4"), "1s", 1,
			"wxpay: HTTP 503 SERVICE_UNAVAILABLE: overloaded (no retry: WeChat Pay asked to wait 4s, past the context deadline)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var attempts atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				attempts.Add(1)
				tc.handler(w, r)
			}))
			t.Cleanup(srv.Close)
			r := wxpayCLI(t, "", nil, callArgs(f.flags(srv.URL), "GET", "v3/x", "--timeout", tc.timeout, "--retries", "5")...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
			}
			if lines := r.lines(); len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("stderr = %q, want one line with %q", r.stderr, tc.want)
			}
			// On a loaded machine the deadline may pass before the request
			// arrives, so fewer attempts are fine; more would be a retry.
			if n := attempts.Load(); n > tc.attempts {
				t.Errorf("%d attempts, want at most %d", n, tc.attempts)
			}
		})
	}
}

package wxpay

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

var pointsBody = map[string]any{
	"transaction_id":     "1217752501201407033233368018",
	"appid":              "wx1234567890abcdef",
	"openid":             "oWmnN4xxxxxxxxxxe92NHIGf1xd8",
	"earn_points":        true,
	"increased_points":   100,
	"points_update_time": "2020-05-20T13:29:35.120+08:00",
	"no_points_remarks":  "商品不参与积分活动 <&>",
}

func TestPointsSyncIsSignedAndItsAnswerVerified(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name   string
		opts   []Option
		serial func(*wxtest.Keys) string
	}{
		{"public key", nil, func(k *wxtest.Keys) string { return k.PublicKeyID }},
		{"platform certificate only", []Option{}, func(k *wxtest.Keys) string { return k.PlatformSerial }},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			k := wxtest.SharedKeys()
			srv := wxtest.NewServer(k)
			defer srv.Close()
			var c *Client
			if mode.name == "public key" {
				c = newTestClient(t, srv)
			} else {
				var err error
				c, err = NewClient(WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey),
					WithPlatformCertificates(k.PlatformCert), WithBaseURL(srv.URL))
				if err != nil {
					t.Fatal(err)
				}
			}
			resp, err := c.Chain("v3/businesscircle/points/notify").Post(context.Background(), JSON(pointsBody))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 204 || len(resp.Body) != 0 || resp.Serial != mode.serial(k) || resp.RequestID() == "" {
				t.Fatalf("got %d %q verified by %q, Request-ID %q", resp.StatusCode, resp.Body, resp.Serial, resp.RequestID())
			}
			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("server saw %d requests", len(reqs))
			}
			r := reqs[0]
			if r.AuthErr != nil {
				t.Fatalf("server rejected our signature: %v", r.AuthErr)
			}
			if r.Header.Get("Wechatpay-Serial") != mode.serial(k) {
				t.Errorf("Wechatpay-Serial = %q, want %q", r.Header.Get("Wechatpay-Serial"), mode.serial(k))
			}
			var got map[string]any
			if err := json.Unmarshal(r.Body, &got); err != nil || got["no_points_remarks"] != "商品不参与积分活动 <&>" {
				t.Errorf("body %s (err %v)", r.Body, err)
			}
			if strings.Contains(string(r.Body), `\u003c`) || strings.HasSuffix(string(r.Body), "\n") {
				t.Errorf("body is HTML-escaped or ends in a newline: %q", r.Body)
			}
		})
	}
}

func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	srv := wxtest.NewServer(wxtest.SharedKeys())
	defer srv.Close()
	c := newTestClient(t, srv)
	ctx := context.Background()
	if _, err := c.Chain("v3/businesscircle/points/notify").Post(ctx, JSON(pointsBody)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Chain("v3/certificates").Get(ctx, Header("X-Trace", "abc")); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	ua := regexp.MustCompile(`^wxpay/` + regexp.QuoteMeta(Version) + ` \(` + runtime.GOOS + `\) Go/\d+\.\d+`)
	nonce := regexp.MustCompile(`nonce_str="[0-9A-Za-z]{32}"`)
	for _, r := range reqs {
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("%s: Accept = %q", r.Method, got)
		}
		if got := r.Header.Get("User-Agent"); !ua.MatchString(got) {
			t.Errorf("%s: User-Agent = %q", r.Method, got)
		}
		if !nonce.MatchString(r.Header.Get("Authorization")) {
			t.Errorf("%s: Authorization has no 32-character nonce", r.Method)
		}
	}
	if got := reqs[0].Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("POST Content-Type = %q", got)
	}
	if got := reqs[1].Header.Get("Content-Type"); got != "" {
		t.Errorf("GET Content-Type = %q, want none", got)
	}
	if reqs[1].Header.Get("X-Trace") != "abc" {
		t.Error("Header option not sent")
	}
	if !strings.HasSuffix(reqs[1].SignedMessage, "\n\n") {
		t.Errorf("GET signed message should end with an empty body line: %q", reqs[1].SignedMessage)
	}
}

func TestPathParametersAreEscapedNeverCaseFolded(t *testing.T) {
	t.Parallel()
	srv := wxtest.NewServer(wxtest.SharedKeys())
	defer srv.Close()
	c := newTestClient(t, srv)
	cases := []struct {
		name, path, openid string
		query              [][2]string
		wantTarget         string
	}{
		{"upper case kept", "v3/businesscircle/user-authorizations/{openid}", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
			[][2]string{{"appid", "wxd678efh567hg6787"}},
			"/v3/businesscircle/user-authorizations/oUpF8uMuAJO_M2pxb1Q9zNjWeS6o?appid=wxd678efh567hg6787"},
		{"reserved characters escaped", "v3/businesscircle/users/{openid}/points/commit_status", "a/b?c#d %e",
			[][2]string{{"sub_mchid", "1900000109"}, {"brandid", "1000"}, {"appid", "wx931386123456789e"}},
			"/v3/businesscircle/users/a%2Fb%3Fc%23d%20%25e/points/commit_status?sub_mchid=1900000109&brandid=1000&appid=wx931386123456789e"},
		{"sub-delimiters stay as sent", "v3/businesscircle/user-authorizations/{openid}", "Ab+c=d&e:f@g",
			[][2]string{{"appid", "a b&c"}},
			"/v3/businesscircle/user-authorizations/Ab+c=d&e:f@g?appid=a+b%26c"},
		{"non-ASCII escaped", "v3/businesscircle/user-authorizations/{openid}", "粤B",
			nil, "/v3/businesscircle/user-authorizations/%E7%B2%A4B"},
	}
	for _, tc := range cases {
		opts := []RequestOption{PathParam("openid", tc.openid)}
		for _, q := range tc.query {
			opts = append(opts, Query(q[0], q[1]))
		}
		_, err := c.Chain(tc.path).Get(context.Background(), opts...)
		var apiErr *APIError
		if err != nil && !errors.As(err, &apiErr) { // the fake answers 404 for these paths
			t.Fatalf("%s: %v", tc.name, err)
		}
		reqs := srv.Requests()
		r := reqs[len(reqs)-1]
		if r.RequestTarget != tc.wantTarget {
			t.Errorf("%s: sent %s\nwant %s", tc.name, r.RequestTarget, tc.wantTarget)
		}
		if r.AuthErr != nil {
			t.Errorf("%s: server rejected the signature over %s: %v", tc.name, r.RequestTarget, r.AuthErr)
		}
	}
}

func TestLiteralSegmentsAndChainingKeepThePath(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, wxtest.NewServer(wxtest.SharedKeys()))
	for _, tc := range []struct {
		chain *Chain
		want  string
	}{
		{c.Chain("v3/businesscircle/users/{openid}/points/commit_status"), "v3/businesscircle/users/{openid}/points/commit_status"},
		{c.Chain("/v3/").Chain("businesscircle").Chain("/points/notify/"), "v3/businesscircle/points/notify"},
		{c.Chain("").Chain("v3/certificates"), "v3/certificates"},
	} {
		if got := tc.chain.Path(); got != tc.want {
			t.Errorf("Path() = %q, want %q", got, tc.want)
		}
	}
}

func TestBadPathParametersFailBeforeSending(t *testing.T) {
	t.Parallel()
	srv := wxtest.NewServer(wxtest.SharedKeys())
	defer srv.Close()
	c := newTestClient(t, srv)
	for _, tc := range []struct {
		name, path string
		opts       []RequestOption
		want       string
	}{
		{"missing", "v3/x/{openid}", nil, `no PathParam("openid"`},
		{"unused", "v3/x", []RequestOption{PathParam("openid", "o")}, `has no {openid}`},
		{"empty value", "v3/x/{openid}", []RequestOption{PathParam("openid", "")}, "not a usable path segment"},
		{"dot-dot", "v3/x/{openid}", []RequestOption{PathParam("openid", "..")}, "not a usable path segment"},
		{"unclosed brace", "v3/x/{openid", nil, "unclosed"},
		{"empty segment", "v3//x", nil, "empty segment"},
		{"invalid raw JSON", "v3/x", []RequestOption{RawJSON([]byte("{"))}, "not valid JSON"},
		{"unencodable JSON", "v3/x", []RequestOption{JSON(func() {})}, "encode JSON body"},
	} {
		_, err := c.Chain(tc.path).Post(context.Background(), tc.opts...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to say %q", tc.name, err, tc.want)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent for invalid calls", n)
	}
}

func TestAnswerVerificationFailsClosed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		fault wxtest.Fault
		want  error
	}{
		{wxtest.FaultBadSignature, ErrBadSignature},
		{wxtest.FaultTamperedBody, ErrBadSignature},
		{wxtest.FaultUnknownSerial, ErrUnknownSerial},
		{wxtest.FaultStaleTimestamp, ErrClockSkew},
		{wxtest.FaultProbe, ErrProbeSignature},
		{wxtest.FaultNoSignature, ErrMissingHeader},
	}
	for _, tc := range cases {
		t.Run(tc.fault.String(), func(t *testing.T) {
			t.Parallel()
			srv := wxtest.NewServer(wxtest.SharedKeys(), wxtest.WithFault(tc.fault))
			defer srv.Close()
			c := newTestClient(t, srv)
			for _, call := range []func() (*Response, error){
				func() (*Response, error) {
					return c.Chain("v3/businesscircle/points/notify").Post(context.Background(), JSON(pointsBody))
				},
				func() (*Response, error) { return c.Chain("v3/certificates").Get(context.Background()) },
			} {
				resp, err := call()
				if resp != nil || !errors.Is(err, tc.want) {
					t.Fatalf("got %v, %v; want nil, %v", resp, err, tc.want)
				}
				var ve *VerificationError
				if !errors.As(err, &ve) || ve.StatusCode < 200 || ve.StatusCode > 299 || ve.RequestID == "" {
					t.Fatalf("err %#v lacks status or Request-ID", err)
				}
			}
			if n := len(srv.Requests()); n != 2 {
				t.Errorf("a verification failure was retried: %d requests", n)
			}
		})
	}
}

func TestSkippingVerificationNeedsTheLoudOption(t *testing.T) {
	t.Parallel()
	srv := wxtest.NewServer(wxtest.SharedKeys(), wxtest.WithFault(wxtest.FaultBadSignature))
	defer srv.Close()
	c := newTestClient(t, srv, WithInsecureSkipResponseVerification())
	resp, err := c.Chain("v3/businesscircle/points/notify").Post(context.Background(), JSON(pointsBody))
	if err != nil || resp.StatusCode != 204 || resp.Serial != "" {
		t.Fatalf("got %v, %v", resp, err)
	}
}

func TestNon2xxIsAnAPIError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        APIError
		wantError   string
	}{
		{"JSON error with detail", 400, "application/json",
			`{"code":"PARAM_ERROR","message":"参数错误","detail":{"field":"/amount/currency","location":"body"}}`,
			APIError{StatusCode: 400, Code: "PARAM_ERROR", Message: "参数错误", Detail: json.RawMessage(`{"field":"/amount/currency","location":"body"}`)},
			"wxpay: HTTP 400 PARAM_ERROR: 参数错误 [field /amount/currency, location body] (Request-ID rid-1)"},
		{"the detail behind a misleading message", 400, "application/json",
			`{"code":"PARAM_ERROR","message":"参数校验错误，请检查商圈商户号、微信支付订单号等参数","detail":{"field":"/points_update_time","location":"body","value":"2024-01-06 14:06:00","issue":"not RFC 3339"}}`,
			APIError{StatusCode: 400, Code: "PARAM_ERROR", Message: "参数校验错误，请检查商圈商户号、微信支付订单号等参数",
				Detail: json.RawMessage(`{"field":"/points_update_time","location":"body","value":"2024-01-06 14:06:00","issue":"not RFC 3339"}`)},
			"wxpay: HTTP 400 PARAM_ERROR: 参数校验错误，请检查商圈商户号、微信支付订单号等参数 [field /points_update_time, location body, issue not RFC 3339] (Request-ID rid-1)"},
		{"SIGN_ERROR's nested issue", 401, "application/json",
			`{"code":"SIGN_ERROR","message":"错误的签名，验签失败","detail":{"field":"signature","location":"authorization","detail":{"issue":"sign not match"}}}`,
			APIError{StatusCode: 401, Code: "SIGN_ERROR", Message: "错误的签名，验签失败",
				Detail: json.RawMessage(`{"field":"signature","location":"authorization","detail":{"issue":"sign not match"}}`)},
			"wxpay: HTTP 401 SIGN_ERROR: 错误的签名，验签失败 [field signature, location authorization, issue sign not match] (Request-ID rid-1)"},
		{"unsigned 401", 401, "application/json", `{"code":"SIGN_ERROR","message":"错误的签名，验签失败"}`,
			APIError{StatusCode: 401, Code: "SIGN_ERROR", Message: "错误的签名，验签失败"},
			"wxpay: HTTP 401 SIGN_ERROR: 错误的签名，验签失败 (Request-ID rid-1)"},
		{"HTML from a proxy", 404, "text/html", "<html>\n<body>not found</body>\n</html>",
			APIError{StatusCode: 404}, "wxpay: HTTP 404: <html> <body>not found</body> </html> (Request-ID rid-1)"},
		{"empty body", 403, "", "", APIError{StatusCode: 403}, "wxpay: HTTP 403 (Request-ID rid-1)"},
		{"redirect is not followed", 302, "", "", APIError{StatusCode: 302}, "wxpay: HTTP 302 (Request-ID rid-1)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Request-ID", "rid-1")
				if tc.status == 302 {
					w.Header().Set("Location", "/elsewhere")
				}
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := newTestClient(t, &wxtest.Server{URL: srv.URL}, WithoutRetries())
			_, err := c.Chain("v3/businesscircle/points/notify").Post(context.Background(), JSON(pointsBody))
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if apiErr.StatusCode != tc.want.StatusCode || apiErr.Code != tc.want.Code || apiErr.Message != tc.want.Message ||
				string(apiErr.Detail) != string(tc.want.Detail) || apiErr.RequestID != "rid-1" || string(apiErr.Body) != tc.body {
				t.Errorf("got %+v", apiErr)
			}
			if err.Error() != tc.wantError {
				t.Errorf("Error() = %q\n want %q", err.Error(), tc.wantError)
			}
		})
	}
}

// TestAPIErrorTextIsBoundedAndPrintable: what the server says reaches a
// terminal or a log only bounded and without control characters; the whole
// body stays in the error's fields.
func TestAPIErrorTextIsBoundedAndPrintable(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("\x1b[2J\x1b]0;pwned\x07", 200000) // 4 MiB of terminal escapes
	for _, body := range []string{
		`{"code":"SYSTEM_ERROR","message":"` + strings.ReplaceAll(huge, "\x1b", `\u001b`) + `"}`,
		huge,
		`{"code":"` + strings.Repeat("X\u001b", 10000) + `","message":"m","detail":{"field":"` + strings.Repeat("f\u202e", 10000) + `"}}`,
	} {
		e := newAPIError(500, strings.Repeat("r\n", 10000), []byte(body))
		msg := e.Error()
		if len(msg) > 2048 {
			t.Errorf("Error() is %d bytes", len(msg))
		}
		if strings.ContainsAny(msg, "\x1b\x07\r\n\u202e") {
			t.Errorf("Error() carries control characters: %.80q", msg)
		}
		if string(e.Body) != body {
			t.Error("the body was not kept whole")
		}
	}
}

func TestAnswerBodyIsBounded(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", "2048")
		}
		w.WriteHeader(500)
		w.Write(make([]byte, 2048))
	}))
	defer srv.Close()
	c := newTestClient(t, &wxtest.Server{URL: srv.URL}, WithMaxResponseBytes(1024))
	for _, q := range []string{"", "1"} {
		_, err := c.Chain("v3/x").Get(context.Background(), Query("chunked", q))
		if !errors.Is(err, ErrResponseTooLarge) {
			t.Errorf("chunked=%q: err = %v, want ErrResponseTooLarge", q, err)
		}
	}
}

func TestNewClientValidates(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	merchant := WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey)
	pub := WithWechatPayPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey)
	cases := []struct {
		name string
		opts []Option
		want string
	}{
		{"no merchant", []Option{pub}, "no merchant credentials"},
		{"no verification key", []Option{merchant}, "no key to verify"},
		{"empty mchid", []Option{WithMerchant("", "S", k.MerchantKey), pub}, "mchid is empty"},
		{"nil key", []Option{WithMerchant("1", "S", nil), pub}, "private key is nil"},
		{"quote in serial", []Option{WithMerchant("1", `S"`, k.MerchantKey), pub}, "quotes"},
		{"line break in mchid", []Option{WithMerchant("1\n", "S", k.MerchantKey), pub}, "printable ASCII"},
		{"NUL in serial", []Option{WithMerchant("1", "S\x00", k.MerchantKey), pub}, "printable ASCII"},
		{"space in serial", []Option{WithMerchant("1", "S 1", k.MerchantKey), pub}, "printable ASCII"},
		{"line break in the public key id", []Option{merchant, WithWechatPayPublicKey("PUB_KEY_ID_1\r\nX: y", &k.WechatPayKey.PublicKey)}, "cannot carry"},
		{"bad public key id", []Option{merchant, WithWechatPayPublicKey("123", &k.WechatPayKey.PublicKey)}, "PUB_KEY_ID_"},
		{"short APIv3 key", []Option{merchant, WithAPIv3Key("short")}, "APIv3 key has 5 bytes"},
		{"http to a remote host", []Option{merchant, pub, WithBaseURL("http://api.mch.weixin.qq.com/")}, "plain http"},
		{"relative base URL", []Option{merchant, pub, WithBaseURL("/v3")}, "absolute"},
		{"base URL with query", []Option{merchant, pub, WithBaseURL("https://h/?a=b")}, "query"},
		{"negative retries", []Option{merchant, pub, WithRetryPolicy(RetryPolicy{MaxRetries: -1})}, "negative"},
	}
	for _, tc := range cases {
		_, err := NewClient(tc.opts...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	for _, ok := range [][]Option{
		{merchant, pub},
		{merchant, WithAPIv3Key("0123456789abcdef0123456789abcdef")},
		{merchant, WithInsecureSkipResponseVerification()},
		{merchant, pub, WithBaseURL("http://[::1]:8090/sandbox/")},
	} {
		if _, err := NewClient(ok...); err != nil {
			t.Errorf("NewClient: %v", err)
		}
	}
}

func TestBaseURLPathPrefixIsKept(t *testing.T) {
	t.Parallel()
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.RequestURI
		w.WriteHeader(404)
	}))
	defer srv.Close()
	c := newTestClient(t, &wxtest.Server{URL: srv.URL + "/prefix/"})
	c.Chain("v3/certificates?algorithm_type=RSA").Get(context.Background(), Query("x", "1"))
	if got != "/prefix/v3/certificates?algorithm_type=RSA&x=1" {
		t.Errorf("request-target %q", got)
	}
}

// TestVerifierIsACopy: what Client.Verifier hands out cannot change the
// client, and sharing it is not a data race.
func TestVerifierIsACopy(t *testing.T) {
	t.Parallel()
	m := &memTransport{}
	c := newMemClient(t, m)
	v := c.Verifier()
	v.Now = func() time.Time { return time.Unix(0, 0) } // would fail every answer as clock skew
	v.MaxClockSkew = time.Nanosecond
	if _, err := c.Chain("v3/businesscircle/points/notify").Post(context.Background(), JSON(pointsBody)); err != nil {
		t.Fatalf("the client's verification changed with its copy: %v", err)
	}
	if c.Verifier().Keys != c.KeyRing() {
		t.Fatal("the copy does not share the client's key ring")
	}
}

// TestResponseBodyReadsTheVerifiedBytes: the embedded *http.Response's Body
// reads the bytes whose signature was checked, and nothing for a 204.
func TestResponseBodyReadsTheVerifiedBytes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		status int
		answer string
	}{
		{"a JSON answer", 200, `{"openid":"o1","authorize_state":"AUTHORIZED"}`},
		{"an empty 204", 204, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := &memTransport{answers: []memAnswer{{status: c.status, body: c.answer, signed: true}}}
			cl := newMemClient(t, m)
			resp, err := cl.Chain("v3/businesscircle/user-authorizations/o1").Get(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Response.Body)
			if err != nil || string(got) != c.answer || string(resp.Body) != c.answer || resp.Body == nil {
				t.Fatalf("resp.Response.Body read %q, %v; resp.Body %q", got, err, resp.Body)
			}
			if err := resp.Response.Body.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// FuzzAPIError: whatever body the server sends, Error() is one bounded line
// without control characters.
func FuzzAPIError(f *testing.F) {
	f.Add(`{"code":"PARAM_ERROR","message":"参数错误","detail":{"field":"/points_update_time","location":"body","issue":"x"}}`, "rid")
	f.Add(`{"code":"SIGN_ERROR","detail":{"detail":{"issue":"sign not match"}}}`, "")
	f.Add("<html>\x1b[2J</html>", "r\nid")
	f.Add(`{"detail":"not an object"}`, "")
	f.Fuzz(func(t *testing.T, body, requestID string) {
		msg := newAPIError(500, requestID, []byte(body)).Error()
		if len(msg) > 4096 {
			t.Fatalf("Error() is %d bytes", len(msg))
		}
		for _, r := range msg {
			if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u202e' {
				t.Fatalf("Error() carries %U: %q", r, msg)
			}
		}
	})
}

func TestConcurrentCallsReuseTheirConnectionsByDefault(t *testing.T) {
	t.Parallel()
	srv := wxtest.NewServer(wxtest.SharedKeys())
	defer srv.Close()
	// The server holds each call until all of a burst's calls have arrived,
	// so every burst has exactly `concurrent` calls in flight at once.
	const concurrent, bursts = 16, 6
	var (
		mu      sync.Mutex
		arrived int
		gate    = make(chan struct{})
	)
	srv.Handle(http.MethodPost, "/v3/businesscircle/points/notify", func(*wxtest.Request) (int, []byte) {
		mu.Lock()
		g := gate
		if arrived++; arrived == concurrent {
			close(gate)
			gate, arrived = make(chan struct{}), 0
		}
		mu.Unlock()
		select {
		case <-g:
		case <-time.After(10 * time.Second):
		}
		return http.StatusNoContent, nil
	})
	c := newTestClient(t, srv)
	for range bursts {
		var wg sync.WaitGroup
		for range concurrent {
			wg.Go(func() {
				if _, err := c.Chain("v3/businesscircle/points/notify").Post(context.Background(), JSON(pointsBody)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	// Keeping two idle connections, as net/http's default transport does,
	// opens concurrent-2 new ones every burst after the first: 86 here.
	if opened := srv.Connections(); opened >= 2*concurrent {
		t.Errorf("%d bursts of %d concurrent calls opened %d connections; the first burst's should have been kept and reused", bursts, concurrent, opened)
	}
}

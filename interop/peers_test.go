package interop

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-pay/gopay"
	gopaywechat "github.com/go-pay/gopay/wechat/v3"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/downloader"
	wxnotify "github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// outcome is what a peer made of one answer or notification.
type outcome struct {
	Accepted bool
	// Check names the check that refused it, in the same words for every
	// peer: signature, timestamp, serial, headers, status (a non-2xx
	// answer), decrypt, no key (gopay holding no key at all), or error
	// (anything else).
	Check  string
	Detail string         // the peer's own error text
	Data   map[string]any // the answer's JSON; for a notification event_type and resource
}

func (o outcome) String() string {
	if o.Accepted {
		return "accepted"
	}
	return "rejected (" + o.Check + ")"
}

// peerClient is one peer client, set up in one key mode against one env.
// now pins the peer's clock to a Unix time where the peer lets us (the
// Node.js peer); 0 is the real clock.
type peerClient interface {
	pointsSync(t *testing.T, body map[string]any, now int64) outcome
	authorization(t *testing.T, openid, appid string, now int64) outcome
	parking(t *testing.T, body map[string]any, now int64) outcome
	// parseNotification runs the peer's notification code on a request the
	// sandbox sent; it runs on the receiver's goroutine.
	parseNotification(r *http.Request, body []byte) outcome
}

// column is a peer in one key mode: a column of the README's table.
type column struct {
	id          string // stable name: peer/mode
	peer, mode  string // as printed in the README
	sandboxMode sandbox.KeyMode
	// connect sets the peer up against e; it may call e (a certificate download).
	connect func(t *testing.T, e *env) peerClient
}

var columns = []column{
	{"axios/pubkey", "wechatpay-axios-plugin 0.9.6", "public key", sandbox.PublicKeyMode,
		func(t *testing.T, e *env) peerClient {
			return newAxios(t, e, testKeys.PublicKeyID+"="+keyFile(sandbox.FilePublicKey))
		}},
	{"axios/platform", "wechatpay-axios-plugin 0.9.6", "platform certificate", sandbox.PlatformCertificateMode,
		func(t *testing.T, e *env) peerClient {
			return newAxios(t, e, testKeys.PlatformSerial+"="+keyFile(sandbox.FilePlatformCert))
		}},
	{"wechatpay-go/pubkey", "wechatpay-go v0.2.21", "public key", sandbox.PublicKeyMode,
		func(t *testing.T, e *env) peerClient { return newWechatpayGo(t, e, "pubkey") }},
	{"wechatpay-go/platform", "wechatpay-go v0.2.21", "platform certificate", sandbox.PlatformCertificateMode,
		func(t *testing.T, e *env) peerClient { return newWechatpayGo(t, e, "platform") }},
	{"wechatpay-go/auto", "wechatpay-go v0.2.21", "automatic download", sandbox.PlatformCertificateMode,
		func(t *testing.T, e *env) peerClient { return newWechatpayGo(t, e, "auto") }},
	{"gopay/pubkey", "gopay v1.5.109", "public key", sandbox.PublicKeyMode,
		func(t *testing.T, e *env) peerClient { return newGopay(t, e, "pubkey") }},
	{"gopay/platform", "gopay v1.5.109", "platform certificate", sandbox.PlatformCertificateMode,
		func(t *testing.T, e *env) peerClient { return newGopay(t, e, "platform") }},
	{"gopay/auto", "gopay v1.5.109", "`AutoVerifySign()`", sandbox.PlatformCertificateMode,
		func(t *testing.T, e *env) peerClient { return newGopay(t, e, "auto") }},
	{"gopay/off", "gopay v1.5.109", "verification off (default)", sandbox.PublicKeyMode,
		func(t *testing.T, e *env) peerClient { return newGopay(t, e, "off") }},
}

// ---- wechatpay-axios-plugin, through node/peer.js ----

type axiosClient struct {
	n      *node
	e      *env
	certs  []string // SERIAL=FILE, the plugin's `certs`
	tmpDir string
}

func newAxios(t *testing.T, e *env, certs ...string) peerClient {
	a := &axiosClient{n: requireNode(t), e: e, certs: certs, tmpDir: t.TempDir()}
	e.setReceiver(a.parseNotification)
	return a
}

func (a *axiosClient) flags(now int64) map[string]any {
	f := map[string]any{
		"base-url":    a.e.URL + "/",
		"mchid":       testKeys.MchID,
		"serial":      testKeys.MerchantSerial,
		"private-key": keyFile(sandbox.FileMerchantKey),
		"cert":        a.certs,
	}
	if now != 0 {
		f["now"] = strconv.FormatInt(now, 10)
	}
	return f
}

// axiosResult is what peer.js prints for a call or a notification.
type axiosResult struct {
	OK        bool           `json:"ok"`
	Status    int            `json:"status"`
	Data      map[string]any `json:"data"`
	EventType string         `json:"event_type"`
	Resource  map[string]any `json:"resource"`
	Error     struct {
		Name    string          `json:"name"`
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Status  int             `json:"status"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

func (r axiosResult) outcome() outcome {
	if r.OK {
		return outcome{Accepted: true, Data: r.Data}
	}
	o := outcome{Detail: r.Error.Code + ": " + r.Error.Message}
	if len(r.Error.Data) > 0 && string(r.Error.Data) != "null" {
		o.Detail += " " + string(r.Error.Data)
	}
	switch r.Error.Code {
	case "EV3_RES_HEADER_SIGNATURE_DIGEST":
		o.Check = "signature"
	case "EV3_RES_HEADER_PLATFORM_SERIAL":
		o.Check = "serial"
	case "EV3_RES_HEADER_TIMESTAMP_OFFSET":
		o.Check = "timestamp"
	case "EV3_RES_HEADERS_INCOMPLATE":
		o.Check = "headers"
	case "ERR_BAD_REQUEST", "ERR_BAD_RESPONSE":
		o.Check = "status"
	case "DECRYPT", "ERR_CRYPTO_INVALID_AUTH_TAG":
		o.Check = "decrypt"
	default:
		o.Check = "error"
	}
	return o
}

func (a *axiosClient) call(t *testing.T, step string, extra map[string]any, now int64) outcome {
	f := a.flags(now)
	for k, v := range extra {
		f[k] = v
	}
	var r axiosResult
	a.n.step(t, step, f, &r)
	return r.outcome()
}

func (a *axiosClient) pointsSync(t *testing.T, body map[string]any, now int64) outcome {
	return a.call(t, "points", map[string]any{"data": string(mustJSON(body))}, now)
}

func (a *axiosClient) authorization(t *testing.T, openid, appid string, now int64) outcome {
	return a.call(t, "authorization", map[string]any{"openid": openid, "appid": appid}, now)
}

func (a *axiosClient) parking(t *testing.T, body map[string]any, now int64) outcome {
	return a.call(t, "parking", map[string]any{"data": string(mustJSON(body))}, now)
}

// parseNotification hands the notification to node: the plugin's answer
// verifier, then Aes.AesGcm.decrypt (the plugin has no notification handler).
func (a *axiosClient) parseNotification(r *http.Request, body []byte) outcome {
	headers := map[string]string{}
	for k := range r.Header {
		headers[k] = r.Header.Get(k)
	}
	f, err := os.CreateTemp(a.tmpDir, "notification-*.json")
	if err != nil {
		return outcome{Check: "error", Detail: err.Error()}
	}
	_, err = f.Write(mustJSON(map[string]any{"headers": headers, "body": string(body)}))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return outcome{Check: "error", Detail: err.Error()}
	}
	var res axiosResult
	if err := a.n.call("notification", map[string]any{
		"in": f.Name(), "apiv3-key": testKeys.APIv3Key, "cert": a.certs,
	}, &res); err != nil {
		return outcome{Check: "error", Detail: err.Error()}
	}
	o := res.outcome()
	if o.Accepted {
		o.Data = map[string]any{"event_type": res.EventType, "resource": res.Resource}
	}
	return o
}

// ---- wechatpay-go ----

type wechatpayGoClient struct {
	c       *core.Client
	url     string
	handler *wxnotify.Handler
}

// newWechatpayGo sets wechatpay-go up in one of its verification modes
// (docs/protocol.md §11): public key, a platform certificate list, or the automatic download through its
// CertificateDownloaderMgr (its requests go to WeChat Pay's host, so a
// RoundTripper sends them to the sandbox).
func newWechatpayGo(t *testing.T, e *env, mode string) peerClient {
	ctx := context.Background()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: rewriteHost{target: e.URL}}
	k := testKeys
	var (
		authOpt  core.ClientOption
		verifier auth.Verifier
	)
	switch mode {
	case "pubkey":
		authOpt = option.WithWechatPayPublicKeyAuthCipher(k.MchID, k.MerchantSerial, k.MerchantKey, k.PublicKeyID, &k.WechatPayKey.PublicKey)
		verifier = verifiers.NewSHA256WithRSAPubkeyVerifier(k.PublicKeyID, k.WechatPayKey.PublicKey)
	case "platform":
		certs := []*x509.Certificate{k.PlatformCert}
		authOpt = option.WithWechatPayAuthCipher(k.MchID, k.MerchantSerial, k.MerchantKey, certs)
		verifier = verifiers.NewSHA256WithRSAVerifier(core.NewCertificateMapWithList(certs))
	case "auto":
		dl, err := core.NewClient(ctx,
			option.WithMerchantCredential(k.MchID, k.MerchantSerial, k.MerchantKey),
			option.WithoutValidator(), option.WithHTTPClient(hc))
		if err != nil {
			t.Fatal(err)
		}
		mgr := downloader.NewCertificateDownloaderMgr(ctx)
		t.Cleanup(mgr.Stop)
		if err := mgr.RegisterDownloaderWithClient(ctx, dl, k.MchID, k.APIv3Key); err != nil {
			t.Fatalf("wechatpay-go certificate download from the sandbox: %v", err)
		}
		authOpt = option.WithWechatPayAutoAuthCipherUsingDownloaderMgr(k.MchID, k.MerchantSerial, k.MerchantKey, mgr)
		verifier = verifiers.NewSHA256WithRSAVerifier(mgr.GetCertificateVisitor(k.MchID))
	default:
		t.Fatalf("wechatpay-go mode %q", mode)
	}
	c, err := core.NewClient(ctx, authOpt, option.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	h, err := wxnotify.NewRSANotifyHandler(k.APIv3Key, verifier)
	if err != nil {
		t.Fatal(err)
	}
	w := &wechatpayGoClient{c: c, url: e.URL, handler: h}
	e.setReceiver(w.parseNotification)
	return w
}

// rewriteHost sends requests for WeChat Pay's host to the sandbox; only the
// path and query are signed, so signatures are unaffected.
type rewriteHost struct{ target string }

func (rw rewriteHost) RoundTrip(r *http.Request) (*http.Response, error) {
	u, err := url.Parse(rw.target)
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = u.Scheme, u.Host, u.Host
	return http.DefaultTransport.RoundTrip(r)
}

func classifyWechatpayGo(err error) outcome {
	// ParseNotifyRequest appends a dump of the whole request; keep the reason.
	detail, _, _ := strings.Cut(err.Error(), ", request: &{")
	o := outcome{Detail: detail}
	var apiErr *core.APIError
	msg := err.Error()
	switch {
	case errors.As(err, &apiErr):
		o.Check = "status"
	case strings.Contains(msg, "expires"):
		o.Check = "timestamp"
	case strings.Contains(msg, "does not match serial number"), strings.Contains(msg, "not found in verifier"):
		o.Check = "serial"
	case strings.Contains(msg, "is empty in header"):
		o.Check = "headers"
	case strings.Contains(msg, "verify signature"), strings.Contains(msg, "base64 encoded"):
		o.Check = "signature"
	case strings.Contains(msg, "decrypt error"):
		o.Check = "decrypt"
	default:
		o.Check = "error"
	}
	return o
}

func (w *wechatpayGoClient) result(res *core.APIResult, err error) outcome {
	if err != nil {
		return classifyWechatpayGo(err)
	}
	defer res.Response.Body.Close()
	b, err := io.ReadAll(res.Response.Body)
	if err != nil {
		return outcome{Check: "error", Detail: err.Error()}
	}
	o := outcome{Accepted: true}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &o.Data); err != nil {
			return outcome{Check: "error", Detail: err.Error()}
		}
	}
	return o
}

func (w *wechatpayGoClient) pointsSync(t *testing.T, body map[string]any, _ int64) outcome {
	return w.result(w.c.Post(context.Background(), w.url+"/v3/businesscircle/points/notify", body))
}

func (w *wechatpayGoClient) authorization(t *testing.T, openid, appid string, _ int64) outcome {
	u := w.url + "/v3/businesscircle/user-authorizations/" + url.PathEscape(openid) + "?appid=" + url.QueryEscape(appid)
	return w.result(w.c.Get(context.Background(), u))
}

func (w *wechatpayGoClient) parking(t *testing.T, body map[string]any, _ int64) outcome {
	return w.result(w.c.Post(context.Background(), w.url+"/v3/businesscircle/parkings", body))
}

// parseNotification is wechatpay-go's own notification code: verify, then decrypt.
func (w *wechatpayGoClient) parseNotification(r *http.Request, _ []byte) outcome {
	var content map[string]any
	req, err := w.handler.ParseNotifyRequest(context.Background(), r, &content)
	if err != nil {
		return classifyWechatpayGo(err)
	}
	return outcome{Accepted: true, Data: map[string]any{"event_type": req.EventType, "resource": content}}
}

// ---- gopay ----

type gopayClient struct {
	c *gopaywechat.ClientV3
}

// newGopay sets gopay up: NewClientV3 and SetProxyHost, then in public-key
// or platform mode AutoVerifySignByCert with the key's PEM and id, in auto
// mode AutoVerifySign() (a GET /v3/certificates), and in off mode nothing:
// gopay does not verify answers unless told to.
func newGopay(t *testing.T, e *env, mode string) peerClient {
	k := testKeys
	c, err := gopaywechat.NewClientV3(k.MchID, k.MerchantSerial, k.APIv3Key, string(readKeyFile(t, sandbox.FileMerchantKey)))
	if err != nil {
		t.Fatal(err)
	}
	c.SetLogger(quietLogger{})
	c.SetProxyHost(e.URL)
	switch mode {
	case "pubkey":
		err = c.AutoVerifySignByCert(readKeyFile(t, sandbox.FilePublicKey), k.PublicKeyID)
	case "platform":
		err = c.AutoVerifySignByCert(readKeyFile(t, sandbox.FilePlatformCert), k.PlatformSerial)
	case "auto":
		// Also starts a goroutine that refreshes every 12 hours and cannot be stopped.
		err = c.AutoVerifySign()
	case "off":
	default:
		t.Fatalf("gopay mode %q", mode)
	}
	if err != nil {
		t.Fatalf("gopay %s: %v", mode, err)
	}
	g := &gopayClient{c: c}
	e.setReceiver(g.parseNotification)
	return g
}

// quietLogger drops gopay's log lines (it logs to stdout by default).
type quietLogger struct{}

func (quietLogger) Debug(...any)          {}
func (quietLogger) Info(...any)           {}
func (quietLogger) Warn(...any)           {}
func (quietLogger) Error(...any)          {}
func (quietLogger) Debugf(string, ...any) {}
func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}

func classifyGopay(err error) outcome {
	o := outcome{Detail: err.Error()}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "wxPublicKey is nil"):
		// VerifySignByPKMap has no key at all for Wechatpay-Serial.
		o.Check = "no key"
	case errors.Is(err, gopay.VerifySignatureErr):
		o.Check = "signature"
	case strings.Contains(msg, "public key not found"), strings.Contains(msg, "get all public key err"):
		o.Check = "serial"
	case strings.Contains(msg, "decrypt"):
		o.Check = "decrypt"
	default:
		o.Check = "error"
	}
	return o
}

// result reads gopay's convention: err for verification failures, Code 0
// for success, Code = the HTTP status (and err == nil) for anything else.
func gopayResult(code int, errText string, err error, data any) outcome {
	if err != nil {
		return classifyGopay(err)
	}
	if code != gopaywechat.Success {
		return outcome{Check: "status", Detail: fmt.Sprintf("Code %d: %s", code, errText)}
	}
	o := outcome{Accepted: true}
	if data != nil {
		b, _ := json.Marshal(data)
		json.Unmarshal(b, &o.Data)
	}
	return o
}

func (g *gopayClient) pointsSync(t *testing.T, body map[string]any, _ int64) outcome {
	rsp, err := g.c.V3BusinessPointsSync(context.Background(), gopay.BodyMap(body))
	if err != nil {
		return gopayResult(0, "", err, nil)
	}
	return gopayResult(rsp.Code, rsp.Error, nil, nil)
}

func (g *gopayClient) authorization(t *testing.T, openid, appid string, _ int64) outcome {
	rsp, err := g.c.V3BusinessAuthPointsQuery(context.Background(), openid, gopay.BodyMap{"appid": appid})
	if err != nil {
		return gopayResult(0, "", err, nil)
	}
	return gopayResult(rsp.Code, rsp.Error, nil, rsp.Response)
}

func (g *gopayClient) parking(t *testing.T, body map[string]any, _ int64) outcome {
	rsp, err := g.c.V3BusinessParkingSync(context.Background(), gopay.BodyMap(body))
	if err != nil {
		return gopayResult(0, "", err, nil)
	}
	return gopayResult(rsp.Code, rsp.Error, nil, nil)
}

// mallResource holds the fields of the three business-circle notifications
// (gopay decrypts into a struct).
type mallResource struct {
	MchID         string `json:"mchid,omitempty"`
	OpenID        string `json:"openid,omitempty"`
	AppID         string `json:"appid,omitempty"`
	Code          string `json:"code,omitempty"`
	AuthType      string `json:"auth_type,omitempty"`
	MerchantName  string `json:"merchant_name,omitempty"`
	ShopName      string `json:"shop_name,omitempty"`
	ShopNumber    string `json:"shop_number,omitempty"`
	TimeEnd       string `json:"time_end,omitempty"`
	Amount        int64  `json:"amount,omitempty"`
	TransactionID string `json:"transaction_id,omitempty"`
	RefundID      string `json:"refund_id,omitempty"`
	RefundAmount  int64  `json:"refund_amount,omitempty"`
	PayAmount     int64  `json:"pay_amount,omitempty"`
	RefundTime    string `json:"refund_time,omitempty"`
}

// parseNotification is gopay's notification code: V3ParseNotify,
// VerifySignByPKMap with the keys the client holds, DecryptCipherTextToStruct.
// gopay checks no timestamp here either.
func (g *gopayClient) parseNotification(r *http.Request, _ []byte) outcome {
	n, err := gopaywechat.V3ParseNotify(r)
	if err != nil {
		return outcome{Check: "error", Detail: err.Error()}
	}
	if err := n.VerifySignByPKMap(g.c.WxPublicKeyMap()); err != nil {
		return classifyGopay(err)
	}
	var res mallResource
	if err := n.DecryptCipherTextToStruct(string(g.c.ApiV3Key), &res); err != nil {
		return outcome{Check: "decrypt", Detail: err.Error()}
	}
	var m map[string]any
	b, _ := json.Marshal(res)
	json.Unmarshal(b, &m)
	return outcome{Accepted: true, Data: map[string]any{"event_type": n.EventType, "resource": m}}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

package sandbox_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// Every check of the pipeline rejects with WeChat Pay's status, code and
// message, in the order of docs/protocol.md §9.2, and no rejection is signed unless it is
// a success.
func TestPipelineRejections(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	partner := newServer(t, sandbox.WithSubMerchants(subMch))
	txID := pay(t, srv.Sandbox, "", true)
	other := srv.Keys.WechatPayKey // a key that is not the merchant's

	const pointsTarget = "/v3/businesscircle/points/notify"
	tests := []struct {
		name     string
		partner  bool // sent to the service provider's sandbox
		req      raw
		status   int
		code     string
		message  string // substring
		field    string // detail.field, when checked
		location string
	}{
		{name: "missing Accept", req: raw{target: pointsTarget, body: pointsBody(txID), header: map[string]string{"Accept": ""}},
			status: 400, code: "INVALID_REQUEST", message: "Http头缺少Accept或User-Agent"},
		{name: "missing User-Agent", req: raw{target: pointsTarget, body: pointsBody(txID), header: map[string]string{"User-Agent": ""}},
			status: 400, code: "INVALID_REQUEST", message: "Http头缺少Accept或User-Agent"},
		{name: "no Authorization", req: raw{target: pointsTarget, body: pointsBody(txID), noAuth: true},
			status: 401, code: "SIGN_ERROR", message: "Http头Authorization值格式错误"},
		{name: "wrong scheme", req: raw{target: pointsTarget, body: pointsBody(txID),
			authorization: ptr(`WECHATPAY2-SHA256-RSA4096 mchid="1900000109",nonce_str="a",signature="b",timestamp="1",serial_no="c"`)},
			status: 401, code: "SIGN_ERROR", message: "Http头Authorization认证类型不正确"},
		{name: "Bearer scheme", req: raw{target: pointsTarget, body: pointsBody(txID), authorization: ptr("Bearer abc")},
			status: 401, code: "SIGN_ERROR", message: "Http头Authorization认证类型不正确"},
		{name: "malformed: a pair missing", req: raw{target: pointsTarget, body: pointsBody(txID),
			order: []string{"mchid", "nonce_str", "timestamp", "signature"}},
			status: 401, code: "SIGN_ERROR", message: "Http头Authorization值格式错误"},
		{name: "malformed: scheme only", req: raw{target: pointsTarget, body: pointsBody(txID), authorization: ptr("WECHATPAY2-SHA256-RSA2048")},
			status: 401, code: "SIGN_ERROR", message: "Http头Authorization值格式错误"},
		{name: "malformed: millisecond timestamp is still a number", req: raw{target: pointsTarget, body: pointsBody(txID), ts: fixedNow.UnixMilli()},
			status: 401, code: "SIGN_ERROR", message: "timestamp与发起请求的时间不得超过5分钟"},
		{name: "malformed: timestamp not a number", req: raw{target: pointsTarget, body: pointsBody(txID), extraPairs: map[string]string{"timestamp": "soon"}},
			status: 401, code: "SIGN_ERROR", message: "Http头Authorization值格式错误"},
		{name: "stale timestamp, 301 s", req: raw{target: pointsTarget, body: pointsBody(txID), ts: fixedNow.Unix() - 301},
			status: 401, code: "SIGN_ERROR", message: "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟"},
		{name: "future timestamp, 301 s", req: raw{target: pointsTarget, body: pointsBody(txID), ts: fixedNow.Unix() + 301},
			status: 401, code: "SIGN_ERROR", message: "不得超过5分钟"},
		{name: "unknown serial", req: raw{target: pointsTarget, body: pointsBody(txID), serial: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"},
			status: 401, code: "SIGN_ERROR", message: "商户证书序列号有误。请使用签名私钥匹配的证书序列号"},
		{name: "wrong mchid", req: raw{target: pointsTarget, body: pointsBody(txID), mchid: "1230000109"},
			status: 401, code: "SIGN_ERROR", message: "商户证书序列号有误"},
		{name: "bad signature", req: raw{target: pointsTarget, body: pointsBody(txID), key: other},
			status: 401, code: "SIGN_ERROR", message: "错误的签名，验签失败", field: "signature", location: "authorization"},
		{name: "tampered body", req: raw{target: pointsTarget, body: pointsBody(txID), signedBody: ptr(strings.Replace(pointsBody(txID), "100", "1000", 1))},
			status: 401, code: "SIGN_ERROR", message: "错误的签名，验签失败"},
		{name: "signature not Base64", req: raw{target: pointsTarget, body: pointsBody(txID), extraPairs: map[string]string{"signature": "%%%"}},
			status: 401, code: "SIGN_ERROR", message: "错误的签名，验签失败"},
		{name: "unknown route", req: raw{method: http.MethodGet, target: "/v3/businesscircle/points"},
			status: 404, code: "RESOURCE_NOT_EXISTS"},
		{name: "unknown route, case differs", req: raw{method: http.MethodGet, target: "/v3/BusinessCircle/user-authorizations/o?appid=wx"},
			status: 404, code: "RESOURCE_NOT_EXISTS"},
		{name: "empty openid segment", req: raw{method: http.MethodGet, target: "/v3/businesscircle/user-authorizations/?appid=wx"},
			status: 404, code: "RESOURCE_NOT_EXISTS"},
		{name: "wrong method", req: raw{method: http.MethodGet, target: pointsTarget},
			status: 405, code: "INVALID_REQUEST"},
		{name: "invalid JSON", req: raw{target: pointsTarget, body: `{"transaction_id":`},
			status: 400, code: "PARAM_ERROR", location: "body"},
		{name: "empty body", req: raw{target: pointsTarget},
			status: 400, code: "PARAM_ERROR", location: "body"},
		{name: "body null", req: raw{target: pointsTarget, body: `null`},
			status: 400, code: "PARAM_ERROR", location: "body"},
		{name: "body an array", req: raw{target: pointsTarget, body: `[]`},
			status: 400, code: "PARAM_ERROR", location: "body"},
		{name: "null field", req: raw{target: pointsTarget, body: strings.Replace(pointsBody(txID), `"`+openID+`"`, "null", 1)},
			status: 400, code: "PARAM_ERROR", message: "不允许为 null", field: "/openid", location: "body"},
		{name: "null optional field", req: raw{target: pointsTarget, body: strings.Replace(pointsBody(txID), "}", `,"total_points":null}`, 1)},
			status: 400, code: "PARAM_ERROR", field: "/total_points", location: "body"},
		{name: "time not RFC 3339: the misleading real message", req: raw{target: pointsTarget,
			body: strings.Replace(pointsBody(txID), "2025-05-19T12:00:00+08:00", "2024-01-06 14:06:00", 1)},
			status: 400, code: "PARAM_ERROR", message: "参数校验错误，请检查商圈商户号，微信订单号，OPENID是否为空", field: "/points_update_time", location: "body"},
		{name: "unknown transaction", req: raw{target: pointsTarget, body: pointsBody("4200000000000000000000000000")},
			status: 400, code: "PARAM_ERROR", message: "参数校验错误，请检查商圈商户号，微信订单号，OPENID是否为空"},
		{name: "openid does not match the transaction", req: raw{target: pointsTarget, body: strings.Replace(pointsBody(txID), openID, "oSomeoneElse", 1)},
			status: 400, code: "PARAM_ERROR", message: "参数校验错误，请检查商圈商户号，微信订单号，OPENID是否为空"},
		{name: "appid does not match the transaction", req: raw{target: pointsTarget, body: strings.Replace(pointsBody(txID), appID, "wxother", 1)},
			status: 400, code: "PARAM_ERROR", message: "参数校验错误"},
		{name: "merchant names another mall", req: raw{target: pointsTarget, body: strings.Replace(pointsBody(txID), "{", `{"sub_mchid":"1900000999",`, 1)},
			status: 403, code: "NO_AUTH", message: "受理关系不存在"},
		{name: "partner: sub_mchid not a sub-merchant", partner: true, req: raw{target: pointsTarget,
			body: strings.Replace(pointsBody(txID), "{", `{"sub_mchid":"1900000888",`, 1)},
			status: 403, code: "NO_AUTH", message: "受理关系不存在"},
		{name: "partner: sub_mchid missing", partner: true, req: raw{target: pointsTarget, body: pointsBody(txID)},
			status: 400, code: "PARAM_ERROR", message: "必填", field: "/sub_mchid", location: "body"},
		{name: "partner: another mall's transaction", partner: true, req: raw{target: pointsTarget,
			body: strings.Replace(pointsBody(txID), "{", `{"sub_mchid":"`+subMch+`",`, 1)},
			status: 400, code: "PARAM_ERROR", message: "参数校验错误"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := srv
			if tt.partner {
				s = partner
			}
			a := send(t, s, tt.req)
			if a.status != tt.status {
				t.Fatalf("status = %d %s, want %d", a.status, a.body, tt.status)
			}
			code, message, detail := a.apiErr(t)
			if code != tt.code || !strings.Contains(message, tt.message) {
				t.Errorf("answer = %s %q, want %s containing %q", code, message, tt.code, tt.message)
			}
			if tt.field != "" && detail["field"] != tt.field {
				t.Errorf("detail.field = %v, want %s", detail["field"], tt.field)
			}
			if tt.location != "" && detail["location"] != tt.location {
				t.Errorf("detail.location = %v, want %s", detail["location"], tt.location)
			}
			if len(a.header.Get("Request-ID")) == 0 {
				t.Error("no Request-ID")
			}
			if a.header.Get("Wechatpay-Signature") != "" {
				t.Error("an error answer is signed")
			}
		})
	}
}

// A 405 names the allowed method.
func TestPipelineMethodNotAllowed(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	a := send(t, srv, raw{method: http.MethodDelete, target: "/v3/businesscircle/parkings"})
	if a.status != 405 || a.header.Get("Allow") != "POST" {
		t.Errorf("answer = %d, Allow %q; want 405 with Allow: POST", a.status, a.header.Get("Allow"))
	}
}

// The timestamp limit is inclusive: 300 s either way passes.
func TestPipelineTimestampBoundary(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	for _, d := range []int64{-300, 300} {
		a := send(t, srv, raw{method: http.MethodGet, target: "/v3/certificates", ts: fixedNow.Unix() + d})
		if a.status != 200 && a.status != 404 {
			t.Errorf("skew %d s: status %d %s, want it accepted", d, a.status, a.body)
		}
	}
}

// A bad signature is answered with what WeChat Pay verified: method, url,
// the message length and the message itself (docs/protocol.md §2.5).
func TestPipelineSignErrorDetail(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	target := "/v3/businesscircle/user-authorizations/" + openID + "?appid=" + appID
	a := send(t, srv, raw{method: http.MethodGet, target: target, key: srv.Keys.WechatPayKey, nonce: "vDit3y4Fmv45dem0CSmKbBK4tUHRR8Dj"})
	_, _, detail := a.apiErr(t)
	info, _ := detail["sign_information"].(map[string]any)
	want := "GET\n" + target + "\n1747627200\nvDit3y4Fmv45dem0CSmKbBK4tUHRR8Dj\n\n"
	if info["method"] != "GET" || info["url"] != target || info["truncated_sign_message"] != want ||
		info["sign_message_length"] != float64(len(want)) {
		t.Errorf("sign_information = %v, want the message %q", info, want)
	}
	if inner, _ := detail["detail"].(map[string]any); inner["issue"] != "sign not match" {
		t.Errorf("detail.detail = %v", detail["detail"])
	}
}

// What the three peer clients of interop/ send is accepted: any
// pair order, spaces after commas, a body ending in a newline, HTML-escaped
// JSON, */* or a long Accept, Wechatpay-Serial empty or absent, a Request-Id
// of the client's own. The body is kept exactly as received.
func TestPipelinePeerClientShapes(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	k := srv.Keys
	body := func(id, tail string) string {
		return `{"appid":"` + appID + `","earn_points":true,"increased_points":100,` +
			`"no_points_remarks":"商品不属于积分商品 \u003c\u0026\u003e","openid":"` + openID +
			`","points_update_time":"2020-05-20T13:29:35.120+08:00","total_points":888888,"transaction_id":"` + id + `"}` + tail
	}
	tests := []struct {
		name string
		req  raw
	}{
		{"wechatpay-go: pair order, trailing newline, HTML escaping, */*", raw{order: orderWechatpayGo, header: map[string]string{
			"Accept": "*/*", "User-Agent": "WechatPay-Go/0.2.21 (linux) GO/go1.26.8", "Wechatpay-Serial": k.PublicKeyID}}},
		{"axios plugin: its pair order, long Accept, no Wechatpay-Serial", raw{order: orderAxios, header: map[string]string{
			"Accept":       "application/json, text/plain, application/x-gzip, application/pdf, image/png, image/*;q=0.5",
			"Content-Type": "application/json; charset=utf-8", "User-Agent": "wechatpay-axios-plugin/0.9.6 axios/1.21.1 node/20.20.2 linux/x64"}}},
		{"gopay: empty Wechatpay-Serial, Request-Id", raw{order: orderWechatpayGo, header: map[string]string{
			"User-Agent": "Go-http-client/1.1", "Wechatpay-Serial": "", "Request-Id": "9w2ZtujA48VVkU3KRbLv9-1795435249"}}},
		{"official example order", raw{order: orderOfficial}},
		{"spaces after commas", raw{order: orderAxios, sep: ", "}},
		{"lower-case serial_no", raw{serial: strings.ToLower(k.MerchantSerial)}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id := pay(t, srv.Sandbox, "", i == 0)
			tail := ""
			if i == 0 {
				tail = "\n"
			}
			tt.req.target = "/v3/businesscircle/points/notify"
			tt.req.body = body(id, tail)
			a := send(t, srv, tt.req)
			if a.status != http.StatusNoContent || len(a.body) != 0 {
				t.Fatalf("answer = %d %s, want 204", a.status, a.body)
			}
			verifyAnswer(t, k, a)
			p, _ := srv.Sandbox.Points(id)
			if p.SyncCount != 1 || string(p.LastSync) != tt.req.body {
				t.Errorf("sandbox kept %d syncs, last %q; want 1 and the exact body", p.SyncCount, p.LastSync)
			}
		})
	}
}

// A query is signed as sent, in the order sent, escapes included.
func TestPipelineRawRequestTarget(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	for _, target := range []string{
		"/v3/businesscircle/user-authorizations/o%2BAbC-_x?appid=" + appID,
		"/v3/businesscircle/user-authorizations/oAbC?sub_mchid=&appid=" + appID + "&extra=1",
		"/v3/businesscircle/users/oAbC/points/commit_status?appid=" + appID + "&brandid=1000",
	} {
		a := send(t, srv, raw{method: http.MethodGet, target: target})
		if a.status != 200 {
			t.Errorf("%s: %d %s", target, a.status, a.body)
			continue
		}
		verifyAnswer(t, srv.Keys, a)
	}
}

// The signature is verified over the timestamp exactly as the Authorization
// header carries it: a leading zero signed as sent verifies, and the number
// re-formatted does not.
func TestPipelineVerifiesTheTimestampAsSent(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	target := "/v3/businesscircle/user-authorizations/" + openID + "?appid=" + appID
	ts := strconv.FormatInt(fixedNow.Unix(), 10)
	if a := send(t, srv, raw{method: http.MethodGet, target: target, tsText: "0" + ts}); a.status != 200 {
		t.Errorf("timestamp 0%s signed as sent: %d %s, want 200", ts, a.status, a.body)
	}
	// Signed over the number, sent with a leading zero: the message differs.
	r := raw{method: http.MethodGet, target: target, extraPairs: map[string]string{"timestamp": "0" + ts}}
	if a := send(t, srv, r); a.status != 401 {
		t.Errorf("timestamp sent as 0%s, signed as %s: %d %s, want 401", ts, ts, a.status, a.body)
	}
}

// A request-target in absolute form (GET http://host/v3/…) is signed over
// its path and query only, as the protocol says (docs/protocol.md §2.1).
func TestPipelineAbsoluteFormTargetIsSignedOverPathAndQuery(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	target := "/v3/businesscircle/user-authorizations/" + openID + "?appid=" + appID
	a := send(t, srv, raw{method: http.MethodGet, target: target, absoluteForm: true})
	if a.status != 200 {
		t.Fatalf("absolute-form request signed over %s: %d %s, want 200", target, a.status, a.body)
	}
	verifyAnswer(t, srv.Keys, a)
}

// A body member given twice, or under another case of a documented name, is
// refused before anything happens: the sandbox acts only on what it checked.
func TestPipelineRefusesDuplicateAndCaseVariantMembers(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	id := pay(t, srv.Sandbox, "", true)
	other := pay(t, srv.Sandbox, "", true)
	points := `"appid":"` + appID + `","openid":"` + openID + `","earn_points":true,"increased_points":1,"points_update_time":"2025-05-19T12:00:00+08:00"`
	parking := `"brandid":1000,"appid":"` + appID + `","openid":"` + openID + `","plate_number":"粤B888888","time":"2025-05-19T12:00:00+08:00"`
	for _, tt := range []struct {
		name, target, body, field string
	}{
		{"case variant of openid", "/v3/businesscircle/points/notify",
			`{"transaction_id":"` + id + `",` + points + `,"OPENID":"o😀"}`, "/OPENID"},
		{"case variant of transaction_id", "/v3/businesscircle/points/notify",
			`{"transaction_id":"` + id + `",` + points + `,"TRANSACTION_ID":"` + other + `"}`, "/TRANSACTION_ID"},
		{"transaction_id twice", "/v3/businesscircle/points/notify",
			`{"transaction_id":"` + id + `",` + points + `,"transaction_id":"` + other + `"}`, "/transaction_id"},
		{"unknown member twice", "/v3/businesscircle/points/notify",
			`{"transaction_id":"` + id + `",` + points + `,"x":1,"x":2}`, "/x"},
		{"state in two cases", "/v3/businesscircle/parkings",
			`{` + parking + `,"state":"IN","STATE":"PARKED"}`, "/STATE"},
		{"escaped duplicate", "/v3/businesscircle/parkings",
			`{` + parking + `,"state":"IN","st\u0061te":"OUT"}`, "/state"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := send(t, srv, raw{target: tt.target, body: tt.body})
			code, _, detail := a.apiErr(t)
			if a.status != 400 || code != "PARAM_ERROR" || detail["field"] != tt.field {
				t.Errorf("answer %d %s, want 400 PARAM_ERROR on %s", a.status, a.body, tt.field)
			}
		})
	}
	for _, tx := range []string{id, other} {
		if p, _ := srv.Sandbox.Points(tx); p.SyncCount != 0 {
			t.Errorf("transaction %s was synced by a refused request", tx)
		}
	}
	if got := srv.Sandbox.Parkings(); len(got) != 0 {
		t.Errorf("a refused request recorded parkings %+v", got)
	}
}

// The same holds for documented query parameters: one value, one spelling.
func TestPipelineRefusesRepeatedAndCaseVariantQueryParameters(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	base := "/v3/businesscircle/user-authorizations/" + openID
	for _, tt := range []struct{ query, field string }{
		{"?appid=" + appID + "&appid=wxother", "appid"},
		{"?appid=" + appID + "&APPID=wxother", "APPID"},
		{"?AppId=" + appID, "AppId"},
	} {
		a := send(t, srv, raw{method: http.MethodGet, target: base + tt.query})
		code, _, detail := a.apiErr(t)
		if a.status != 400 || code != "PARAM_ERROR" || detail["field"] != tt.field || detail["location"] != "query" {
			t.Errorf("%s: %d %s, want 400 PARAM_ERROR on query %s", tt.query, a.status, a.body, tt.field)
		}
	}
}

// An empty member name given twice is as ambiguous as any other.
func TestPipelineRefusesARepeatedEmptyMemberName(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	body := `{"brandid":1000,"appid":"` + appID + `","openid":"` + openID + `","plate_number":"粤B888888","state":"IN","time":"2025-05-19T12:00:00+08:00","":1,"":2}`
	a := send(t, srv, raw{target: "/v3/businesscircle/parkings", body: body})
	if code, _, detail := a.apiErr(t); a.status != 400 || code != "PARAM_ERROR" || detail["field"] != "/" {
		t.Errorf("answer %d %s, want 400 PARAM_ERROR on /", a.status, a.body)
	}
}

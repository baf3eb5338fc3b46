package sandbox_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// member is one raw JSON member of a request body.
type member struct{ name, raw string }

// object writes members in order, with patch applied: a new raw value for a
// name, or "-" to leave the member out; names not in base are appended.
func object(base []member, patch map[string]string) string {
	var b strings.Builder
	b.WriteByte('{')
	seen := map[string]bool{}
	write := func(name, raw string) {
		if raw == "-" {
			return
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + name + `":` + raw)
	}
	for _, m := range base {
		seen[m.name] = true
		if v, ok := patch[m.name]; ok {
			write(m.name, v)
		} else {
			write(m.name, m.raw)
		}
	}
	for name, v := range patch {
		if !seen[name] {
			write(name, v)
		}
	}
	b.WriteByte('}')
	return b.String()
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// paramCase is one request and the answer the documented rules call for.
type paramCase struct {
	name     string
	method   string
	target   string
	body     string
	status   int
	code     string
	field    string // detail.field
	location string // detail.location
	message  string // substring of message
}

func TestPointsNotifyParams(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	txID := pay(t, srv.Sandbox, "", true)
	base := []member{
		{"transaction_id", quote(txID)}, {"appid", quote(appID)}, {"openid", quote(openID)},
		{"earn_points", "true"}, {"increased_points", "100"}, {"points_update_time", `"2025-05-19T12:00:00+08:00"`},
	}
	b := func(patch map[string]string) string { return object(base, patch) }
	long := func(n int) string { return quote(strings.Repeat("x", n)) }
	cases := []paramCase{
		{name: "valid", body: b(nil), status: 204},
		{name: "valid: every field, milliseconds, remarks of 42 Chinese characters", body: b(map[string]string{
			"points_update_time": `"2020-05-20T13:29:35.120+08:00"`, "no_points_remarks": quote(strings.Repeat("积", 42)),
			"total_points": "888888", "earn_points": "false", "increased_points": "0"}), status: 204},
		{name: "valid: Z, negative points, empty optional remark, unknown member", body: b(map[string]string{
			"points_update_time": `"2020-05-20T05:29:35Z"`, "increased_points": "-5", "no_points_remarks": `""`, "extra": `{"a":[1]}`}), status: 204},
		{name: "transaction_id missing", body: b(map[string]string{"transaction_id": "-"}), field: "/transaction_id", message: "必填性规则校验失败"},
		{name: "transaction_id empty", body: b(map[string]string{"transaction_id": `""`}), field: "/transaction_id", message: "此字段为必填项"},
		{name: "transaction_id 65 bytes", body: b(map[string]string{"transaction_id": long(65)}), field: "/transaction_id", message: "字节数 65，大于最大值 64"},
		{name: "transaction_id a number", body: b(map[string]string{"transaction_id": "4200000001"}), field: "/transaction_id", message: "字符串"},
		{name: "appid 129 bytes", body: b(map[string]string{"appid": long(129)}), field: "/appid", message: "大于最大值 128"},
		{name: "openid missing", body: b(map[string]string{"openid": "-"}), field: "/openid"},
		{name: "openid 65 bytes", body: b(map[string]string{"openid": long(65)}), field: "/openid", message: "大于最大值 64"},
		{name: "earn_points missing", body: b(map[string]string{"earn_points": "-"}), field: "/earn_points"},
		{name: "earn_points a string", body: b(map[string]string{"earn_points": `"true"`}), field: "/earn_points", message: "布尔值"},
		{name: "increased_points missing", body: b(map[string]string{"increased_points": "-"}), field: "/increased_points"},
		{name: "increased_points a fraction", body: b(map[string]string{"increased_points": "1.5"}), field: "/increased_points", message: "64 位有符号整数"},
		{name: "increased_points an exponent", body: b(map[string]string{"increased_points": "1e2"}), field: "/increased_points"},
		{name: "increased_points a string", body: b(map[string]string{"increased_points": `"100"`}), field: "/increased_points"},
		{name: "increased_points beyond 64 bits", body: b(map[string]string{"increased_points": "9223372036854775808"}), field: "/increased_points"},
		{name: "points_update_time missing", body: b(map[string]string{"points_update_time": "-"}), field: "/points_update_time", message: "必填"},
		{name: "points_update_time without offset", body: b(map[string]string{"points_update_time": `"2024-01-06T14:06:00"`}),
			field: "/points_update_time", message: "参数校验错误，请检查商圈商户号，微信订单号，OPENID是否为空"},
		{name: "points_update_time lower-case t", body: b(map[string]string{"points_update_time": `"2024-01-06t14:06:00+08:00"`}),
			field: "/points_update_time", message: "参数校验错误"},
		{name: "points_update_time month 13", body: b(map[string]string{"points_update_time": `"2024-13-06T14:06:00+08:00"`}),
			field: "/points_update_time", message: "参数校验错误"},
		{name: "points_update_time offset 24h", body: b(map[string]string{"points_update_time": `"2024-01-06T14:06:00+24:00"`}),
			field: "/points_update_time", message: "参数校验错误"},
		{name: "points_update_time 33 bytes", body: b(map[string]string{"points_update_time": `"2024-01-06T14:06:00.1234567890+08"`}),
			field: "/points_update_time", message: "大于最大值 32"},
		{name: "no_points_remarks 129 bytes", body: b(map[string]string{"no_points_remarks": long(129)}), field: "/no_points_remarks"},
		{name: "no_points_remarks 43 Chinese characters are 129 bytes", body: b(map[string]string{"no_points_remarks": quote(strings.Repeat("积", 43))}),
			field: "/no_points_remarks", message: "字节数 129"},
		{name: "no_points_remarks with an emoji", body: b(map[string]string{"no_points_remarks": quote("积分😀")}), field: "/no_points_remarks", message: "不支持的字符"},
		{name: "no_points_remarks with an escaped emoji", body: b(map[string]string{"no_points_remarks": `"\ud83d\ude00"`}), field: "/no_points_remarks"},
		{name: "total_points a string", body: b(map[string]string{"total_points": `"888"`}), field: "/total_points"},
		{name: "sub_mchid 65 bytes", body: b(map[string]string{"sub_mchid": long(65)}), field: "/sub_mchid"},
	}
	for i := range cases {
		c := &cases[i]
		c.method, c.target = http.MethodPost, "/v3/businesscircle/points/notify"
		if c.status == 0 {
			c.status, c.code, c.location = 400, "PARAM_ERROR", "body"
		}
	}
	runParams(t, srv, cases)
}

func TestUserAuthorizationParams(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	path := "/v3/businesscircle/user-authorizations/"
	cases := []paramCase{
		{name: "valid, unknown openid", target: path + openID + "?appid=" + appID, status: 200},
		{name: "appid missing", target: path + openID, field: "appid", location: "query", message: "输入源“/query/appid”"},
		{name: "appid empty", target: path + openID + "?appid=", field: "appid", location: "query"},
		{name: "appid 129 bytes", target: path + openID + "?appid=" + strings.Repeat("w", 129), field: "appid", location: "query"},
		{name: "sub_mchid 65 bytes", target: path + openID + "?sub_mchid=" + strings.Repeat("1", 65) + "&appid=" + appID, field: "sub_mchid", location: "query"},
		{name: "openid 65 bytes", target: path + strings.Repeat("o", 65) + "?appid=" + appID, field: "openid", location: "path", message: "大于最大值 64"},
		{name: "openid with an emoji", target: path + url.PathEscape("o😀") + "?appid=" + appID, field: "openid", location: "path"},
		{name: "query does not parse", target: path + openID + "?appid=%zz", location: "query"},
		{name: "openid .. sent escaped", target: path + "%2E%2E?appid=" + appID, field: "openid", location: "path"},
		{name: "openid . sent escaped", target: path + "%2E?appid=" + appID, field: "openid", location: "path"},
	}
	for i := range cases {
		c := &cases[i]
		c.method = http.MethodGet
		if c.status == 0 {
			c.status, c.code = 400, "PARAM_ERROR"
		}
	}
	runParams(t, srv, cases)

	a := send(t, srv, raw{method: http.MethodGet, target: path + openID + "?appid=" + appID})
	if got, want := string(a.body), `{"openid":"`+openID+`","authorize_state":"UNAUTHORIZED"}`; got != want {
		t.Errorf("unknown member: %s, want %s", got, want)
	}
}

func TestCommitStatusParams(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	path := "/v3/businesscircle/users/"
	q := "/points/commit_status?brandid=1000&appid=" + appID
	cases := []paramCase{
		{name: "valid", target: path + openID + q, status: 200},
		{name: "valid: openid of 128 bytes", target: path + strings.Repeat("o", 128) + q, status: 200},
		{name: "openid 129 bytes", target: path + strings.Repeat("o", 129) + q, field: "openid", location: "path", message: "大于最大值 128"},
		{name: "brandid missing", target: path + openID + "/points/commit_status?appid=" + appID, field: "brandid", location: "query", message: "必填"},
		{name: "brandid not a number", target: path + openID + "/points/commit_status?brandid=abc&appid=" + appID, field: "brandid", location: "query", message: "64 位有符号整数"},
		{name: "brandid a fraction", target: path + openID + "/points/commit_status?brandid=1.5&appid=" + appID, field: "brandid", location: "query"},
		{name: "brandid zero", target: path + openID + "/points/commit_status?brandid=0&appid=" + appID, field: "brandid", location: "query", message: "小于最小值 1"},
		{name: "appid missing", target: path + openID + "/points/commit_status?brandid=1000", field: "appid", location: "query"},
		{name: "sub_mchid 33 bytes", target: path + openID + q + "&sub_mchid=" + strings.Repeat("1", 33), field: "sub_mchid", location: "query", message: "大于最大值 32"},
	}
	for i := range cases {
		c := &cases[i]
		c.method = http.MethodGet
		if c.status == 0 {
			c.status, c.code = 400, "PARAM_ERROR"
		}
	}
	runParams(t, srv, cases)
}

func TestParkingsParams(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	base := []member{
		{"brandid", "1000"}, {"appid", quote(appID)}, {"openid", quote(openID)},
		{"plate_number", quote("粤B888888")}, {"state", `"IN"`}, {"time", `"2022-06-01T10:43:39+08:00"`},
	}
	b := func(patch map[string]string) string { return object(base, patch) }
	cases := []paramCase{
		{name: "valid", body: b(nil), status: 204},
		{name: "valid: OUT, Chinese in the plate", body: b(map[string]string{"state": `"OUT"`, "plate_number": quote("粤B8888学")}), status: 204},
		{name: "brandid missing", body: b(map[string]string{"brandid": "-"}), field: "/brandid"},
		{name: "brandid a string", body: b(map[string]string{"brandid": `"1000"`}), field: "/brandid"},
		{name: "brandid negative", body: b(map[string]string{"brandid": "-1"}), field: "/brandid"},
		{name: "appid 33 bytes: 32 here", body: b(map[string]string{"appid": quote(strings.Repeat("w", 33))}), field: "/appid", message: "大于最大值 32"},
		{name: "openid missing", body: b(map[string]string{"openid": "-"}), field: "/openid"},
		{name: "plate without a province", body: b(map[string]string{"plate_number": `"B888888"`}), field: "/plate_number", message: "省份"},
		{name: "plate with lower case", body: b(map[string]string{"plate_number": quote("粤b88888")}), field: "/plate_number"},
		{name: "plate of one character", body: b(map[string]string{"plate_number": quote("粤")}), field: "/plate_number"},
		{name: "valid: a Hong Kong car on the mainland", body: b(map[string]string{"plate_number": quote("粤ZA123港")}), status: 204},
		{name: "plate of Hong Kong itself", body: b(map[string]string{"plate_number": quote("港A12345")}), field: "/plate_number"},
		{name: "plate of Macau itself", body: b(map[string]string{"plate_number": quote("澳A1234")}), field: "/plate_number"},
		{name: "plate of Taiwan", body: b(map[string]string{"plate_number": quote("台A1234")}), field: "/plate_number"},
		{name: "time with ten fraction digits", body: b(map[string]string{"time": `"2022-06-01T10:43:39.1234567891+08:00"`}), field: "/time"},
		{name: "plate 33 bytes", body: b(map[string]string{"plate_number": quote("粤" + strings.Repeat("8", 30))}), field: "/plate_number", message: "字节数 33"},
		{name: "state lower case", body: b(map[string]string{"state": `"in"`}), field: "/state", message: "枚举"},
		{name: "state missing", body: b(map[string]string{"state": "-"}), field: "/state"},
		{name: "state null", body: b(map[string]string{"state": "null"}), field: "/state", message: "null"},
		{name: "time not RFC 3339", body: b(map[string]string{"time": `"2022-06-01 10:43:39"`}), field: "/time", message: "RFC 3339"},
		{name: "sub_mchid 33 bytes", body: b(map[string]string{"sub_mchid": quote(strings.Repeat("1", 33))}), field: "/sub_mchid"},
	}
	for i := range cases {
		c := &cases[i]
		c.method, c.target = http.MethodPost, "/v3/businesscircle/parkings"
		if c.status == 0 {
			c.status, c.code, c.location = 400, "PARAM_ERROR", "body"
		}
	}
	runParams(t, srv, cases)
}

func TestCertificatesParams(t *testing.T) {
	t.Parallel()
	srv := newServer(t, sandbox.WithKeyMode(sandbox.PlatformCertificateMode))
	runParams(t, srv, []paramCase{
		{name: "no query", method: http.MethodGet, target: "/v3/certificates", status: 200},
		{name: "RSA", method: http.MethodGet, target: "/v3/certificates?algorithm_type=RSA", status: 200},
		{name: "ALL", method: http.MethodGet, target: "/v3/certificates?algorithm_type=ALL", status: 200},
		{name: "SM2", method: http.MethodGet, target: "/v3/certificates?algorithm_type=SM2", status: 200},
		{name: "DSA", method: http.MethodGet, target: "/v3/certificates?algorithm_type=DSA", status: 400, code: "PARAM_ERROR",
			field: "algorithm_type", location: "query", message: "枚举"},
	})
	a := send(t, srv, raw{method: http.MethodGet, target: "/v3/certificates?algorithm_type=SM2"})
	if string(a.body) != `{"data":[]}` {
		t.Errorf("SM2 = %s, want no certificate", a.body)
	}
}

// runParams sends each case and checks the answer; 2xx answers must verify.
func runParams(t *testing.T, srv *sandbox.Server, cases []paramCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a := send(t, srv, raw{method: c.method, target: c.target, body: c.body})
			if a.status != c.status {
				t.Fatalf("status = %d %s, want %d", a.status, a.body, c.status)
			}
			if c.status < 300 {
				verifyAnswer(t, srv.Keys, a)
				return
			}
			code, message, detail := a.apiErr(t)
			if code != c.code || !strings.Contains(message, c.message) {
				t.Errorf("answer = %s %q, want %s containing %q", code, message, c.code, c.message)
			}
			if c.field != "" && detail["field"] != c.field {
				t.Errorf("detail.field = %v, want %s (%s)", detail["field"], c.field, a.body)
			}
			if c.location != "" && detail["location"] != c.location {
				t.Errorf("detail.location = %v, want %s", detail["location"], c.location)
			}
		})
	}
}

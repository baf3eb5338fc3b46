package businesscircle_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// The SDK's validation (Validate and the typed calls' path checks) and the
// sandbox's are written independently, from the same documents, on purpose:
// each catches the other's mistakes. These tests hold them to one verdict.
// Every generated request goes to both: to the SDK's checks, and as a real
// signed request to an in-process sandbox. Both must accept it, or both must
// refuse it naming the same field. Requests are sent as the typed calls send
// them, except that strings keep their bytes (encoding/json would replace
// invalid UTF-8, which the SDK refuses, before the sandbox could see it).

// diffField is one field of one endpoint that a test can set.
type diffField struct {
	name    string // the JSON, query or path name
	integer bool
}

// diffEndpoint is one of the four business-circle endpoints.
type diffEndpoint struct {
	name   string
	fields []diffField
}

var diffEndpoints = []diffEndpoint{
	{"points", []diffField{{"sub_mchid", false}, {"transaction_id", false}, {"appid", false}, {"openid", false},
		{"increased_points", true}, {"points_update_time", false}, {"no_points_remarks", false}, {"total_points", true}}},
	{"user-authorizations", []diffField{{"openid", false}, {"sub_mchid", false}, {"appid", false}}},
	{"commit_status", []diffField{{"openid", false}, {"sub_mchid", false}, {"brandid", true}, {"appid", false}}},
	{"parkings", []diffField{{"sub_mchid", false}, {"brandid", true}, {"appid", false}, {"openid", false},
		{"plate_number", false}, {"state", false}, {"time", false}}},
}

// diffRequest is one generated request: a valid one with one field changed.
type diffRequest struct {
	endpoint int
	field    diffField
	text     string
	number   int64
}

func (r diffRequest) String() string {
	v := strconv.Quote(r.text)
	if r.field.integer {
		v = strconv.FormatInt(r.number, 10)
	}
	return diffEndpoints[r.endpoint].name + " " + r.field.name + "=" + v
}

// The valid requests the generated ones start from.
func basePoints() businesscircle.PointsNotifyRequest {
	return businesscircle.PointsNotifyRequest{TransactionID: "4200000000202405201234567890", AppID: "wxd678efh567hg6787",
		OpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", EarnPoints: true, IncreasedPoints: 100,
		PointsUpdateTime: "2024-05-20T13:29:35+08:00", TotalPoints: businesscircle.Int64(888)}
}

func baseParking() businesscircle.ParkingRequest {
	return businesscircle.ParkingRequest{BrandID: 1000, AppID: "wxd678efh567hg6787", OpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
		PlateNumber: "粤B888888", State: businesscircle.ParkingStateIn, Time: "2022-06-01T10:43:39+08:00"}
}

// setField sets the field of a request struct whose JSON name is name.
func setField(v any, f diffField, text string, number int64) {
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		tag, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("json"), ",")
		if tag != f.name {
			continue
		}
		switch fv := rv.Field(i); fv.Kind() {
		case reflect.String:
			fv.SetString(text)
		case reflect.Int64:
			fv.SetInt(number)
		case reflect.Pointer:
			fv.Set(reflect.ValueOf(&number))
		}
		return
	}
	panic("no field " + f.name)
}

// encodeKeepingBytes writes a request struct as encoding/json would (the
// same names, omitempty, order), but copies string bytes as they are.
func encodeKeepingBytes(v any) []byte {
	rv := reflect.ValueOf(v)
	var b strings.Builder
	b.WriteByte('{')
	for i := range rv.NumField() {
		name, opts, _ := strings.Cut(rv.Type().Field(i).Tag.Get("json"), ",")
		fv := rv.Field(i)
		if opts == "omitempty" && fv.IsZero() {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + name + `":`)
		switch fv.Kind() {
		case reflect.String:
			b.WriteByte('"')
			for _, c := range []byte(fv.String()) {
				switch {
				case c == '"' || c == '\\':
					b.WriteString(`\` + string(c))
				case c < 0x20:
					fmt.Fprintf(&b, `\u%04x`, c)
				default:
					b.WriteByte(c)
				}
			}
			b.WriteByte('"')
		case reflect.Pointer:
			b.WriteString(strconv.FormatInt(fv.Elem().Int(), 10))
		case reflect.Int64:
			b.WriteString(strconv.FormatInt(fv.Int(), 10))
		case reflect.Bool:
			b.WriteString(strconv.FormatBool(fv.Bool()))
		}
	}
	b.WriteByte('}')
	return []byte(b.String())
}

// verdict is what one side said: "" for accepted, else the field refused.
type verdict string

func (v verdict) String() string {
	if v == "" {
		return "accepted"
	}
	return "refused " + string(v)
}

// sdkVerdict asks the SDK: Validate for the bodies; for the queries the
// typed call, which checks the openid path segment and then Validate, and
// only sends what passed.
func sdkVerdict(ctx context.Context, bc *businesscircle.V3, r diffRequest) verdict {
	var err error
	switch r.endpoint {
	case 0:
		req := basePoints()
		setField(&req, r.field, r.text, r.number)
		err = req.Validate()
	case 1:
		openid, q := "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", businesscircle.UserAuthorizationQuery{AppID: "wxd678efh567hg6787"}
		switch r.field.name {
		case "openid":
			openid = r.text
		case "sub_mchid":
			q.SubMchID = r.text
		case "appid":
			q.AppID = r.text
		}
		_, _, err = bc.Businesscircle.UserAuthorizations.Get(ctx, openid, q)
	case 2:
		openid, q := "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", businesscircle.CommitStatusQuery{BrandID: 1000, AppID: "wxd678efh567hg6787"}
		switch r.field.name {
		case "openid":
			openid = r.text
		case "sub_mchid":
			q.SubMchID = r.text
		case "brandid":
			q.BrandID = r.number
		case "appid":
			q.AppID = r.text
		}
		_, _, err = bc.Businesscircle.Users.Points.CommitStatus.Get(ctx, openid, q)
	case 3:
		req := baseParking()
		setField(&req, r.field, r.text, r.number)
		err = req.Validate()
	}
	if ve, ok := errors.AsType[*businesscircle.ValidationError](err); ok {
		return verdict(ve.Field)
	}
	return ""
}

// sandboxVerdict sends the request through the string chain, which does not
// validate, and reads the sandbox's answer: 400 PARAM_ERROR with a
// detail.field is a refusal by its parameter checks; anything else (2xx, or
// a business answer such as an unknown transaction) passed them. ok is false
// when no client can put the request on the wire (an openid of "", "." or
// "..", which URL handling removes).
func sandboxVerdict(ctx context.Context, c *wxpay.Client, r diffRequest) (v verdict, ok bool) {
	var err error
	switch r.endpoint {
	case 0:
		req := basePoints()
		setField(&req, r.field, r.text, r.number)
		_, err = c.Chain(businesscircle.PathPointsNotify).Post(ctx, wxpay.RawJSON(encodeKeepingBytes(req)))
	case 1, 2:
		params := map[string]string{"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "appid": "wxd678efh567hg6787", "brandid": "1000"}
		if r.field.integer {
			params[r.field.name] = strconv.FormatInt(r.number, 10)
		} else {
			params[r.field.name] = r.text
		}
		if o := params["openid"]; o == "" || o == "." || o == ".." {
			return "", false
		}
		path := businesscircle.PathUserAuthorization
		names := []string{"sub_mchid", "appid"}
		if r.endpoint == 2 {
			path = businesscircle.PathPointsCommitStatus
			names = []string{"sub_mchid", "brandid", "appid"}
		}
		opts := []wxpay.RequestOption{wxpay.PathParam("openid", params["openid"])}
		for _, n := range names {
			if params[n] != "" { // as the typed calls: an empty sub_mchid is not sent
				opts = append(opts, wxpay.Query(n, params[n]))
			}
		}
		_, err = c.Chain(path).Get(ctx, opts...)
	case 3:
		req := baseParking()
		setField(&req, r.field, r.text, r.number)
		_, err = c.Chain(businesscircle.PathParkings).Post(ctx, wxpay.RawJSON(encodeKeepingBytes(req)))
	}
	if err == nil {
		return "", true
	}
	ae, isAPI := errors.AsType[*wxpay.APIError](err)
	if !isAPI {
		panic(fmt.Sprintf("%v: not an answer of the sandbox: %v", r, err))
	}
	var detail struct {
		Field string `json:"field"`
	}
	json.Unmarshal(ae.Detail, &detail)
	if ae.StatusCode == 400 && ae.Code == "PARAM_ERROR" && detail.Field != "" {
		return verdict(strings.TrimPrefix(detail.Field, "/")), true
	}
	return "", true
}

// diffServer is the sandbox both tests send to, started once per process.
var diffServer = sync.OnceValue(func() *sandbox.Server {
	return sandbox.NewServer(sandbox.WithClientOptions(wxpay.WithoutRetries()))
})

// checkAgree fails t when the two verdicts on r differ.
func checkAgree(t *testing.T, r diffRequest) {
	t.Helper()
	srv := diffServer()
	ctx := context.Background()
	sdk := sdkVerdict(ctx, businesscircle.New(srv.Client), r)
	sb, ok := sandboxVerdict(ctx, srv.Client, r)
	if !ok {
		if sdk == "" {
			t.Errorf("%v: the SDK accepts an openid no client can send", r)
		}
		return
	}
	if sdk != sb {
		t.Errorf("%v: SDK %v, sandbox %v", r, sdk, sb)
	}
}

// diffValues are the values tried for a text field whose longest value is
// max bytes: both sides of every documented boundary, and what trips
// validators (the empty string, four-byte characters, invalid UTF-8,
// control characters, U+FFFD, path dots).
func diffValues(max int) []string {
	cn := strings.Repeat("中", max/3)
	return []string{
		"", "o", ".", "..", " ", "o\n", "o\x00", "o\t", "o\uFFFD", "o😀", "o\xff", "o\xe4\xb8", "a/b?c=d&e",
		strings.Repeat("1", max), strings.Repeat("1", max+1), cn, cn + "1" + strings.Repeat("1", max%3),
		strings.Repeat("中", max/3+1),
	}
}

// Extra values of the fields with a format of their own.
var (
	diffTimes = []string{
		"2024-05-20T13:29:35+08:00", "2024-05-20T13:29:35Z", "2024-05-20T13:29:35.120+08:00",
		"2024-05-20T13:29:35.123456789-03:30", "2024-05-20T13:29:35.1234567891+08:00", "2024-05-20T13:29:35.1234567891Z", "2024-05-20T13:29:35.+08:00",
		"2024-01-06 14:06:00", "2024-05-20t13:29:35z", "2024-05-20T13:29:35+24:00", "2024-05-20T13:29:35+08:60",
		"2024-02-30T13:29:35+08:00", "2024-05-20T24:00:00+08:00", "2024-05-20T13:29:60+08:00", "2024-05-20T13:29:35,1+08:00",
		"0000-01-01T00:00:00Z", "2024-05-20T13:29:35+0800", " 2024-05-20T13:29:35+08:00",
	}
	diffPlates = []string{
		"粤B888888", "粤B8888学", "粤ZA123港", "粤Z1234澳", "京A00000", "琼A1", "港A12345", "澳A1234", "台A1234", "粤",
		"粤b88888", "B888888", "中B888888", "粤B 88888", "粤B-88888", "粤B８８８", "粤B888888😀", "粤" + strings.Repeat("8", 29), "粤" + strings.Repeat("8", 30),
	}
	diffStates  = []string{"IN", "OUT", "in", "Out", "PARKED", "IN ", ""}
	diffNumbers = []int64{math.MinInt64, -1, 0, 1, 1000, math.MaxInt64}
)

// diffMax is the documented longest value of each text field, by endpoint.
func diffMax(endpoint int, field string) int {
	switch {
	case field == "appid" && endpoint == 3, field == "sub_mchid" && (endpoint == 2 || endpoint == 3),
		field == "points_update_time", field == "time", field == "plate_number":
		return 32
	case field == "openid" && endpoint == 2, field == "appid", field == "no_points_remarks":
		return 128
	}
	return 64
}

// diffTable is the generated table: every field of the four endpoints with
// its values.
func diffTable() []diffRequest {
	var out []diffRequest
	for e, ep := range diffEndpoints {
		for _, f := range ep.fields {
			if f.integer {
				for _, n := range diffNumbers {
					out = append(out, diffRequest{endpoint: e, field: f, number: n})
				}
				continue
			}
			values := diffValues(diffMax(e, f.name))
			switch f.name {
			case "points_update_time", "time":
				values = append(values, diffTimes...)
			case "plate_number":
				values = append(values, diffPlates...)
			case "state":
				values = append(values, diffStates...)
			}
			for _, v := range values {
				out = append(out, diffRequest{endpoint: e, field: f, text: v})
			}
		}
	}
	return out
}

func TestSDKAndSandboxValidatorsAgree(t *testing.T) {
	t.Parallel()
	table := diffTable()
	if len(table) < 200 {
		t.Fatalf("only %d generated requests", len(table))
	}
	for _, r := range table {
		checkAgree(t, r)
	}
}

// FuzzSDKAndSandboxValidatorsAgree feeds fuzzed values of any field of the
// four endpoints to both validators. The seed corpus runs in the default
// suite.
func FuzzSDKAndSandboxValidatorsAgree(f *testing.F) {
	for _, s := range []struct {
		endpoint, field uint8
		text            string
		number          int64
	}{
		{3, 4, "港A12345", 0}, {3, 4, "澳A1234", 0}, {3, 4, "台A1234", 0}, {3, 4, "粤", 0}, {3, 4, "粤ZA123港", 0},
		{0, 5, "2024-05-20T13:29:35.1234567891Z", 0}, {3, 6, "2024-01-06 14:06:00", 0}, {0, 3, "o😀", 0},
		{1, 0, "..", 0}, {2, 0, "%2E", 0}, {0, 6, strings.Repeat("中", 43), 0}, {1, 2, "wx\xff", 0},
		{2, 2, "", -1}, {3, 1, "", 0}, {0, 4, "", math.MinInt64}, {3, 5, "OUT", 0}, {0, 0, "1900000109", 0},
	} {
		f.Add(s.endpoint, s.field, s.text, s.number)
	}
	f.Fuzz(func(t *testing.T, endpoint, field uint8, text string, number int64) {
		e := int(endpoint) % len(diffEndpoints)
		fs := diffEndpoints[e].fields
		r := diffRequest{endpoint: e, field: fs[int(field)%len(fs)], text: text, number: number}
		if len(text) > 300 || (!utf8.ValidString(text) && len(text) > 64) {
			return // long values say nothing the table's boundaries do not
		}
		checkAgree(t, r)
	})
}

// The path templates are spelt the same in both packages (the seeds' own
// spelling, no leading slash), though neither imports the other for them.
func TestPathConstantsAgreeWithTheSandbox(t *testing.T) {
	t.Parallel()
	for _, p := range []struct{ sdk, sandbox string }{
		{businesscircle.PathPointsNotify, sandbox.PathPointsNotify},
		{businesscircle.PathUserAuthorization, sandbox.PathUserAuthorization},
		{businesscircle.PathPointsCommitStatus, sandbox.PathPointsCommitStatus},
		{businesscircle.PathParkings, sandbox.PathParkings},
	} {
		if p.sdk != p.sandbox || strings.HasPrefix(p.sdk, "/") {
			t.Errorf("businesscircle %q, sandbox %q: want one spelling without a leading slash", p.sdk, p.sandbox)
		}
	}
}

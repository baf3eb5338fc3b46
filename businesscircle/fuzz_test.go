package businesscircle_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

// roundTrips checks that a request Validate accepted encodes to JSON that
// decodes back to the same request: nothing is lost or altered on the way.
func roundTrips[T any](t *testing.T, req T) {
	t.Helper()
	data, err := json.Marshal(req)
	if err != nil {
		t.Fatalf("Validate accepted %+v but it does not marshal: %v", req, err)
	}
	var back T
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("Validate accepted %+v but its JSON %s does not unmarshal: %v", req, data, err)
	}
	if !reflect.DeepEqual(back, req) {
		t.Fatalf("JSON round trip changed the request:\n got %+v\nwant %+v\njson %s", back, req, data)
	}
}

func FuzzPointsNotifyRequestValidate(f *testing.F) {
	r := seedNotify()
	f.Add(r.SubMchID, r.TransactionID, r.AppID, r.OpenID, r.EarnPoints, r.IncreasedPoints, r.PointsUpdateTime, r.NoPointsRemarks, true, *r.TotalPoints)
	f.Add("", "1", "wx1", "o1", false, int64(0), "2024-01-06T16:32:00+08:00", "", false, int64(0))
	f.Add("", "1", "wx1", "o1", false, int64(0), tooOld, "", true, int64(0))
	f.Add("\xff", "1", "wx1", "o"+emoji, false, int64(-1), "2020-05-20T13:29:35,1Z", extB, true, int64(-9))
	f.Fuzz(func(t *testing.T, sub, txn, appid, openid string, earn bool, inc int64, at, remarks string, hasTotal bool, total int64) {
		req := businesscircle.PointsNotifyRequest{
			SubMchID: sub, TransactionID: txn, AppID: appid, OpenID: openid, EarnPoints: earn,
			IncreasedPoints: inc, PointsUpdateTime: at, NoPointsRemarks: remarks,
		}
		if hasTotal {
			req.TotalPoints = &total
		}
		if err := req.Validate(); err != nil {
			return
		}
		if _, err := businesscircle.ParseTime(at); err != nil {
			t.Fatalf("Validate accepted points_update_time %q that ParseTime refuses", at)
		}
		roundTrips(t, req)
	})
}

func FuzzParkingRequestValidate(f *testing.F) {
	r := seedParking()
	f.Add(r.SubMchID, r.BrandID, r.AppID, r.OpenID, r.PlateNumber, string(r.State), r.Time)
	f.Add("", int64(1), "wx1", "o1", "京AD12345", "OUT", "2022-06-01T10:43:39.5Z")
	f.Add("", int64(0), "", "", "b888888", "in", "2022-06-01 10:43:39")
	f.Fuzz(func(t *testing.T, sub string, brand int64, appid, openid, plate, state, at string) {
		req := businesscircle.ParkingRequest{
			SubMchID: sub, BrandID: brand, AppID: appid, OpenID: openid,
			PlateNumber: plate, State: businesscircle.ParkingState(state), Time: at,
		}
		if err := req.Validate(); err != nil {
			return
		}
		if brand <= 0 || (state != "IN" && state != "OUT") {
			t.Fatalf("Validate accepted brandid %d, state %q", brand, state)
		}
		roundTrips(t, req)
	})
}

// recorder is a plain HTTP server that keeps the request-target of the last
// request and answers 204 unsigned; the fuzzed queries are sent to it with
// verification off, to check what goes on the wire.
type recorder struct {
	mu     sync.Mutex
	target string
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.target = r.RequestURI
	rec.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rec *recorder) last() string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.target
}

func newRecorder(f *testing.F) (*recorder, *businesscircle.V3) {
	rec := &recorder{}
	s := httptest.NewServer(rec)
	f.Cleanup(s.Close)
	k := wxtest.SharedKeys()
	c, err := wxpay.NewClient(
		wxpay.WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey),
		wxpay.WithWechatPayPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey),
		wxpay.WithBaseURL(s.URL),
		wxpay.WithoutRetries(),
		wxpay.WithInsecureSkipResponseVerification(),
	)
	if err != nil {
		f.Fatal(err)
	}
	return rec, businesscircle.New(c)
}

// sentIntact checks that target, as received, carries openid as the path
// segment after prefix and exactly the query parameters want.
func sentIntact(t *testing.T, target, prefix, suffix, openid string, want url.Values) {
	t.Helper()
	path, rawQuery, _ := strings.Cut(target, "?")
	seg, ok := strings.CutPrefix(path, prefix)
	if !ok {
		t.Fatalf("request-target %q does not start with %q", target, prefix)
	}
	if seg, ok = strings.CutSuffix(seg, suffix); !ok || strings.Contains(seg, "/") {
		t.Fatalf("request-target %q: openid is not one escaped segment", target)
	}
	got, err := url.PathUnescape(seg)
	if err != nil || got != openid {
		t.Fatalf("openid %q arrived as %q (%v)", openid, got, err)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil || !reflect.DeepEqual(q, want) {
		t.Fatalf("query %q decodes to %v (%v), want %v", rawQuery, q, err, want)
	}
}

// Whatever the query validators accept is sent, and arrives unchanged.
func FuzzUserAuthorizationQueryValidate(f *testing.F) {
	f.Add("oWmnN4xxxxxxxxxxe92NHIGf1xd8", "1234567890", "wx1234567890abcdef")
	f.Add("OWmn/N4?x#y%z Ab+C", "", "wx=1 2&")
	f.Add("..", "", "wx1")
	f.Add("%2e%2E", "", "wx1")
	rec, v3 := newRecorder(f)
	f.Fuzz(func(t *testing.T, openid, sub, appid string) {
		q := businesscircle.UserAuthorizationQuery{SubMchID: sub, AppID: appid}
		_, _, err := v3.Businesscircle.UserAuthorizations.Get(context.Background(), openid, q)
		if q.Validate() != nil {
			return
		}
		if _, ok := err.(*businesscircle.ValidationError); ok {
			return // the openid was refused
		}
		// A 204 carries no JSON, so Get reports a decoding error; what matters is what was sent.
		want := url.Values{"appid": {appid}}
		if sub != "" {
			want["sub_mchid"] = []string{sub}
		}
		sentIntact(t, rec.last(), "/v3/businesscircle/user-authorizations/", "", openid, want)
	})
}

func FuzzCommitStatusQueryValidate(f *testing.F) {
	f.Add("oWmnN4xxxxxxxxxxe92NHIGf1xd8", "1234567890", int64(1234), "wx1234567890abcdef")
	f.Add("A/B", "", int64(1), "wx1")
	f.Add(".", "", int64(0), "")
	rec, v3 := newRecorder(f)
	f.Fuzz(func(t *testing.T, openid, sub string, brand int64, appid string) {
		q := businesscircle.CommitStatusQuery{SubMchID: sub, BrandID: brand, AppID: appid}
		st, _, err := v3.Businesscircle.Users.Points.CommitStatus.Get(context.Background(), openid, q)
		if q.Validate() != nil {
			return
		}
		if _, ok := err.(*businesscircle.ValidationError); ok {
			return
		}
		if err != nil || st.PointsCommitStatus != businesscircle.PointsCommitStatusUnknown {
			t.Fatalf("Get = %+v, %v; want an unknown status from a 204", st, err)
		}
		want := url.Values{"brandid": {strconv.FormatInt(brand, 10)}, "appid": {appid}}
		if sub != "" {
			want["sub_mchid"] = []string{sub}
		}
		sentIntact(t, rec.last(), "/v3/businesscircle/users/", "/points/commit_status", openid, want)
	})
}

package businesscircle_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

// Each endpoint, in merchant mode (no sub_mchid) and partner mode (sub_mchid
// naming the mall), sends exactly the documented request and reads the
// answer. The fake verifies every request's signature independently.
func TestPointsNotifyPost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		req      businesscircle.PointsNotifyRequest
		wantBody string
	}{
		{
			name: "partner mode, seed body",
			req:  seedNotify(),
			wantBody: `{"sub_mchid":"1234567890","transaction_id":"1217752501201407033233368018","appid":"wx1234567890abcdef",` +
				`"openid":"oWmnN4xxxxxxxxxxe92NHIGf1xd8","earn_points":true,"increased_points":100,` +
				`"points_update_time":"2020-05-20T13:29:35.120+08:00","no_points_remarks":"商品不参与积分活动","total_points":888888}`,
		},
		{
			name: "merchant mode, no points, zero total",
			req: businesscircle.PointsNotifyRequest{
				TransactionID:    "4200000001202405200000000001",
				AppID:            "wxd678efh567hg6787",
				OpenID:           "oUpF8uMuAJ2pxb1Q9zNjWUHsd",
				EarnPoints:       false,
				IncreasedPoints:  0,
				PointsUpdateTime: "2024-01-06T16:32:00+08:00",
				NoPointsRemarks:  "商品不参与积分活动 <&>",
				TotalPoints:      businesscircle.Int64(0),
			},
			wantBody: `{"transaction_id":"4200000001202405200000000001","appid":"wxd678efh567hg6787","openid":"oUpF8uMuAJ2pxb1Q9zNjWUHsd",` +
				`"earn_points":false,"increased_points":0,"points_update_time":"2024-01-06T16:32:00+08:00",` +
				`"no_points_remarks":"商品不参与积分活动 <&>","total_points":0}`,
		},
		{
			name: "merchant mode, optional fields left out",
			req: businesscircle.PointsNotifyRequest{
				TransactionID: "1", AppID: "wx1", OpenID: "o1", EarnPoints: true, IncreasedPoints: 1,
				PointsUpdateTime: "2020-05-20T13:29:35Z",
			},
			wantBody: `{"transaction_id":"1","appid":"wx1","openid":"o1","earn_points":true,"increased_points":1,"points_update_time":"2020-05-20T13:29:35Z"}`,
		},
	}
	for _, tt := range tests {
		for _, async := range []bool{false, true} {
			name := tt.name + ", Post"
			if async {
				name = tt.name + ", PostAsync"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				s, _, v3 := newFake(t)
				var resp *wxpay.Response
				var err error
				if async {
					resp, err = v3.Businesscircle.Points.Notify.PostAsync(context.Background(), tt.req).Wait()
				} else {
					resp, err = v3.Businesscircle.Points.Notify.Post(context.Background(), tt.req)
				}
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != http.StatusNoContent || len(resp.Body) != 0 {
					t.Errorf("answer = %d %q, want 204 and no body", resp.StatusCode, resp.Body)
				}
				r := only(t, s)
				if r.Method != "POST" || r.RequestTarget != "/v3/businesscircle/points/notify" {
					t.Errorf("request = %s %s, want POST /v3/businesscircle/points/notify", r.Method, r.RequestTarget)
				}
				if string(r.Body) != tt.wantBody {
					t.Errorf("body =\n%s\nwant\n%s", r.Body, tt.wantBody)
				}
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
			})
		}
	}
}

func TestParkingsPost(t *testing.T) {
	t.Parallel()
	merchant := seedParking()
	merchant.SubMchID = ""
	merchant.State = businesscircle.ParkingStateOut
	tests := []struct {
		name     string
		req      businesscircle.ParkingRequest
		wantBody string
	}{
		{"partner mode", seedParking(),
			`{"sub_mchid":"1234567890","brandid":1234,"appid":"wx1234567890abcdef","openid":"oWmnN4xxxxxxxxxxe92NHIGf1xd8",` +
				`"plate_number":"粤B888888","state":"IN","time":"2022-06-01T10:43:39+08:00"}`},
		{"merchant mode", merchant,
			`{"brandid":1234,"appid":"wx1234567890abcdef","openid":"oWmnN4xxxxxxxxxxe92NHIGf1xd8",` +
				`"plate_number":"粤B888888","state":"OUT","time":"2022-06-01T10:43:39+08:00"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, v3 := newFake(t)
			s.Handle("POST", "/v3/businesscircle/parkings", func(*wxtest.Request) (int, []byte) { return http.StatusNoContent, nil })
			resp, err := v3.Businesscircle.Parkings.Post(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("status = %d, want 204", resp.StatusCode)
			}
			r := only(t, s)
			if r.Method != "POST" || r.RequestTarget != "/v3/businesscircle/parkings" {
				t.Errorf("request = %s %s", r.Method, r.RequestTarget)
			}
			if string(r.Body) != tt.wantBody {
				t.Errorf("body =\n%s\nwant\n%s", r.Body, tt.wantBody)
			}
			resp, err = v3.Businesscircle.Parkings.PostAsync(context.Background(), tt.req).Wait()
			if err != nil || resp.StatusCode != http.StatusNoContent {
				t.Fatalf("PostAsync = %v, %v", resp, err)
			}
		})
	}
}

func TestUserAuthorizationsGet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		openid     string
		query      businesscircle.UserAuthorizationQuery
		routePath  string // unescaped, as the fake routes
		wantTarget string
		answer     string
		want       businesscircle.UserAuthorization
	}{
		{
			name:       "partner mode, documented example",
			openid:     "oWmnN4xxxxxxxxxxe92NHIGf1xd8",
			query:      businesscircle.UserAuthorizationQuery{SubMchID: "1234567890", AppID: "wx1234567890abcdef"},
			routePath:  "/v3/businesscircle/user-authorizations/oWmnN4xxxxxxxxxxe92NHIGf1xd8",
			wantTarget: "/v3/businesscircle/user-authorizations/oWmnN4xxxxxxxxxxe92NHIGf1xd8?sub_mchid=1234567890&appid=wx1234567890abcdef",
			answer:     `{"openid":"oWmnN4xxxxxxxxxxe92NHIGf1xd8","authorize_state":"UNAUTHORIZED","authorize_time":"2020-05-20T13:29:35+08:00","deauthorize_time":"2020-05-20T13:29:35+08:00"}`,
			want: businesscircle.UserAuthorization{OpenID: "oWmnN4xxxxxxxxxxe92NHIGf1xd8", AuthorizeState: businesscircle.AuthorizeStateUnauthorized,
				AuthorizeTime: "2020-05-20T13:29:35+08:00", DeauthorizeTime: "2020-05-20T13:29:35+08:00"},
		},
		{
			name:       "merchant mode, authorised, unknown field ignored",
			openid:     "oUpF8uMuAJ2pxb1Q9zNjWUHsd",
			query:      businesscircle.UserAuthorizationQuery{AppID: "wxd678efh567hg6787"},
			routePath:  "/v3/businesscircle/user-authorizations/oUpF8uMuAJ2pxb1Q9zNjWUHsd",
			wantTarget: "/v3/businesscircle/user-authorizations/oUpF8uMuAJ2pxb1Q9zNjWUHsd?appid=wxd678efh567hg6787",
			answer:     `{"openid":"oUpF8uMuAJ2pxb1Q9zNjWUHsd","authorize_state":"AUTHORIZED","authorize_time":"2022-08-01T10:00:00+08:00","new_field":{"x":1}}`,
			want: businesscircle.UserAuthorization{OpenID: "oUpF8uMuAJ2pxb1Q9zNjWUHsd", AuthorizeState: businesscircle.AuthorizeStateAuthorized,
				AuthorizeTime: "2022-08-01T10:00:00+08:00"},
		},
		{
			name:       "openid with upper case and reserved characters is escaped, not case-folded",
			openid:     "OWmn/N4?x#y%z Ab+C",
			query:      businesscircle.UserAuthorizationQuery{AppID: "wx1234567890abcdef"},
			routePath:  "/v3/businesscircle/user-authorizations/OWmn/N4?x#y%z Ab+C",
			wantTarget: "/v3/businesscircle/user-authorizations/OWmn%2FN4%3Fx%23y%25z%20Ab+C?appid=wx1234567890abcdef",
			answer:     `{"openid":"OWmn/N4?x#y%z Ab+C","authorize_state":"DEAUTHORIZED","deauthorize_time":"2023-01-01T00:00:00+08:00"}`,
			want: businesscircle.UserAuthorization{OpenID: "OWmn/N4?x#y%z Ab+C", AuthorizeState: businesscircle.AuthorizeStateDeauthorized,
				DeauthorizeTime: "2023-01-01T00:00:00+08:00"},
		},
		{
			name:       "query values are escaped",
			openid:     "o1",
			query:      businesscircle.UserAuthorizationQuery{SubMchID: "12&34", AppID: "wx=1 2"},
			routePath:  "/v3/businesscircle/user-authorizations/o1",
			wantTarget: "/v3/businesscircle/user-authorizations/o1?sub_mchid=12%2634&appid=wx%3D1+2",
			answer:     `{"openid":"o1","authorize_state":"UNAUTHORIZED"}`,
			want:       businesscircle.UserAuthorization{OpenID: "o1", AuthorizeState: businesscircle.AuthorizeStateUnauthorized},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, v3 := newFake(t)
			s.Handle("GET", tt.routePath, func(*wxtest.Request) (int, []byte) { return http.StatusOK, []byte(tt.answer) })
			got, resp, err := v3.Businesscircle.UserAuthorizations.Get(context.Background(), tt.openid, tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if *got != tt.want {
				t.Errorf("answer = %+v, want %+v", *got, tt.want)
			}
			if resp.StatusCode != http.StatusOK || string(resp.Body) != tt.answer {
				t.Errorf("response = %d %s", resp.StatusCode, resp.Body)
			}
			r := only(t, s)
			if r.Method != "GET" || r.RequestTarget != tt.wantTarget {
				t.Errorf("request = %s %s, want GET %s", r.Method, r.RequestTarget, tt.wantTarget)
			}
			if len(r.Body) != 0 {
				t.Errorf("GET sent a body: %q", r.Body)
			}
		})
	}
}

func TestCommitStatusGet(t *testing.T) {
	t.Parallel()
	const path = "/v3/businesscircle/users/oWmnN4xxxxxxxxxxe92NHIGf1xd8/points/commit_status"
	partner := businesscircle.CommitStatusQuery{SubMchID: "1234567890", BrandID: 1234, AppID: "wx1234567890abcdef"}
	merchant := businesscircle.CommitStatusQuery{BrandID: 1234, AppID: "wx1234567890abcdef"}
	tests := []struct {
		name       string
		query      businesscircle.CommitStatusQuery
		status     int
		answer     string
		wantTarget string
		want       businesscircle.PointsCommitStatus
	}{
		{"partner mode, 200 PENDING", partner, http.StatusOK, `{"points_commit_status":"PENDING"}`,
			path + "?sub_mchid=1234567890&brandid=1234&appid=wx1234567890abcdef", businesscircle.PointsCommitStatusPending},
		{"merchant mode, 200 FINISHED", merchant, http.StatusOK, `{"points_commit_status":"FINISHED"}`,
			path + "?brandid=1234&appid=wx1234567890abcdef", businesscircle.PointsCommitStatusFinished},
		{"200 with an unknown field", merchant, http.StatusOK, `{"points_commit_status":"PENDING","extra":true}`,
			path + "?brandid=1234&appid=wx1234567890abcdef", businesscircle.PointsCommitStatusPending},
		{"204 as the older documents say: status unknown", partner, http.StatusNoContent, "",
			path + "?sub_mchid=1234567890&brandid=1234&appid=wx1234567890abcdef", businesscircle.PointsCommitStatusUnknown},
		{"200 with an empty object: status unknown", merchant, http.StatusOK, `{}`,
			path + "?brandid=1234&appid=wx1234567890abcdef", businesscircle.PointsCommitStatusUnknown},
		{"large brandid", businesscircle.CommitStatusQuery{BrandID: 9007199254740993, AppID: "wx1"}, http.StatusOK, `{"points_commit_status":"FINISHED"}`,
			path + "?brandid=9007199254740993&appid=wx1", businesscircle.PointsCommitStatusFinished},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, v3 := newFake(t)
			s.Handle("GET", path, func(*wxtest.Request) (int, []byte) { return tt.status, []byte(tt.answer) })
			got, resp, err := v3.Businesscircle.Users.Points.CommitStatus.Get(context.Background(), "oWmnN4xxxxxxxxxxe92NHIGf1xd8", tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if got.PointsCommitStatus != tt.want {
				t.Errorf("points_commit_status = %q, want %q", got.PointsCommitStatus, tt.want)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			r := only(t, s)
			if r.Method != "GET" || r.RequestTarget != tt.wantTarget {
				t.Errorf("request = %s %s, want GET %s", r.Method, r.RequestTarget, tt.wantTarget)
			}
		})
	}
}

func TestCommitStatusOpenIDIsEscapedNotCaseFolded(t *testing.T) {
	t.Parallel()
	s, _, v3 := newFake(t)
	const openid = "OWMN/Ab?Cd"
	s.Handle("GET", "/v3/businesscircle/users/"+openid+"/points/commit_status", func(*wxtest.Request) (int, []byte) {
		return http.StatusOK, []byte(`{"points_commit_status":"PENDING"}`)
	})
	got, _, err := v3.Businesscircle.Users.Points.CommitStatus.Get(context.Background(), openid,
		businesscircle.CommitStatusQuery{BrandID: 7, AppID: "wx1"})
	if err != nil {
		t.Fatal(err)
	}
	if got.PointsCommitStatus != businesscircle.PointsCommitStatusPending {
		t.Errorf("status = %q", got.PointsCommitStatus)
	}
	const want = "/v3/businesscircle/users/OWMN%2FAb%3FCd/points/commit_status?brandid=7&appid=wx1"
	if r := only(t, s); r.RequestTarget != want {
		t.Errorf("request-target = %s, want %s", r.RequestTarget, want)
	}
}

// Failures pass through unchanged: a non-2xx answer is a *wxpay.APIError, an
// answer that is not JSON is an error, an unsigned success is refused.
func TestQueryFailures(t *testing.T) {
	t.Parallel()
	const path = "/v3/businesscircle/user-authorizations/o1"
	q := businesscircle.UserAuthorizationQuery{AppID: "wx1"}
	t.Run("PARAM_ERROR is an APIError", func(t *testing.T) {
		t.Parallel()
		s, _, v3 := newFake(t)
		s.Handle("GET", path, func(*wxtest.Request) (int, []byte) {
			return http.StatusBadRequest, []byte(`{"code":"PARAM_ERROR","message":"参数错误"}`)
		})
		got, _, err := v3.Businesscircle.UserAuthorizations.Get(context.Background(), "o1", q)
		var apiErr *wxpay.APIError
		if !errors.As(err, &apiErr) || apiErr.Code != "PARAM_ERROR" || got != nil {
			t.Fatalf("Get = %v, %v; want a PARAM_ERROR *wxpay.APIError", got, err)
		}
	})
	t.Run("a body that is not JSON is an error", func(t *testing.T) {
		t.Parallel()
		s, _, v3 := newFake(t)
		s.Handle("GET", path, func(*wxtest.Request) (int, []byte) { return http.StatusOK, []byte(`not json`) })
		got, resp, err := v3.Businesscircle.UserAuthorizations.Get(context.Background(), "o1", q)
		if err == nil || got != nil || resp == nil {
			t.Fatalf("Get = %v, %v, %v; want an error with the response", got, resp, err)
		}
	})
	t.Run("a bad signature is refused", func(t *testing.T) {
		t.Parallel()
		s, _, v3 := newFake(t)
		s.SetFault(wxtest.FaultBadSignature)
		s.Handle("GET", path, func(*wxtest.Request) (int, []byte) {
			return http.StatusOK, []byte(`{"openid":"o1","authorize_state":"AUTHORIZED"}`)
		})
		got, _, err := v3.Businesscircle.UserAuthorizations.Get(context.Background(), "o1", q)
		if !errors.Is(err, wxpay.ErrBadSignature) || got != nil {
			t.Fatalf("Get = %v, %v; want ErrBadSignature", got, err)
		}
	})
}

// The string chain reaches the same endpoints as the typed chain, and each
// typed endpoint exposes its own.
func TestStringChainStillWorks(t *testing.T) {
	t.Parallel()
	s, c, v3 := newFake(t)
	s.Handle("GET", "/v3/businesscircle/user-authorizations/o1", func(*wxtest.Request) (int, []byte) {
		return http.StatusOK, []byte(`{"openid":"o1","authorize_state":"AUTHORIZED"}`)
	})
	ctx := context.Background()
	if _, err := c.Chain(businesscircle.PathPointsNotify).Post(ctx, wxpay.JSON(seedNotify())); err != nil {
		t.Fatal(err)
	}
	if _, err := v3.Businesscircle.Chain().Chain("points/notify").Post(ctx, wxpay.JSON(seedNotify())); err != nil {
		t.Fatal(err)
	}
	resp, err := v3.Businesscircle.UserAuthorizations.Chain().Get(ctx, wxpay.PathParam("openid", "o1"), wxpay.Query("appid", "wx1"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("Get = %v, %v", resp, err)
	}
	for _, p := range []struct{ got, want string }{
		{v3.Businesscircle.Points.Notify.Chain().Path(), "v3/businesscircle/points/notify"},
		{v3.Businesscircle.UserAuthorizations.Chain().Path(), "v3/businesscircle/user-authorizations/{openid}"},
		{v3.Businesscircle.Users.Points.CommitStatus.Chain().Path(), "v3/businesscircle/users/{openid}/points/commit_status"},
		{v3.Businesscircle.Parkings.Chain().Path(), "v3/businesscircle/parkings"},
	} {
		if p.got != p.want {
			t.Errorf("Path() = %s, want %s", p.got, p.want)
		}
	}
	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	for _, r := range reqs {
		if r.AuthErr != nil {
			t.Errorf("%s %s: %v", r.Method, r.RequestTarget, r.AuthErr)
		}
	}
	if string(reqs[0].Body) != string(reqs[1].Body) {
		t.Errorf("string chain and Businesscircle.Chain sent different bodies")
	}
}

// A request that fails validation is never sent, by the sync or the async call.
func TestInvalidRequestsAreNeverSent(t *testing.T) {
	t.Parallel()
	s, _, v3 := newFake(t)
	ctx := context.Background()
	bad := businesscircle.PointsNotifyRequest{TransactionID: "1", AppID: "wx1", EarnPoints: true, PointsUpdateTime: "2024-01-06 14:06:00"}
	badParking := seedParking()
	badParking.State = "PARKED"
	calls := map[string]func() error{
		"points Post":       func() error { _, err := v3.Businesscircle.Points.Notify.Post(ctx, bad); return err },
		"points PostAsync":  func() error { _, err := v3.Businesscircle.Points.Notify.PostAsync(ctx, bad).Wait(); return err },
		"parking Post":      func() error { _, err := v3.Businesscircle.Parkings.Post(ctx, badParking); return err },
		"parking PostAsync": func() error { _, err := v3.Businesscircle.Parkings.PostAsync(ctx, badParking).Wait(); return err },
	}
	for name, call := range calls {
		err := call()
		var ve *businesscircle.ValidationError
		if !errors.As(err, &ve) || !strings.HasPrefix(err.Error(), "businesscircle: ") {
			t.Errorf("%s: err = %v, want a *ValidationError naming the field", name, err)
		}
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d invalid requests reached the server", n)
	}
}

// TestTypedCallsRefuseUndocumentedSuccesses: a typed call accepts only the
// 2xx its endpoint documents (204 for the syncs, 200 or 204 for
// commit_status, 200 for the authorisation query); any other verified 2xx
// is wxpay.ErrUnexpectedStatus, because the call's outcome is unclear.
func TestTypedCallsRefuseUndocumentedSuccesses(t *testing.T) {
	t.Parallel()
	const openid = "oWmnN4xxxxxxxxxxe92NHIGf1xd8"
	calls := []struct {
		name, method, path string
		call               func(*businesscircle.V3) error
		unexpected         []int
	}{
		{"points sync", "POST", "/v3/businesscircle/points/notify", func(v3 *businesscircle.V3) error {
			_, err := v3.Businesscircle.Points.Notify.Post(context.Background(), seedNotify())
			return err
		}, []int{200, 201, 206}},
		{"parking sync", "POST", "/v3/businesscircle/parkings", func(v3 *businesscircle.V3) error {
			_, err := v3.Businesscircle.Parkings.Post(context.Background(), seedParking())
			return err
		}, []int{200, 201}},
		{"commit_status", "GET", "/v3/businesscircle/users/" + openid + "/points/commit_status", func(v3 *businesscircle.V3) error {
			_, _, err := v3.Businesscircle.Users.Points.CommitStatus.Get(context.Background(), openid,
				businesscircle.CommitStatusQuery{BrandID: 1, AppID: "wx1"})
			return err
		}, []int{201, 203}},
		{"authorisation query", "GET", "/v3/businesscircle/user-authorizations/" + openid, func(v3 *businesscircle.V3) error {
			_, _, err := v3.Businesscircle.UserAuthorizations.Get(context.Background(), openid,
				businesscircle.UserAuthorizationQuery{AppID: "wx1"})
			return err
		}, []int{201, 204}},
	}
	for _, c := range calls {
		for _, status := range c.unexpected {
			t.Run(c.name+" "+http.StatusText(status), func(t *testing.T) {
				t.Parallel()
				s, _, v3 := newFake(t)
				s.Handle(c.method, c.path, func(*wxtest.Request) (int, []byte) {
					if status == 204 {
						return status, nil
					}
					return status, []byte(`{"points_commit_status":"PENDING","openid":"o"}`)
				})
				if err := c.call(v3); !errors.Is(err, wxpay.ErrUnexpectedStatus) {
					t.Fatalf("HTTP %d: err = %v, want wxpay.ErrUnexpectedStatus", status, err)
				}
			})
		}
	}
}

// TestA202IsRepeatedUntilProcessed: a signed 202 to a sync or a
// commit_status query is sent again with the same body; a 202 that stays
// is an error saying so, not a success.
func TestA202IsRepeatedUntilProcessed(t *testing.T) {
	t.Parallel()
	const openid = "oWmnN4xxxxxxxxxxe92NHIGf1xd8"
	calls := []struct {
		name, method, path string
		done               int // the documented success
		call               func(*businesscircle.V3) error
	}{
		{"points sync", "POST", "/v3/businesscircle/points/notify", 204, func(v3 *businesscircle.V3) error {
			_, err := v3.Businesscircle.Points.Notify.Post(context.Background(), seedNotify())
			return err
		}},
		{"parking sync", "POST", "/v3/businesscircle/parkings", 204, func(v3 *businesscircle.V3) error {
			_, err := v3.Businesscircle.Parkings.Post(context.Background(), seedParking())
			return err
		}},
		{"commit_status", "GET", "/v3/businesscircle/users/" + openid + "/points/commit_status", 200, func(v3 *businesscircle.V3) error {
			got, _, err := v3.Businesscircle.Users.Points.CommitStatus.Get(context.Background(), openid,
				businesscircle.CommitStatusQuery{BrandID: 1, AppID: "wx1"})
			if err == nil && got.PointsCommitStatus != businesscircle.PointsCommitStatusPending {
				return errors.New("status " + string(got.PointsCommitStatus))
			}
			return err
		}},
	}
	for _, c := range calls {
		for _, stays := range []bool{false, true} {
			t.Run(c.name+map[bool]string{false: ", then done", true: ", stays 202"}[stays], func(t *testing.T) {
				t.Parallel()
				k := wxtest.SharedKeys()
				s := wxtest.NewServer(k)
				t.Cleanup(s.Close)
				cl, err := wxpay.NewClient(wxpay.WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey),
					wxpay.WithWechatPayPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey), wxpay.WithBaseURL(s.URL),
					wxpay.WithRetryPolicy(wxpay.RetryPolicy{MaxRetries: 2, MinWait: time.Microsecond, MaxWait: time.Microsecond}))
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				s.Handle(c.method, c.path, func(*wxtest.Request) (int, []byte) {
					if n++; n == 1 || stays {
						return http.StatusAccepted, nil
					}
					if c.done == 204 {
						return 204, nil
					}
					return 200, []byte(`{"points_commit_status":"PENDING"}`)
				})
				err = c.call(businesscircle.New(cl))
				reqs := s.Requests()
				switch {
				case stays && !errors.Is(err, wxpay.ErrNotProcessed):
					t.Fatalf("err = %v, want wxpay.ErrNotProcessed", err)
				case !stays && err != nil:
					t.Fatal(err)
				case stays && len(reqs) != 3, !stays && len(reqs) != 2:
					t.Fatalf("%d requests", len(reqs))
				}
				for _, r := range reqs {
					if string(r.Body) != string(reqs[0].Body) || r.RequestTarget != reqs[0].RequestTarget {
						t.Fatal("a repeated request differs from the first")
					}
				}
			})
		}
	}
}

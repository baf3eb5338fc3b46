package businesscircle_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/businesscircle"
)

// The seed page's body: a service provider syncing 100 points.
func seedNotify() businesscircle.PointsNotifyRequest {
	return businesscircle.PointsNotifyRequest{
		SubMchID:         "1234567890",
		TransactionID:    "1217752501201407033233368018",
		AppID:            "wx1234567890abcdef",
		OpenID:           "oWmnN4xxxxxxxxxxe92NHIGf1xd8",
		EarnPoints:       true,
		IncreasedPoints:  100,
		PointsUpdateTime: "2020-05-20T13:29:35.120+08:00",
		NoPointsRemarks:  "商品不参与积分活动",
		TotalPoints:      businesscircle.Int64(888888),
	}
}

func seedParking() businesscircle.ParkingRequest {
	return businesscircle.ParkingRequest{
		SubMchID:    "1234567890",
		BrandID:     1234,
		AppID:       "wx1234567890abcdef",
		OpenID:      "oWmnN4xxxxxxxxxxe92NHIGf1xd8",
		PlateNumber: "粤B888888",
		State:       businesscircle.ParkingStateIn,
		Time:        "2022-06-01T10:43:39+08:00",
	}
}

// wantValidation checks that err is a *ValidationError for field whose rule
// contains rule, or that err is nil when field is "".
func wantValidation(t *testing.T, err error, field, rule string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("Validate() = %v, want nil", err)
		}
		return
	}
	var ve *businesscircle.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate() = %v, want a *ValidationError for %s", err, field)
	}
	if ve.Field != field || !strings.Contains(ve.Rule, rule) {
		t.Fatalf("Validate() = %v (field %q, rule %q), want field %q and a rule containing %q", err, ve.Field, ve.Rule, field, rule)
	}
	if want := "businesscircle: " + field + ": "; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Error() = %q, want it to start with %q", err.Error(), want)
	}
}

// Short names for the tables' edit functions.
type (
	notifyReq   = businesscircle.PointsNotifyRequest
	parkingReq  = businesscircle.ParkingRequest
	authQuery   = businesscircle.UserAuthorizationQuery
	statusQuery = businesscircle.CommitStatusQuery
)

const (
	emoji  = "😀" // U+1F600, four bytes in UTF-8
	extB   = "𠀀" // U+20000, a Chinese character outside the BMP: four bytes
	han    = "积" // three bytes, one character
	tooOld = "2024-01-06 14:06:00"
)

func TestPointsNotifyRequestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		edit        func(r *notifyReq)
		field, rule string // field "" = valid
	}{
		{"seed body is valid", func(r *notifyReq) {}, "", ""},
		{"merchant mode omits sub_mchid", func(r *notifyReq) { r.SubMchID = "" }, "", ""},
		{"no points: earn_points false with increased_points 0", func(r *notifyReq) {
			r.EarnPoints, r.IncreasedPoints = false, 0
		}, "", ""},
		{"no points without a remark", func(r *notifyReq) {
			r.EarnPoints, r.IncreasedPoints, r.NoPointsRemarks = false, 0, ""
		}, "", ""},
		{"total_points optional", func(r *notifyReq) { r.TotalPoints = nil }, "", ""},
		{"total_points 0", func(r *notifyReq) { r.TotalPoints = businesscircle.Int64(0) }, "", ""},

		{"sub_mchid at 64", func(r *notifyReq) { r.SubMchID = strings.Repeat("1", 64) }, "", ""},
		{"sub_mchid over 64", func(r *notifyReq) { r.SubMchID = strings.Repeat("1", 65) }, "sub_mchid", "at most 64 bytes of UTF-8, got 65"},
		{"sub_mchid four-byte UTF-8", func(r *notifyReq) { r.SubMchID = "1" + emoji }, "sub_mchid", "four bytes"},

		{"transaction_id required", func(r *notifyReq) { r.TransactionID = "" }, "transaction_id", "is required"},
		{"transaction_id at 64", func(r *notifyReq) { r.TransactionID = strings.Repeat("4", 64) }, "", ""},
		{"transaction_id over 64", func(r *notifyReq) { r.TransactionID = strings.Repeat("4", 65) }, "transaction_id", "at most 64"},

		{"appid required", func(r *notifyReq) { r.AppID = "" }, "appid", "is required"},
		{"appid at 128", func(r *notifyReq) { r.AppID = strings.Repeat("w", 128) }, "", ""},
		{"appid over 128", func(r *notifyReq) { r.AppID = strings.Repeat("w", 129) }, "appid", "at most 128"},

		{"openid required", func(r *notifyReq) { r.OpenID = "" }, "openid", "is required"},
		{"openid at 64", func(r *notifyReq) { r.OpenID = strings.Repeat("o", 64) }, "", ""},
		{"openid over 64", func(r *notifyReq) { r.OpenID = strings.Repeat("o", 65) }, "openid", "at most 64"},
		{"openid four-byte UTF-8", func(r *notifyReq) { r.OpenID = "oWmn" + emoji }, "openid", "character 5 (U+1F600) needs four bytes"},
		{"openid invalid UTF-8", func(r *notifyReq) { r.OpenID = "oWmn\xff" }, "openid", "not valid UTF-8"},

		{"negative increased_points are not refused (no documented rule)", func(r *notifyReq) { r.IncreasedPoints = -5 }, "", ""},

		{"points_update_time required", func(r *notifyReq) { r.PointsUpdateTime = "" }, "points_update_time", "is required"},
		{"points_update_time without fractional seconds", func(r *notifyReq) { r.PointsUpdateTime = "2024-01-06T16:32:00+08:00" }, "", ""},
		{"points_update_time with milliseconds", func(r *notifyReq) { r.PointsUpdateTime = "2020-05-20T13:29:35.120+08:00" }, "", ""},
		{"points_update_time in UTC with Z", func(r *notifyReq) { r.PointsUpdateTime = "2020-05-20T05:29:35Z" }, "", ""},
		{"points_update_time at 32 characters", func(r *notifyReq) { r.PointsUpdateTime = "2020-05-20T13:29:35.123456+08:00" }, "", ""},
		{"points_update_time over 32 characters", func(r *notifyReq) {
			r.PointsUpdateTime = "2020-05-20T13:29:35.123456789+08:00"
		}, "points_update_time", "at most 32 bytes of UTF-8, got 35"},
		{"points_update_time with a space instead of T", func(r *notifyReq) { r.PointsUpdateTime = tooOld }, "points_update_time", `"2024-01-06 14:06:00" is not an RFC 3339 time`},
		{"points_update_time without offset", func(r *notifyReq) { r.PointsUpdateTime = "2020-05-20T13:29:35" }, "points_update_time", "not an RFC 3339 time"},
		{"points_update_time with offset lacking a colon", func(r *notifyReq) { r.PointsUpdateTime = "2020-05-20T13:29:35+0800" }, "points_update_time", "not an RFC 3339 time"},
		{"points_update_time with comma fraction", func(r *notifyReq) { r.PointsUpdateTime = "2020-05-20T13:29:35,120+08:00" }, "points_update_time", "not an RFC 3339 time"},
		{"points_update_time with offset hour 24", func(r *notifyReq) { r.PointsUpdateTime = "2020-05-20T13:29:35+24:00" }, "points_update_time", "not an RFC 3339 time"},
		{"points_update_time on February 30", func(r *notifyReq) { r.PointsUpdateTime = "2020-02-30T13:29:35+08:00" }, "points_update_time", "not an RFC 3339 time"},
		{"points_update_time date only", func(r *notifyReq) { r.PointsUpdateTime = "2020-05-20" }, "points_update_time", "not an RFC 3339 time"},

		{"no_points_remarks at 128 bytes: 42 Chinese characters and 2 ASCII", func(r *notifyReq) { r.NoPointsRemarks = strings.Repeat(han, 42) + "ab" }, "", ""},
		{"no_points_remarks over 128 bytes: 43 Chinese characters", func(r *notifyReq) { r.NoPointsRemarks = strings.Repeat(han, 43) }, "no_points_remarks", "at most 128 bytes of UTF-8, got 129 (43 characters)"},
		{"no_points_remarks four-byte Chinese character", func(r *notifyReq) { r.NoPointsRemarks = "商品" + extB }, "no_points_remarks", "needs four bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := seedNotify()
			tt.edit(&r)
			wantValidation(t, r.Validate(), tt.field, tt.rule)
		})
	}
}

// The exact message for the mistake WeChat Pay answers misleadingly.
func TestPointsNotifyRequestValidateMessage(t *testing.T) {
	t.Parallel()
	r := seedNotify()
	r.PointsUpdateTime = tooOld
	want := `businesscircle: points_update_time: "2024-01-06 14:06:00" is not an RFC 3339 time`
	if err := r.Validate(); err == nil || err.Error() != want {
		t.Fatalf("Validate() = %v, want %s", err, want)
	}
}

func TestParkingRequestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		edit        func(r *parkingReq)
		field, rule string
	}{
		{"documented body is valid", func(r *parkingReq) {}, "", ""},
		{"merchant mode omits sub_mchid", func(r *parkingReq) { r.SubMchID = "" }, "", ""},
		{"sub_mchid at 32", func(r *parkingReq) { r.SubMchID = strings.Repeat("1", 32) }, "", ""},
		{"sub_mchid over 32", func(r *parkingReq) { r.SubMchID = strings.Repeat("1", 33) }, "sub_mchid", "at most 32"},

		{"brandid required", func(r *parkingReq) { r.BrandID = 0 }, "brandid", "is required"},
		{"brandid negative", func(r *parkingReq) { r.BrandID = -1 }, "brandid", "positive"},
		{"brandid 1", func(r *parkingReq) { r.BrandID = 1 }, "", ""},

		{"appid required", func(r *parkingReq) { r.AppID = "" }, "appid", "is required"},
		{"appid at 32", func(r *parkingReq) { r.AppID = strings.Repeat("w", 32) }, "", ""},
		{"appid over 32 (not 128 here)", func(r *parkingReq) { r.AppID = strings.Repeat("w", 33) }, "appid", "at most 32"},

		{"openid required", func(r *parkingReq) { r.OpenID = "" }, "openid", "is required"},
		{"openid at 64", func(r *parkingReq) { r.OpenID = strings.Repeat("o", 64) }, "", ""},
		{"openid over 64", func(r *parkingReq) { r.OpenID = strings.Repeat("o", 65) }, "openid", "at most 64"},
		{"openid four-byte UTF-8", func(r *parkingReq) { r.OpenID = emoji }, "openid", "four bytes"},

		{"plate_number required", func(r *parkingReq) { r.PlateNumber = "" }, "plate_number", "is required"},
		{"plate_number new-energy plate", func(r *parkingReq) { r.PlateNumber = "京AD12345" }, "", ""},
		{"plate_number with a Chinese suffix", func(r *parkingReq) { r.PlateNumber = "沪A1234学" }, "", ""},
		{"plate_number of a Macau car on the mainland", func(r *parkingReq) { r.PlateNumber = "粤Z1234澳" }, "", ""},
		{"plate_number of a Hong Kong car on the mainland", func(r *parkingReq) { r.PlateNumber = "粤ZA123港" }, "", ""},
		{"plate_number of Macau itself (not a mainland plate)", func(r *parkingReq) { r.PlateNumber = "澳MA1234" }, "plate_number", "character 1 must be one of the 31 mainland province abbreviations"},
		{"plate_number of Hong Kong itself", func(r *parkingReq) { r.PlateNumber = "港A12345" }, "plate_number", "character 1 must be one of the 31 mainland province abbreviations"},
		{"plate_number of Taiwan", func(r *parkingReq) { r.PlateNumber = "台A1234" }, "plate_number", "character 1 must be one of the 31 mainland province abbreviations"},
		{"plate_number that is only a province", func(r *parkingReq) { r.PlateNumber = "粤" }, "plate_number", "more than the province abbreviation"},
		{"plate_number at 32 bytes", func(r *parkingReq) { r.PlateNumber = "粤" + strings.Repeat("B", 29) }, "", ""},
		{"plate_number over 32 bytes", func(r *parkingReq) { r.PlateNumber = "粤" + strings.Repeat("B", 30) }, "plate_number", "at most 32"},
		{"plate_number starting with a letter", func(r *parkingReq) { r.PlateNumber = "B888888" }, "plate_number", "character 1 must be one of the 31 mainland province abbreviations"},
		{"plate_number starting with a non-province character", func(r *parkingReq) { r.PlateNumber = "中B888888" }, "plate_number", "character 1 must be one of the 31 mainland province abbreviations"},
		{"plate_number with a lower-case letter", func(r *parkingReq) { r.PlateNumber = "粤b888888" }, "plate_number", "character 2 must be an upper-case letter"},
		{"plate_number with a space", func(r *parkingReq) { r.PlateNumber = "粤B 88888" }, "plate_number", "character 3"},
		{"plate_number with a hyphen", func(r *parkingReq) { r.PlateNumber = "粤B-88888" }, "plate_number", "character 3"},
		{"plate_number with a full-width letter", func(r *parkingReq) { r.PlateNumber = "粤Ｂ88888" }, "plate_number", "character 2"},
		{"plate_number with a four-byte Chinese character", func(r *parkingReq) { r.PlateNumber = "粤B8888" + extB }, "plate_number", "needs four bytes"},

		{"state OUT", func(r *parkingReq) { r.State = businesscircle.ParkingStateOut }, "", ""},
		{"state required", func(r *parkingReq) { r.State = "" }, "state", `"" is not IN or OUT`},
		{"state lower case", func(r *parkingReq) { r.State = "in" }, "state", `"in" is not IN or OUT`},
		{"state unknown", func(r *parkingReq) { r.State = "PARKED" }, "state", "is not IN or OUT"},

		{"time required", func(r *parkingReq) { r.Time = "" }, "time", "is required"},
		{"time with fractional seconds", func(r *parkingReq) { r.Time = "2022-06-01T10:43:39.5+08:00" }, "", ""},
		{"time not RFC 3339", func(r *parkingReq) { r.Time = "2022-06-01 10:43:39" }, "time", `"2022-06-01 10:43:39" is not an RFC 3339 time`},
		{"time over 32 characters", func(r *parkingReq) { r.Time = "2022-06-01T10:43:39.123456789+08:00" }, "time", "at most 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := seedParking()
			tt.edit(&r)
			wantValidation(t, r.Validate(), tt.field, tt.rule)
		})
	}
}

// The queries' openid is a path argument, so their rules are checked through
// Get, which must refuse before sending anything.
func TestUserAuthorizationsGetValidate(t *testing.T) {
	t.Parallel()
	valid := businesscircle.UserAuthorizationQuery{SubMchID: "1234567890", AppID: "wx1234567890abcdef"}
	tests := []struct {
		name        string
		openid      string
		edit        func(q *authQuery)
		field, rule string
	}{
		{"openid required", "", func(q *authQuery) {}, "openid", "is required"},
		{"openid over 64", strings.Repeat("o", 65), func(q *authQuery) {}, "openid", "at most 64"},
		{"openid dot segment", ".", func(q *authQuery) {}, "openid", "path segment"},
		{"openid dot-dot segment", "..", func(q *authQuery) {}, "openid", "path segment"},
		{"openid four-byte UTF-8", "o" + emoji, func(q *authQuery) {}, "openid", "four bytes"},
		{"appid required", "o1", func(q *authQuery) { q.AppID = "" }, "appid", "is required"},
		{"appid over 128", "o1", func(q *authQuery) { q.AppID = strings.Repeat("w", 129) }, "appid", "at most 128"},
		{"sub_mchid over 64", "o1", func(q *authQuery) { q.SubMchID = strings.Repeat("1", 65) }, "sub_mchid", "at most 64"},
		{"sub_mchid four-byte UTF-8", "o1", func(q *authQuery) { q.SubMchID = extB }, "sub_mchid", "four bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, v3 := newFake(t)
			q := valid
			tt.edit(&q)
			a, resp, err := v3.Businesscircle.UserAuthorizations.Get(context.Background(), tt.openid, q)
			wantValidation(t, err, tt.field, tt.rule)
			if a != nil || resp != nil {
				t.Errorf("Get returned (%v, %v) with a validation error, want nils", a, resp)
			}
			if n := len(s.Requests()); n != 0 {
				t.Errorf("server received %d requests, want none: validation comes first", n)
			}
		})
	}
	t.Run("boundaries are valid", func(t *testing.T) {
		t.Parallel()
		q := businesscircle.UserAuthorizationQuery{SubMchID: strings.Repeat("1", 64), AppID: strings.Repeat("w", 128)}
		wantValidation(t, q.Validate(), "", "")
		wantValidation(t, businesscircle.UserAuthorizationQuery{AppID: "wx1"}.Validate(), "", "")
	})
}

func TestCommitStatusGetValidate(t *testing.T) {
	t.Parallel()
	valid := businesscircle.CommitStatusQuery{SubMchID: "1234567890", BrandID: 1234, AppID: "wx1234567890abcdef"}
	tests := []struct {
		name        string
		openid      string
		edit        func(q *statusQuery)
		field, rule string
	}{
		{"openid required", "", func(q *statusQuery) {}, "openid", "is required"},
		{"openid over 128", strings.Repeat("o", 129), func(q *statusQuery) {}, "openid", "at most 128"},
		{"openid dot-dot segment", "..", func(q *statusQuery) {}, "openid", "path segment"},
		{"openid four-byte UTF-8", emoji, func(q *statusQuery) {}, "openid", "four bytes"},
		{"sub_mchid over 32", "o1", func(q *statusQuery) { q.SubMchID = strings.Repeat("1", 33) }, "sub_mchid", "at most 32"},
		{"brandid required", "o1", func(q *statusQuery) { q.BrandID = 0 }, "brandid", "is required"},
		{"brandid negative", "o1", func(q *statusQuery) { q.BrandID = -1234 }, "brandid", "positive"},
		{"appid required", "o1", func(q *statusQuery) { q.AppID = "" }, "appid", "is required"},
		{"appid over 128", "o1", func(q *statusQuery) { q.AppID = strings.Repeat("w", 129) }, "appid", "at most 128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, v3 := newFake(t)
			q := valid
			tt.edit(&q)
			st, resp, err := v3.Businesscircle.Users.Points.CommitStatus.Get(context.Background(), tt.openid, q)
			wantValidation(t, err, tt.field, tt.rule)
			if st != nil || resp != nil {
				t.Errorf("Get returned (%v, %v) with a validation error, want nils", st, resp)
			}
			if n := len(s.Requests()); n != 0 {
				t.Errorf("server received %d requests, want none: validation comes first", n)
			}
		})
	}
	t.Run("boundaries are valid", func(t *testing.T) {
		t.Parallel()
		q := businesscircle.CommitStatusQuery{SubMchID: strings.Repeat("1", 32), BrandID: 1, AppID: strings.Repeat("w", 128)}
		wantValidation(t, q.Validate(), "", "")
		wantValidation(t, businesscircle.CommitStatusQuery{BrandID: 1234, AppID: "wx1"}.Validate(), "", "")
	})
}

// Post and PostAsync refuse an invalid request without sending it.
func TestInvalidRequestsAreNotSent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bad := seedNotify()
	bad.PointsUpdateTime = tooOld
	badParking := seedParking()
	badParking.State = "PARKED"
	tests := []struct {
		name  string
		call  func(v3 *businesscircle.V3) error
		field string
	}{
		{"points notify Post", func(v3 *businesscircle.V3) error {
			_, err := v3.Businesscircle.Points.Notify.Post(ctx, bad)
			return err
		}, "points_update_time"},
		{"points notify PostAsync", func(v3 *businesscircle.V3) error {
			_, err := v3.Businesscircle.Points.Notify.PostAsync(ctx, bad).Wait()
			return err
		}, "points_update_time"},
		{"parkings Post", func(v3 *businesscircle.V3) error {
			_, err := v3.Businesscircle.Parkings.Post(ctx, badParking)
			return err
		}, "state"},
		{"parkings PostAsync", func(v3 *businesscircle.V3) error {
			_, err := v3.Businesscircle.Parkings.PostAsync(ctx, badParking).Wait()
			return err
		}, "state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, v3 := newFake(t)
			err := tt.call(v3)
			var ve *businesscircle.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Fatalf("error = %v, want a *ValidationError for %s", err, tt.field)
			}
			if n := len(s.Requests()); n != 0 {
				t.Fatalf("server received %d requests, want none", n)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		wantUTC string // "" = error
	}{
		{"2020-05-20T13:29:35+08:00", "2020-05-20T05:29:35Z"},
		{"2020-05-20T13:29:35.120+08:00", "2020-05-20T05:29:35.12Z"},
		{"2020-05-20T13:29:35.123456789Z", "2020-05-20T13:29:35.123456789Z"},
		{"2020-05-20T13:29:35.1234567891Z", ""}, // ten digits: beyond what a time holds
		{"2020-02-30T13:29:35+08:00", ""},
		{"2020-05-20T13:29:35+24:00", ""},
		{"2020-05-20T13:29:35-03:30", "2020-05-20T16:59:35Z"},
		{"2024-01-06 14:06:00", ""},
		{"2020-05-20t13:29:35z", ""},
		{"2020-05-20T13:29:35.+08:00", ""},
		{"2020-05-20T13:29:35+08:60", ""},
		{"2020-05-20T24:00:00+08:00", ""},
		{" 2020-05-20T13:29:35+08:00", ""},
		{"2020-05-20T13:29:35+08:00 ", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := businesscircle.ParseTime(tt.in)
			if tt.wantUTC == "" {
				if err == nil {
					t.Fatalf("ParseTime(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTime(%q): %v", tt.in, err)
			}
			if s := got.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"); s != tt.wantUTC {
				t.Fatalf("ParseTime(%q) = %s, want %s", tt.in, s, tt.wantUTC)
			}
		})
	}
}

func TestFormatTimeWritesBeijingTimeWithMillisecondsThatParseTimeReads(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2020, 5, 20, 5, 29, 35, 120e6, time.UTC), "2020-05-20T13:29:35.120+08:00"},
		{time.Date(2026, 11, 29, 21, 50, 2, 0, time.UTC), "2026-11-30T05:50:02.000+08:00"}, // the Beijing day is the next one
		{time.Date(2020, 5, 20, 13, 29, 35, 999999999, time.FixedZone("CST", 8*3600)), "2020-05-20T13:29:35.999+08:00"},
		{time.Date(2020, 5, 20, 0, 0, 0, 0, time.FixedZone("EST", -5*3600)), "2020-05-20T13:00:00.000+08:00"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			got := businesscircle.FormatTime(tt.in)
			if got != tt.want {
				t.Fatalf("FormatTime(%v) = %s, want %s", tt.in, got, tt.want)
			}
			back, err := businesscircle.ParseTime(got)
			if err != nil {
				t.Fatalf("ParseTime(FormatTime(%v)): %v", tt.in, err)
			}
			if !back.Equal(tt.in.Truncate(time.Millisecond)) {
				t.Fatalf("ParseTime(%s) = %v, want %v", got, back, tt.in.Truncate(time.Millisecond))
			}
		})
	}
}

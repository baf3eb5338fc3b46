package sandbox_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// Every typed call of package businesscircle against the sandbox, as a mall
// (直连商户) and as a service provider naming the mall (服务商): the calls
// verify, and the sandbox's state follows.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name string
		sub  string
		opts []sandbox.ServerOption
	}{
		{"merchant", "", nil},
		{"partner", subMch, []sandbox.ServerOption{sandbox.WithSubMerchants(subMch, "1900000998")}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, mode.opts...)
			ctx := context.Background()
			bc := businesscircle.New(srv.Client).Businesscircle

			authorization := func() *businesscircle.UserAuthorization {
				t.Helper()
				ua, resp, err := bc.UserAuthorizations.Get(ctx, openID, businesscircle.UserAuthorizationQuery{SubMchID: mode.sub, AppID: appID})
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("UserAuthorizations.Get: %v", err)
				}
				return ua
			}
			commitStatus := func() businesscircle.PointsCommitStatus {
				t.Helper()
				cs, _, err := bc.Users.Points.CommitStatus.Get(ctx, openID, businesscircle.CommitStatusQuery{SubMchID: mode.sub, BrandID: 1000, AppID: appID})
				if err != nil {
					t.Fatalf("CommitStatus.Get: %v", err)
				}
				return cs.PointsCommitStatus
			}

			if ua := authorization(); ua.AuthorizeState != businesscircle.AuthorizeStateUnauthorized || ua.OpenID != openID {
				t.Errorf("before authorising: %+v", ua)
			}
			if cs := commitStatus(); cs != businesscircle.PointsCommitStatusFinished {
				t.Errorf("commit status before paying = %s", cs)
			}

			txID := pay(t, srv.Sandbox, mode.sub, true)
			if ua := authorization(); ua.AuthorizeState != businesscircle.AuthorizeStateAuthorized || ua.AuthorizeTime != "2025-05-19T12:00:00+08:00" {
				t.Errorf("after authorising: %+v", ua)
			}
			if cs := commitStatus(); cs != businesscircle.PointsCommitStatusPending {
				t.Errorf("commit status after paying = %s, want PENDING", cs)
			}

			req := businesscircle.PointsNotifyRequest{SubMchID: mode.sub, TransactionID: txID, AppID: appID, OpenID: openID,
				EarnPoints: true, IncreasedPoints: 88, PointsUpdateTime: "2025-05-19T12:00:01.500+08:00",
				NoPointsRemarks: "含 <特价> & 积分", TotalPoints: businesscircle.Int64(888)}
			resp, err := bc.Points.Notify.Post(ctx, req)
			if err != nil || resp.StatusCode != http.StatusNoContent {
				t.Fatalf("Points.Notify.Post: %v", err)
			}
			if cs := commitStatus(); cs != businesscircle.PointsCommitStatusFinished {
				t.Errorf("commit status after the sync = %s, want FINISHED", cs)
			}
			req.IncreasedPoints = 90
			if _, err := bc.Points.Notify.PostAsync(ctx, req).Wait(); err != nil {
				t.Fatalf("PostAsync: %v", err)
			}
			p, _ := srv.Sandbox.Points(txID)
			if p.SyncCount != 2 || !strings.Contains(string(p.LastSync), `"increased_points":90`) {
				t.Errorf("points = %d syncs, last %s", p.SyncCount, p.LastSync)
			}

			if resp, err := bc.Parkings.Post(ctx, businesscircle.ParkingRequest{SubMchID: mode.sub, BrandID: 1000, AppID: appID,
				OpenID: openID, PlateNumber: "粤B888888", State: businesscircle.ParkingStateIn, Time: "2025-05-19T11:00:00+08:00"}); err != nil || resp.StatusCode != 204 {
				t.Fatalf("Parkings.Post: %v", err)
			}
			wantMall := srv.Keys.MchID
			if mode.sub != "" {
				wantMall = mode.sub
			}
			if pk := srv.Sandbox.Parkings(); len(pk) != 1 || pk[0].MchID != wantMall || pk[0].State != "IN" || pk[0].PlateNumber != "粤B888888" {
				t.Errorf("parkings = %+v", pk)
			}

			if _, err := srv.Sandbox.Deauthorize(sandbox.MemberRequest{SubMchID: mode.sub, AppID: appID, OpenID: openID}); err != nil {
				t.Fatal(err)
			}
			if ua := authorization(); ua.AuthorizeState != businesscircle.AuthorizeStateDeauthorized || ua.DeauthorizeTime == "" {
				t.Errorf("after deauthorising: %+v", ua)
			}
		})
	}
}

// A service provider's calls must name one of its malls; the mall's data is
// its own.
func TestRoundTripPartnerMalls(t *testing.T) {
	t.Parallel()
	srv := newServer(t, sandbox.WithSubMerchants(subMch, "1900000998"), sandbox.WithClientOptions(wxpay.WithoutRetries()))
	ctx := context.Background()
	bc := businesscircle.New(srv.Client).Businesscircle
	pay(t, srv.Sandbox, subMch, true)
	ua, _, err := bc.UserAuthorizations.Get(ctx, openID, businesscircle.UserAuthorizationQuery{SubMchID: "1900000998", AppID: appID})
	if err != nil || ua.AuthorizeState != businesscircle.AuthorizeStateUnauthorized {
		t.Errorf("the other mall sees %+v, %v", ua, err)
	}
	_, _, err = bc.Users.Points.CommitStatus.Get(ctx, openID, businesscircle.CommitStatusQuery{SubMchID: "1900000777", BrandID: 1, AppID: appID})
	if apiErr, ok := errors.AsType[*wxpay.APIError](err); !ok || apiErr.StatusCode != 403 || apiErr.Code != "NO_AUTH" {
		t.Errorf("a stranger's mall: %v", err)
	}
	_, err = bc.Parkings.Post(ctx, businesscircle.ParkingRequest{BrandID: 1, AppID: appID, OpenID: openID,
		PlateNumber: "粤B888888", State: businesscircle.ParkingStateOut, Time: "2025-05-19T11:00:00+08:00"})
	if apiErr, ok := errors.AsType[*wxpay.APIError](err); !ok || apiErr.Code != "PARAM_ERROR" || !strings.Contains(string(apiErr.Detail), `"/sub_mchid"`) {
		t.Errorf("no sub_mchid: %v", err)
	}
}

// Brands and app ids, when configured, restrict the calls that name them.
func TestRoundTripBrandsAndAppIDs(t *testing.T) {
	t.Parallel()
	srv := newServer(t, sandbox.WithClientOptions(wxpay.WithoutRetries()), sandbox.WithConfig(func(c *sandbox.Config) {
		c.Merchants[0].AppIDs = []string{appID, "wxother"}
		c.Merchants[0].Brands = map[int64][]string{1000: {appID}, 2000: nil}
	}))
	ctx := context.Background()
	bc := businesscircle.New(srv.Client).Businesscircle
	check := func(name string, brand int64, appid string, status int, code string) {
		t.Helper()
		_, _, err := bc.Users.Points.CommitStatus.Get(ctx, openID, businesscircle.CommitStatusQuery{BrandID: brand, AppID: appid})
		if status == 200 {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			return
		}
		if apiErr, ok := errors.AsType[*wxpay.APIError](err); !ok || apiErr.StatusCode != status || apiErr.Code != code {
			t.Errorf("%s: %v, want %d %s", name, err, status, code)
		}
	}
	check("brand and bound app id", 1000, appID, 200, "")
	check("brand bound to no app id in particular", 2000, "wxother", 200, "")
	check("unknown brand", 3000, appID, 403, "NO_AUTH")
	check("app id not bound to the brand", 1000, "wxother", 400, "PARAM_ERROR")
	check("app id not the merchant's", 2000, "wxstranger", 400, "PARAM_ERROR")
	if _, err := srv.Sandbox.Pay(sandbox.PaymentRequest{AppID: "wxstranger", OpenID: openID, Amount: 1}); err == nil {
		t.Error("a payment with a stranger's app id was accepted")
	}
}

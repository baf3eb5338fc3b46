package sandbox_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// A member who withdraws the authorisation (POST
// /sandbox/authorizations/{openid}/revoke, the plugin's 取消授权) is
// DEAUTHORIZED to the authorisation query, and a later points sync for it,
// even of a payment notified before, gets Config.DeauthorizedSyncAnswer
// (inferred: WeChat Pay documents no answer). Later payments are neither
// notified nor held. With the rate limits on, in both modes.
func TestARevokedMemberIsDeauthorizedAndItsSyncsAreRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		configured sandbox.ErrorAnswer
		want       sandbox.ErrorAnswer
	}{
		{"the default answer", sandbox.ErrorAnswer{},
			sandbox.ErrorAnswer{Status: 400, Code: "USER_NOT_AUTHORIZED", Message: "用户未授权商圈会员积分服务"}},
		{"a configured answer", sandbox.ErrorAnswer{Status: 403, Code: "NO_AUTH", Message: "商户暂无权限使用此功能"},
			sandbox.ErrorAnswer{Status: 403, Code: "NO_AUTH", Message: "商户暂无权限使用此功能"}},
	} {
		for _, mode := range modes {
			t.Run(tt.name+"/"+mode.name, func(t *testing.T) {
				t.Parallel()
				srv := newServer(t, append(mode.opts, withRulesOfWeChatPay(func(c *sandbox.Config) {
					c.DeauthorizedSyncAnswer = tt.configured
				}))...)
				q := newQueries(t, srv, mode.sub)
				if st := adminDo(t, srv, http.MethodPost, "/sandbox/authorizations",
					mustJSON(map[string]string{"appid": appID, "openid": openID, "sub_mchid": mode.sub}), nil); st != 201 {
					t.Fatalf("authorise = %d", st)
				}
				var paid sandbox.Payment
				if st := adminDo(t, srv, http.MethodPost, "/sandbox/transactions",
					mustJSON(map[string]any{"appid": appID, "openid": openID, "sub_mchid": mode.sub, "amount": 8800}), &paid); st != 201 || paid.NotificationID == "" {
					t.Fatalf("pay = %d %+v", st, paid)
				}

				var mb sandbox.Member
				if st := adminDo(t, srv, http.MethodPost, "/sandbox/authorizations/"+openID+"/revoke",
					mustJSON(map[string]string{"appid": appID, "sub_mchid": mode.sub}), &mb); st != 200 || mb.AuthorizeState != "DEAUTHORIZED" {
					t.Fatalf("revoke = %d %+v", st, mb)
				}
				ua := q.authorization()
				if ua.AuthorizeState != businesscircle.AuthorizeStateDeauthorized || ua.DeauthorizeTime != "2025-05-19T12:00:00+08:00" || ua.AuthorizeTime == "" {
					t.Errorf("authorisation query after the revocation: %+v", ua)
				}

				_, err := businesscircle.New(srv.Client).Businesscircle.Points.Notify.Post(context.Background(), businesscircle.PointsNotifyRequest{
					SubMchID: mode.sub, TransactionID: paid.TransactionID, AppID: appID, OpenID: openID,
					EarnPoints: true, IncreasedPoints: 88, PointsUpdateTime: "2025-05-19T12:00:00+08:00"})
				var ae *wxpay.APIError
				if !errors.As(err, &ae) || ae.StatusCode != tt.want.Status || ae.Code != tt.want.Code || ae.Message != tt.want.Message {
					t.Errorf("sync after the revocation: %v, want %d %s %s", err, tt.want.Status, tt.want.Code, tt.want.Message)
				}
				if ps, _ := srv.Sandbox.Points(paid.TransactionID); ps.SyncCount != 0 {
					t.Errorf("a refused sync was counted: %+v", ps)
				}

				later, err := srv.Sandbox.Pay(sandbox.PaymentRequest{SubMchID: mode.sub, AppID: appID, OpenID: openID, Amount: 100})
				if err != nil || later.NotificationID != "" || later.HeldUntil != "" {
					t.Errorf("a payment after the revocation: %+v, %v; want recorded only", later, err)
				}
				var e struct{ Error, Field string }
				if st := adminDo(t, srv, http.MethodPost, "/sandbox/authorizations/"+openID+"/revoke",
					mustJSON(map[string]string{"appid": appID, "sub_mchid": mode.sub}), &e); st != 400 || e.Field != "openid" {
					t.Errorf("a second revocation = %d %+v, want 400 naming openid", st, e)
				}
			})
		}
	}
}

// DeauthorizedSyncAnswer must be an error answer with a code.
func TestDeauthorizedSyncAnswerMustBeAnErrorWithACode(t *testing.T) {
	t.Parallel()
	k, err := sandbox.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		answer sandbox.ErrorAnswer
		ok     bool
	}{
		{sandbox.ErrorAnswer{}, true},
		{sandbox.ErrorAnswer{Status: 400, Code: "USER_NOT_AUTHORIZED"}, true},
		{sandbox.ErrorAnswer{Status: 500, Code: "SYSTEM_ERROR", Message: "系统异常，请稍后重试"}, true},
		{sandbox.ErrorAnswer{Status: 204, Code: "OK"}, false},
		{sandbox.ErrorAnswer{Status: 400}, false},
		{sandbox.ErrorAnswer{Code: "USER_NOT_AUTHORIZED"}, false},
	} {
		cfg := k.Config()
		cfg.DeauthorizedSyncAnswer = tt.answer
		if _, err := sandbox.New(cfg); (err == nil) != tt.ok {
			t.Errorf("%+v: New error %v, want ok %v", tt.answer, err, tt.ok)
		}
	}
	cfg := k.Config()
	cfg.HoldPaymentsFor = -1
	if _, err := sandbox.New(cfg); err == nil {
		t.Error("a negative HoldPaymentsFor was accepted")
	}
}

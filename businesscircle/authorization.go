package businesscircle

import (
	"context"
	"net/http"

	"github.com/seed2ac2593f/wxpay"
)

// UserAuthorizationQuery is the query of 商圈会员积分服务授权查询 (has the
// customer authorised the mall's points service?). The openid is the path
// argument of UserAuthorizations.Get.
//
// WeChat Pay documents:
//   - merchant (直连商户): https://pay.weixin.qq.com/doc/v3/merchant/4012534848
//   - partner (服务商): https://pay.weixin.qq.com/doc/v3/partner/4012474135
type UserAuthorizationQuery struct {
	// SubMchID is the mall merchant (商圈商户ID), [1,64]. Only the partner
	// document lists it: a service provider sets it, a mall leaves it empty.
	SubMchID string
	// AppID is the mini program the customer authorised with, [1,128].
	AppID string
}

// Validate checks the query against the documented rules and returns a
// *ValidationError naming the first parameter that breaks one.
func (q UserAuthorizationQuery) Validate() error {
	if err := checkText("sub_mchid", q.SubMchID, 0, 64); err != nil {
		return err
	}
	return checkText("appid", q.AppID, 1, 128)
}

// AuthorizeState is a customer's points-service authorisation state.
type AuthorizeState string

// The documented authorisation states.
const (
	// AuthorizeStateUnauthorized: no authorisation record; also the answer
	// for an openid WeChat Pay has never seen.
	AuthorizeStateUnauthorized AuthorizeState = "UNAUTHORIZED"
	// AuthorizeStateAuthorized: the customer authorised the points service.
	AuthorizeStateAuthorized AuthorizeState = "AUTHORIZED"
	// AuthorizeStateDeauthorized: the customer withdrew the authorisation.
	AuthorizeStateDeauthorized AuthorizeState = "DEAUTHORIZED"
)

// UserAuthorization is the answer of 商圈会员积分服务授权查询. Times are
// kept as WeChat Pay wrote them (RFC 3339; see ParseTime) and are empty when
// absent.
type UserAuthorization struct {
	OpenID          string         `json:"openid"`                     // the customer asked about
	AuthorizeState  AuthorizeState `json:"authorize_state"`            // UNAUTHORIZED, AUTHORIZED or DEAUTHORIZED
	AuthorizeTime   string         `json:"authorize_time,omitempty"`   // when the customer authorised
	DeauthorizeTime string         `json:"deauthorize_time,omitempty"` // when the customer withdrew
}

// UserAuthorizations is GET /v3/businesscircle/user-authorizations/{openid}
// (商圈会员积分服务授权查询), documented at 150 QPS.
//
// WeChat Pay documents:
//   - merchant (直连商户): https://pay.weixin.qq.com/doc/v3/merchant/4012534848
//   - partner (服务商): https://pay.weixin.qq.com/doc/v3/partner/4012474135
type UserAuthorizations struct{ chain *wxpay.Chain }

// Get asks for the authorisation state of openid ([1,64]). The openid is sent
// as a percent-escaped path segment, its case untouched. Query parameters go
// in the documented order, sub_mchid then appid.
func (u *UserAuthorizations) Get(ctx context.Context, openid string, q UserAuthorizationQuery) (*UserAuthorization, *wxpay.Response, error) {
	if err := checkPathSegment("openid", openid, 64); err != nil {
		return nil, nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, nil, err
	}
	opts := []wxpay.RequestOption{wxpay.PathParam("openid", openid)}
	if q.SubMchID != "" {
		opts = append(opts, wxpay.Query("sub_mchid", q.SubMchID))
	}
	opts = append(opts, wxpay.Query("appid", q.AppID))
	resp, err := u.chain.Get(ctx, opts...)
	if err != nil {
		return nil, resp, err
	}
	if err := expectStatus(resp, http.StatusOK); err != nil {
		return nil, resp, err
	}
	var a UserAuthorization
	if err := resp.DecodeJSON(&a); err != nil {
		return nil, resp, err
	}
	return &a, resp, nil
}

// Chain returns the string chain of this endpoint; fill {openid} with
// wxpay.PathParam.
func (u *UserAuthorizations) Chain() *wxpay.Chain { return u.chain }

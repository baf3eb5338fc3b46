package businesscircle

import (
	"context"
	"net/http"

	"github.com/seed2ac2593f/wxpay"
)

// PointsNotifyRequest is the body of 商圈会员积分同步 (points sync): it tells
// WeChat Pay the points outcome of a transaction that WeChat Pay pushed
// earlier as MALL_TRANSACTION.SUCCESS (see TransactionEvent).
//
// WeChat Pay documents:
//   - merchant (直连商户): https://pay.weixin.qq.com/doc/v3/merchant/4012534698
//   - partner (服务商): https://pay.weixin.qq.com/doc/v3/partner/4012474133
//
// EarnPoints and IncreasedPoints are always sent, so "no points for this
// purchase" is expressible: EarnPoints false, IncreasedPoints 0 and, as a
// courtesy, NoPointsRemarks. TotalPoints is a pointer so that it can be left
// out (nil) and still carry 0.
type PointsNotifyRequest struct {
	// SubMchID is the mall merchant (商圈商户ID), string(64). A service
	// provider (服务商) must set it; a mall calling as itself leaves it empty.
	SubMchID string `json:"sub_mchid,omitempty"`
	// TransactionID is the 微信订单号 of the MALL_TRANSACTION.SUCCESS
	// notification, [1,64].
	TransactionID string `json:"transaction_id"`
	// AppID is the mini program the customer authorised points with, [1,128].
	AppID string `json:"appid"`
	// OpenID is the customer under AppID, [1,64].
	OpenID string `json:"openid"`
	// EarnPoints says whether the purchase earned points.
	EarnPoints bool `json:"earn_points"`
	// IncreasedPoints is the number of points the purchase added; 0 is sent.
	IncreasedPoints int64 `json:"increased_points"`
	// PointsUpdateTime is when the points were credited, RFC 3339 with or
	// without fractional seconds, such as 2020-05-20T13:29:35.120+08:00
	// (FormatTime writes one from a time.Time).
	// "2024-01-06 14:06:00" is refused: WeChat Pay answers it with a
	// PARAM_ERROR that blames the ids instead.
	PointsUpdateTime string `json:"points_update_time"`
	// NoPointsRemarks says why no points were earned, [1,128]; optional.
	NoPointsRemarks string `json:"no_points_remarks,omitempty"`
	// TotalPoints is the customer's points total in the mall; optional (nil
	// leaves it out, a pointer to 0 sends 0). See Int64.
	TotalPoints *int64 `json:"total_points,omitempty"`
}

// Validate checks every field against the documented rules and returns a
// *ValidationError naming the first field, in body order, that breaks one.
// WeChat Pay sets no rule between EarnPoints and IncreasedPoints, so none is
// invented here; negative points are not refused either.
func (r PointsNotifyRequest) Validate() error {
	for _, c := range []struct {
		field, value string
		lo, hi       int
	}{
		{"sub_mchid", r.SubMchID, 0, 64},
		{"transaction_id", r.TransactionID, 1, 64},
		{"appid", r.AppID, 1, 128},
		{"openid", r.OpenID, 1, 64},
	} {
		if err := checkText(c.field, c.value, c.lo, c.hi); err != nil {
			return err
		}
	}
	if err := checkTime("points_update_time", r.PointsUpdateTime); err != nil {
		return err
	}
	return checkText("no_points_remarks", r.NoPointsRemarks, 0, 128)
}

// Int64 returns a pointer to v, for optional integer fields such as
// PointsNotifyRequest.TotalPoints.
func Int64(v int64) *int64 { return &v }

// PointsNotify is POST /v3/businesscircle/points/notify (商圈会员积分同步).
//
// WeChat Pay documents:
//   - merchant (直连商户): https://pay.weixin.qq.com/doc/v3/merchant/4012534698
//   - partner (服务商): https://pay.weixin.qq.com/doc/v3/partner/4012474133
type PointsNotify struct{ chain *wxpay.Chain }

// Post validates req and sends it. WeChat Pay answers 204 No Content; any
// other answer is an error: *wxpay.APIError for non-2xx, wxpay.ErrNotProcessed
// for a 202 that stayed 202 through the retries, wxpay.ErrUnexpectedStatus
// for any other 2xx (returned with the response). What a second sync
// of the same transaction does is not documented; a call whose outcome is
// unknown (a timeout after sending) is best repeated with the same body.
func (p *PointsNotify) Post(ctx context.Context, req PointsNotifyRequest) (*wxpay.Response, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	resp, err := p.chain.Post(ctx, wxpay.JSON(req))
	if err != nil {
		return nil, err
	}
	return resp, expectStatus(resp, http.StatusNoContent)
}

// PostAsync is Post in its own goroutine, the counterpart of the seeds'
// postAsync(…)->then(…)->wait(). A request that fails validation is never
// sent; its future fails with an error wrapping the *ValidationError.
func (p *PointsNotify) PostAsync(ctx context.Context, req PointsNotifyRequest) *wxpay.Future {
	return wxpay.Async(func() (*wxpay.Response, error) { return p.Post(ctx, req) })
}

// Chain returns the string chain of this endpoint.
func (p *PointsNotify) Chain() *wxpay.Chain { return p.chain }

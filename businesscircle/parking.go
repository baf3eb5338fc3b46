package businesscircle

import (
	"context"
	"net/http"

	"github.com/seed2ac2593f/wxpay"
)

// ParkingState is a car's presence in the mall.
type ParkingState string

// The documented parking states.
const (
	ParkingStateIn  ParkingState = "IN"  // the member drove into the mall
	ParkingStateOut ParkingState = "OUT" // the member drove out
)

// ParkingRequest is the body of 商圈会员停车状态同步 (parking status sync):
// a member's car entering or leaving lets WeChat Pay credit the member's
// in-mall purchases automatically.
//
// WeChat Pay documents:
//   - merchant (直连商户): https://pay.weixin.qq.com/doc/v3/merchant/4012535502
//   - partner (服务商): https://pay.weixin.qq.com/doc/v3/partner/4012474127
type ParkingRequest struct {
	// SubMchID is the sub-merchant (子商户号), string(32): required of a
	// service provider (服务商模式下必传), left empty by a mall.
	SubMchID string `json:"sub_mchid,omitempty"`
	// BrandID is the brand (品牌ID); required.
	BrandID int64 `json:"brandid"`
	// AppID is the AppID bound to BrandID, [1,32] (32 here, 128 elsewhere).
	AppID string `json:"appid"`
	// OpenID is the member under AppID, [1,64].
	OpenID string `json:"openid"`
	// PlateNumber is the licence plate, [1,32], such as 粤B888888: one of the
	// 31 mainland province abbreviations first (Hong Kong and Macau cars
	// enter on 粤Z…港/澳 plates), then at least one upper-case letter, digit
	// or Chinese character.
	PlateNumber string `json:"plate_number"`
	// State is ParkingStateIn or ParkingStateOut.
	State ParkingState `json:"state"`
	// Time is when the car entered or left, RFC 3339 such as
	// 2022-06-01T10:43:39+08:00 (FormatTime writes one from a time.Time).
	Time string `json:"time"`
}

// Validate checks every field against the documented rules and returns a
// *ValidationError naming the first field, in body order, that breaks one.
func (r ParkingRequest) Validate() error {
	if err := checkText("sub_mchid", r.SubMchID, 0, 32); err != nil {
		return err
	}
	if err := checkBrandID(r.BrandID); err != nil {
		return err
	}
	if err := checkText("appid", r.AppID, 1, 32); err != nil {
		return err
	}
	if err := checkText("openid", r.OpenID, 1, 64); err != nil {
		return err
	}
	if err := checkPlateNumber(r.PlateNumber); err != nil {
		return err
	}
	if r.State != ParkingStateIn && r.State != ParkingStateOut {
		return invalid("state", "%q is not IN or OUT", string(r.State))
	}
	return checkTime("time", r.Time)
}

// Parkings is POST /v3/businesscircle/parkings (商圈会员停车状态同步).
//
// WeChat Pay documents:
//   - merchant (直连商户): https://pay.weixin.qq.com/doc/v3/merchant/4012535502
//   - partner (服务商): https://pay.weixin.qq.com/doc/v3/partner/4012474127
type Parkings struct{ chain *wxpay.Chain }

// Post validates req and sends it. WeChat Pay answers 204 No Content; any
// other answer is an error, as for PointsNotify.Post.
func (p *Parkings) Post(ctx context.Context, req ParkingRequest) (*wxpay.Response, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	resp, err := p.chain.Post(ctx, wxpay.JSON(req))
	if err != nil {
		return nil, err
	}
	return resp, expectStatus(resp, http.StatusNoContent)
}

// PostAsync is Post in its own goroutine. A request that fails validation is
// never sent; its future fails with an error wrapping the *ValidationError.
func (p *Parkings) PostAsync(ctx context.Context, req ParkingRequest) *wxpay.Future {
	return wxpay.Async(func() (*wxpay.Response, error) { return p.Post(ctx, req) })
}

// Chain returns the string chain of this endpoint.
func (p *Parkings) Chain() *wxpay.Chain { return p.chain }

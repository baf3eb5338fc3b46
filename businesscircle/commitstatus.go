package businesscircle

import (
	"context"
	"net/http"
	"strconv"

	"github.com/seed2ac2593f/wxpay"
)

// CommitStatusQuery is the query of 商圈会员待积分状态查询 (does the member
// have purchases today still waiting for points?). The openid is the path
// argument of CommitStatus.Get.
//
// WeChat Pay documents:
//   - merchant (直连商户): https://pay.weixin.qq.com/doc/v3/merchant/4012534994
//   - partner (服务商): https://pay.weixin.qq.com/doc/v3/partner/4012474129
type CommitStatusQuery struct {
	// SubMchID is the sub-merchant (子商户号), string(32): required of a
	// service provider (服务商模式下必传), left empty by a mall.
	SubMchID string
	// BrandID is the brand (品牌ID); the caller must be its brand owner or
	// brand service provider. Required.
	BrandID int64
	// AppID is the official account or mini program bound to BrandID, [1,128].
	AppID string
}

// Validate checks the query against the documented rules and returns a
// *ValidationError naming the first parameter that breaks one.
func (q CommitStatusQuery) Validate() error {
	if err := checkText("sub_mchid", q.SubMchID, 0, 32); err != nil {
		return err
	}
	if err := checkBrandID(q.BrandID); err != nil {
		return err
	}
	return checkText("appid", q.AppID, 1, 128)
}

// PointsCommitStatus says whether a member has purchases waiting for points.
type PointsCommitStatus string

// The values of points_commit_status. Their meaning is inferred from the
// documents' wording, and one SDK says to go by whatever values WeChat Pay
// returns: compare with these constants, but expect others.
const (
	// PointsCommitStatusUnknown: the answer carried no status, as a 204 No
	// Content does (the older documentation's answer to this query).
	PointsCommitStatusUnknown PointsCommitStatus = ""
	// PointsCommitStatusPending: purchases today are still waiting for points;
	// steer the member to the 商圈会员快速积分 plugin.
	PointsCommitStatusPending PointsCommitStatus = "PENDING"
	// PointsCommitStatusFinished: nothing is waiting for points.
	PointsCommitStatusFinished PointsCommitStatus = "FINISHED"
)

// CommitStatusResult is the answer of 商圈会员待积分状态查询.
type CommitStatusResult struct {
	// PointsCommitStatus is PointsCommitStatusUnknown when WeChat Pay
	// answered 204 No Content.
	PointsCommitStatus PointsCommitStatus `json:"points_commit_status"`
}

// CommitStatus is GET /v3/businesscircle/users/{openid}/points/commit_status
// (商圈会员待积分状态查询).
//
// WeChat Pay documents:
//   - merchant (直连商户): https://pay.weixin.qq.com/doc/v3/merchant/4012534994
//   - partner (服务商): https://pay.weixin.qq.com/doc/v3/partner/4012474129
//
// The documents disagree on the answer: 204 with no body in the older ones,
// 200 with {"points_commit_status": …} in the newer ones. Both are accepted
// (docs/protocol.md §6.3); a 200 without a JSON body, or any other 2xx, is an
// error.
type CommitStatus struct{ chain *wxpay.Chain }

// Get asks whether openid ([1,128], sent escaped and with its case untouched)
// has purchases waiting for points. Query parameters go in the documented
// order: sub_mchid, brandid, appid.
func (c *CommitStatus) Get(ctx context.Context, openid string, q CommitStatusQuery) (*CommitStatusResult, *wxpay.Response, error) {
	if err := checkPathSegment("openid", openid, 128); err != nil {
		return nil, nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, nil, err
	}
	opts := []wxpay.RequestOption{wxpay.PathParam("openid", openid)}
	if q.SubMchID != "" {
		opts = append(opts, wxpay.Query("sub_mchid", q.SubMchID))
	}
	opts = append(opts,
		wxpay.Query("brandid", strconv.FormatInt(q.BrandID, 10)),
		wxpay.Query("appid", q.AppID))
	resp, err := c.chain.Get(ctx, opts...)
	if err != nil {
		return nil, resp, err
	}
	if err := expectStatus(resp, http.StatusOK, http.StatusNoContent); err != nil {
		return nil, resp, err
	}
	var s CommitStatusResult
	if resp.StatusCode == http.StatusNoContent {
		return &s, resp, nil
	}
	if err := resp.DecodeJSON(&s); err != nil {
		return nil, resp, err
	}
	return &s, resp, nil
}

// Chain returns the string chain of this endpoint; fill {openid} with
// wxpay.PathParam.
func (c *CommitStatus) Chain() *wxpay.Chain { return c.chain }

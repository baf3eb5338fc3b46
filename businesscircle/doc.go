// Package businesscircle is the smart business circle (智慧商圈) family of
// WeChat Pay APIv3: typed, validated calls that read like their paths, and
// the three notifications that drive a mall's points program.
//
// Sync the points of a mall purchase (商圈会员积分同步):
//
//	v3 := businesscircle.New(client) // client from wxpay.NewClient
//	resp, err := v3.Businesscircle.Points.Notify.Post(ctx, businesscircle.PointsNotifyRequest{
//		TransactionID:    "1217752501201407033233368018",
//		AppID:            "wx1234567890abcdef",
//		OpenID:           "oWmnN4xxxxxxxxxxe92NHIGf1xd8",
//		EarnPoints:       true,
//		IncreasedPoints:  100,
//		PointsUpdateTime: "2020-05-20T13:29:35.120+08:00",
//		TotalPoints:      businesscircle.Int64(888888),
//	})
//	// err is nil only for a verified 2xx; resp.StatusCode == 204.
//
// # Calls
//
// Each endpoint hangs off New's V3 at the place its path names:
//
//	v3.Businesscircle.Points.Notify.Post(ctx, req)                   // POST …/points/notify, 204
//	v3.Businesscircle.Points.Notify.PostAsync(ctx, req)              // a *wxpay.Future
//	v3.Businesscircle.UserAuthorizations.Get(ctx, openid, query)     // GET …/user-authorizations/{openid}
//	v3.Businesscircle.Users.Points.CommitStatus.Get(ctx, openid, q)  // GET …/users/{openid}/points/commit_status
//	v3.Businesscircle.Parkings.Post(ctx, req)                        // POST …/parkings, 204
//
// Queries return (*T, *wxpay.Response, error), the 204 calls
// (*wxpay.Response, error). Path parameters are explicit arguments, sent
// percent-escaped and never case-folded. Every request is validated first
// (Validate); a *ValidationError names the field and the rule, and nothing is
// sent. Lengths are counted in bytes of UTF-8, and characters that need four
// bytes in UTF-8 (emoji) are refused, as WeChat Pay does.
//
// This typed chain is the Go form of the PHP SDK's "pure chain"
// $instance->v3->businesscircle->points->notify and of the Node.js SDK's
// wxpay.v3.businesscircle.points.notify. The root package's string chain,
// client.Chain("v3/businesscircle/points/notify").Post(ctx, wxpay.JSON(body)),
// keeps working for every path; it is also Go's counterpart of the PHP
// property style $instance['v3/…'], since Go has no index operator on values.
//
// # Merchant and partner modes
//
// A mall calling as itself (直连商户) leaves SubMchID empty. A service
// provider (服务商) signs with its own mchid and names the mall in SubMchID
// of every request; the commit_status and parkings documents say it must.
//
// # Notifications
//
// MALL_TRANSACTION.SUCCESS, MALL_REFUND.SUCCESS and MALL_AUTH.ACTIVATE_CARD
// arrive through package notify, verified and then decrypted. EventHandlers
// turns them into TransactionEvent, RefundEvent and AuthorizationEvent; an
// event type without a handler fails, so WeChat Pay delivers it again rather
// than it being lost.
//
// Documents (merchant / partner): points sync 4012534698 / 4012474133,
// authorisation query 4012534848 / 4012474135, pending-points status
// 4012534994 / 4012474129, parking sync 4012535502 / 4012474127, under
// https://pay.weixin.qq.com/doc/v3/merchant/ and
// https://pay.weixin.qq.com/doc/v3/partner/.
package businesscircle

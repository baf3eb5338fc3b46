package businesscircle_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/notify"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// The seed documents' values: a service provider acting for mall 1234567890,
// whose member paid in transaction 1217752501201407033233368018.
const (
	seedMall   = "1234567890"
	seedTx     = "1217752501201407033233368018"
	seedAppID  = "wx1234567890abcdef"
	seedOpenID = "oWmnN4xxxxxxxxxxe92NHIGf1xd8"
)

// exampleClient starts the sandbox, a local WeChat Pay that verifies every
// request's signature and signs every answer, with the seed documents' mall,
// member and payment, and returns a client for it. Against the real service,
// build the client with wxpay.NewClient and real keys instead.
func exampleClient(opts ...sandbox.ServerOption) (*wxpay.Client, *sandbox.Server) {
	s := sandbox.NewServer(append([]sandbox.ServerOption{sandbox.WithSubMerchants(seedMall)}, opts...)...)
	if _, _, err := s.Sandbox.Authorize(sandbox.MemberRequest{SubMchID: seedMall, AppID: seedAppID, OpenID: seedOpenID}); err != nil {
		panic(err)
	}
	if _, err := s.Sandbox.Pay(sandbox.PaymentRequest{SubMchID: seedMall, AppID: seedAppID, OpenID: seedOpenID,
		Amount: 8800, TransactionID: seedTx}); err != nil {
		panic(err)
	}
	return s.Client, s
}

// seedBody is the seed page's points sync, as the PHP array would be.
func seedBody() map[string]any {
	return map[string]any{
		"sub_mchid":          "1234567890",
		"transaction_id":     "1217752501201407033233368018",
		"appid":              "wx1234567890abcdef",
		"openid":             "oWmnN4xxxxxxxxxxe92NHIGf1xd8",
		"earn_points":        true,
		"increased_points":   100,
		"points_update_time": "2020-05-20T13:29:35.120+08:00",
		"no_points_remarks":  "商品不参与积分活动",
		"total_points":       888888,
	}
}

// 同步纯链式: the typed chain reads like the path,
// $instance->v3->businesscircle->points->notify->post([...]).
func ExamplePointsNotify_Post() {
	client, s := exampleClient()
	defer s.Close()
	ctx := context.Background()

	v3 := businesscircle.New(client)
	response, err := v3.Businesscircle.Points.Notify.Post(ctx, businesscircle.PointsNotifyRequest{
		SubMchID:         "1234567890",
		TransactionID:    "1217752501201407033233368018",
		AppID:            "wx1234567890abcdef",
		OpenID:           "oWmnN4xxxxxxxxxxe92NHIGf1xd8",
		EarnPoints:       true,
		IncreasedPoints:  100,
		PointsUpdateTime: "2020-05-20T13:29:35.120+08:00",
		NoPointsRemarks:  "商品不参与积分活动",
		TotalPoints:      businesscircle.Int64(888888),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(response.StatusCode == 204)
	// Output: true
}

// 异步纯链式: PostAsync returns a future; Then runs on success and Wait
// blocks, like ->postAsync([...])->then(...)->wait().
func ExamplePointsNotify_PostAsync() {
	client, s := exampleClient()
	defer s.Close()
	ctx := context.Background()

	v3 := businesscircle.New(client)
	_, err := v3.Businesscircle.Points.Notify.PostAsync(ctx, businesscircle.PointsNotifyRequest{
		SubMchID:         "1234567890",
		TransactionID:    "1217752501201407033233368018",
		AppID:            "wx1234567890abcdef",
		OpenID:           "oWmnN4xxxxxxxxxxe92NHIGf1xd8",
		EarnPoints:       true,
		IncreasedPoints:  100,
		PointsUpdateTime: "2020-05-20T13:29:35.120+08:00",
		NoPointsRemarks:  "商品不参与积分活动",
		TotalPoints:      businesscircle.Int64(888888),
	}).Then(func(response *wxpay.Response) error {
		fmt.Println(response.StatusCode == 204)
		return nil
	}).Wait()
	if err != nil {
		fmt.Println(err)
	}
	// Output: true
}

// 同步声明式: the string chain of the root package,
// $instance->chain('v3/businesscircle/points/notify')->post(['json' => [...]]).
// It takes any JSON value; the typed chain's validation is not applied.
func Example_chain() {
	client, s := exampleClient()
	defer s.Close()
	ctx := context.Background()

	response, err := client.Chain("v3/businesscircle/points/notify").Post(ctx, wxpay.JSON(seedBody()))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(response.StatusCode == 204)
	// Output: true
}

// 异步声明式: $instance->chain('v3/…')->postAsync([...])->then(...)->wait().
func Example_chainAsync() {
	client, s := exampleClient()
	defer s.Close()
	ctx := context.Background()

	_, err := client.Chain("v3/businesscircle/points/notify").
		PostAsync(ctx, wxpay.JSON(seedBody())).
		Then(func(response *wxpay.Response) error {
			fmt.Println(response.StatusCode == 204)
			return nil
		}).
		Wait()
	if err != nil {
		fmt.Println(err)
	}
	// Output: true
}

// 同步属性式: the PHP SDK's $instance['v3/businesscircle/points/notify'] uses
// an index operator on the client, which Go does not have on values. In Go the
// property style is the string chain: client.Chain("v3/…") names the path as
// one string, exactly as $instance['v3/…'] does.
func Example_property() {
	client, s := exampleClient()
	defer s.Close()
	ctx := context.Background()

	response, err := client.Chain("v3/businesscircle/points/notify").Post(ctx, wxpay.JSON(seedBody()))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(response.StatusCode == 204)
	// Output: true
}

// 异步属性式: $instance['v3/…']->postAsync([...]); in Go, the string chain's
// PostAsync (see Example_property for why).
func Example_propertyAsync() {
	client, s := exampleClient()
	defer s.Close()
	ctx := context.Background()

	notifyPoints := client.Chain("v3/businesscircle/points/notify") // $instance['v3/businesscircle/points/notify']
	_, err := notifyPoints.PostAsync(ctx, wxpay.JSON(seedBody())).
		Then(func(response *wxpay.Response) error {
			fmt.Println(response.StatusCode == 204)
			return nil
		}).
		Wait()
	if err != nil {
		fmt.Println(err)
	}
	// Output: true
}

// The Node.js SDK's
//
//	wxpay.v3.businesscircle.points.notify.post({…}).then(({ status }) => status === 204)
//
// in Go: the typed chain returns the response, whose StatusCode is the status.
func Example_nodeStyle() {
	client, s := exampleClient()
	defer s.Close()
	ctx := context.Background()
	wxpay := businesscircle.New(client) // named like the Node.js SDK's instance

	resp, err := wxpay.Businesscircle.Points.Notify.Post(ctx, businesscircle.PointsNotifyRequest{
		SubMchID:         "1234567890",
		TransactionID:    "1217752501201407033233368018",
		AppID:            "wx1234567890abcdef",
		OpenID:           "oWmnN4xxxxxxxxxxe92NHIGf1xd8",
		EarnPoints:       true,
		IncreasedPoints:  100,
		PointsUpdateTime: "2020-05-20T13:29:35.120+08:00",
		NoPointsRemarks:  "商品不参与积分活动",
		TotalPoints:      businesscircle.Int64(888888),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	status := resp.StatusCode
	fmt.Println(status == 204)
	// Output: true
}

// A purchase that earns nothing is still synced: earn_points false and
// increased_points 0 are sent, not dropped.
func ExamplePointsNotifyRequest_noPoints() {
	client, s := exampleClient()
	defer s.Close()

	v3 := businesscircle.New(client)
	_, err := v3.Businesscircle.Points.Notify.Post(context.Background(), businesscircle.PointsNotifyRequest{
		SubMchID:         seedMall,
		TransactionID:    seedTx,
		AppID:            seedAppID,
		OpenID:           seedOpenID,
		EarnPoints:       false,
		IncreasedPoints:  0,
		PointsUpdateTime: "2024-01-06T16:32:00+08:00",
		NoPointsRemarks:  "商品不参与积分活动",
	})
	fmt.Println(err)
	got, _ := s.Sandbox.Points(seedTx) // what the sandbox received
	fmt.Println(string(got.LastSync))
	// Output:
	// <nil>
	// {"sub_mchid":"1234567890","transaction_id":"1217752501201407033233368018","appid":"wx1234567890abcdef","openid":"oWmnN4xxxxxxxxxxe92NHIGf1xd8","earn_points":false,"increased_points":0,"points_update_time":"2024-01-06T16:32:00+08:00","no_points_remarks":"商品不参与积分活动"}
}

// Validation runs before anything is sent and names the field and the rule.
func ExamplePointsNotifyRequest_Validate() {
	req := businesscircle.PointsNotifyRequest{
		TransactionID:    "1217752501201407033233368018",
		AppID:            "wx1234567890abcdef",
		OpenID:           "oWmnN4xxxxxxxxxxe92NHIGf1xd8",
		EarnPoints:       true,
		IncreasedPoints:  100,
		PointsUpdateTime: "2024-01-06 14:06:00",
	}
	err := req.Validate()
	fmt.Println(err)

	var ve *businesscircle.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Field)
	}
	// Output:
	// businesscircle: points_update_time: "2024-01-06 14:06:00" is not an RFC 3339 time
	// points_update_time
}

// 商圈会员积分服务授权查询: has the customer authorised the mall's points
// service? A service provider names the mall in SubMchID.
func ExampleUserAuthorizations_Get() {
	client, s := exampleClient()
	defer s.Close()

	v3 := businesscircle.New(client)
	auth, _, err := v3.Businesscircle.UserAuthorizations.Get(context.Background(), seedOpenID,
		businesscircle.UserAuthorizationQuery{SubMchID: seedMall, AppID: seedAppID})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(auth.OpenID, auth.AuthorizeState == businesscircle.AuthorizeStateAuthorized)

	// A customer WeChat Pay has never seen is UNAUTHORIZED, not an error.
	other, _, _ := v3.Businesscircle.UserAuthorizations.Get(context.Background(), "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
		businesscircle.UserAuthorizationQuery{SubMchID: seedMall, AppID: seedAppID})
	fmt.Println(other.AuthorizeState)
	// Output:
	// oWmnN4xxxxxxxxxxe92NHIGf1xd8 true
	// UNAUTHORIZED
}

// 商圈会员待积分状态查询: does the member have purchases today still waiting for
// points? WeChat Pay answers 200 with points_commit_status, or, as older
// documents say, 204 with nothing, which reads as PointsCommitStatusUnknown.
func ExampleCommitStatus_Get() {
	client, s := exampleClient()
	defer s.Close()
	ctx := context.Background()
	v3 := businesscircle.New(client)
	query := businesscircle.CommitStatusQuery{SubMchID: seedMall, BrandID: 1234, AppID: seedAppID}

	st, resp, err := v3.Businesscircle.Users.Points.CommitStatus.Get(ctx, seedOpenID, query)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, st.PointsCommitStatus) // today's payment is not synced yet

	v3.Businesscircle.Points.Notify.Post(ctx, businesscircle.PointsNotifyRequest{SubMchID: seedMall, TransactionID: seedTx,
		AppID: seedAppID, OpenID: seedOpenID, EarnPoints: true, IncreasedPoints: 88, PointsUpdateTime: businesscircle.FormatTime(time.Now())})
	st, _, _ = v3.Businesscircle.Users.Points.CommitStatus.Get(ctx, seedOpenID, query)
	fmt.Println(st.PointsCommitStatus)
	// Output:
	// 200 PENDING
	// FINISHED
}

// 商圈会员停车状态同步: a member's car entered the mall.
func ExampleParkings_Post() {
	client, s := exampleClient()
	defer s.Close()

	v3 := businesscircle.New(client)
	resp, err := v3.Businesscircle.Parkings.Post(context.Background(), businesscircle.ParkingRequest{
		SubMchID:    seedMall,
		BrandID:     1234,
		AppID:       seedAppID,
		OpenID:      seedOpenID,
		PlateNumber: "粤B888888",
		State:       businesscircle.ParkingStateIn,
		Time:        businesscircle.FormatTime(time.Date(2022, 6, 1, 2, 43, 39, 0, time.UTC)), // 2022-06-01T10:43:39.000+08:00
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode == 204)
	// Output: true
}

// A notification URL for the business circle: package notify verifies and
// decrypts, EventHandlers dispatches by event type, and the payment is
// answered with a points sync (one point per full yuan). An event type
// without a handler is answered with a failure, so WeChat Pay sends it again.
func ExampleEventHandlers() {
	// The mall's notification URL; its handler is set once the keys are known.
	var handler http.Handler
	mall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer mall.Close()
	s := sandbox.NewServer(sandbox.WithSubMerchants(seedMall), sandbox.WithNotifyURL(mall.URL))
	defer s.Close()
	v3 := businesscircle.New(s.Client)

	parser, err := notify.NewParser(s.Client.Verifier(), s.Keys.APIv3Key) // the same keys as the client's answers
	if err != nil {
		fmt.Println(err)
		return
	}
	handlers := businesscircle.EventHandlers{
		Transaction: func(ctx context.Context, n *notify.Notification, e *businesscircle.TransactionEvent) error {
			fmt.Println(n.EventType, e.TransactionID, e.Amount)
			resp, err := v3.Businesscircle.Points.Notify.Post(ctx, businesscircle.PointsNotifyRequest{
				SubMchID:         e.MchID, // the mall, in partner mode
				TransactionID:    e.TransactionID,
				AppID:            e.AppID,
				OpenID:           e.OpenID,
				EarnPoints:       e.Amount >= 100,
				IncreasedPoints:  e.Amount / 100,
				PointsUpdateTime: time.Now().Format(time.RFC3339),
			})
			if err != nil {
				return err
			}
			fmt.Println("points synced:", resp.StatusCode == 204)
			return nil
		},
		// Refund and Authorization are not handled here: such events fail.
	}
	handler = notify.NewHandler(parser, handlers.Handle)

	// A customer opens the card (MALL_AUTH.ACTIVATE_CARD), then pays (MALL_TRANSACTION.SUCCESS).
	member, _, _ := s.Sandbox.Authorize(sandbox.MemberRequest{SubMchID: seedMall, AppID: seedAppID, OpenID: seedOpenID})
	paid, _ := s.Sandbox.Pay(sandbox.PaymentRequest{SubMchID: seedMall, AppID: seedAppID, OpenID: seedOpenID, Amount: 8800, TransactionID: seedTx})

	ctx := context.Background()
	d, _ := s.Sandbox.WaitDelivery(ctx, paid.NotificationID, nil)
	fmt.Println(d.EventType, d.State, d.Attempts[len(d.Attempts)-1].Status)
	a, _ := s.Sandbox.WaitDelivery(ctx, member.NotificationID, func(d sandbox.Delivery) bool { return len(d.Attempts) > 0 })
	fmt.Println(a.EventType, a.Attempts[0].Status)
	// Output:
	// MALL_TRANSACTION.SUCCESS 1217752501201407033233368018 8800
	// points synced: true
	// MALL_TRANSACTION.SUCCESS delivered 204
	// MALL_AUTH.ACTIVATE_CARD 500
}

// Times go to WeChat Pay in Beijing time: FormatTime writes any time.Time
// that way, and ParseTime reads WeChat Pay's times (time_end, refund_time).
func ExampleFormatTime() {
	paid := time.Date(2020, 5, 20, 5, 29, 35, 120e6, time.UTC)
	fmt.Println(businesscircle.FormatTime(paid))

	t, err := businesscircle.ParseTime("2020-05-20T13:29:35.120+08:00")
	fmt.Println(t.Equal(paid), err)
	// Output:
	// 2020-05-20T13:29:35.120+08:00
	// true <nil>
}

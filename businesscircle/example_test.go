package businesscircle_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/internal/wxtest"
	"github.com/seed2ac2593f/wxpay/notify"
)

// exampleClient starts the in-process fake WeChat Pay, which verifies every
// request's signature and signs every answer, and returns a client for it.
// Against the real service, drop WithBaseURL and load real keys instead
// (wxpay.LoadPrivateKey, wxpay.LoadPublicKey).
func exampleClient() (*wxpay.Client, *wxtest.Server) {
	k := wxtest.SharedKeys()
	s := wxtest.NewServer(k)
	client, err := wxpay.NewClient(
		wxpay.WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey),
		wxpay.WithWechatPayPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey),
		wxpay.WithBaseURL(s.URL),
	)
	if err != nil {
		panic(err)
	}
	return client, s
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
		TransactionID:    "4200000001202405200000000001",
		AppID:            "wxd678efh567hg6787",
		OpenID:           "oUpF8uMuAJ2pxb1Q9zNjWUHsd",
		EarnPoints:       false,
		IncreasedPoints:  0,
		PointsUpdateTime: "2024-01-06T16:32:00+08:00",
		NoPointsRemarks:  "商品不参与积分活动",
	})
	fmt.Println(err)
	fmt.Println(string(s.Requests()[0].Body))
	// Output:
	// <nil>
	// {"transaction_id":"4200000001202405200000000001","appid":"wxd678efh567hg6787","openid":"oUpF8uMuAJ2pxb1Q9zNjWUHsd","earn_points":false,"increased_points":0,"points_update_time":"2024-01-06T16:32:00+08:00","no_points_remarks":"商品不参与积分活动"}
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
	// The fake answers as WeChat Pay's documentation does.
	s.Handle("GET", "/v3/businesscircle/user-authorizations/oWmnN4xxxxxxxxxxe92NHIGf1xd8", func(*wxtest.Request) (int, []byte) {
		return 200, []byte(`{"openid":"oWmnN4xxxxxxxxxxe92NHIGf1xd8","authorize_state":"AUTHORIZED","authorize_time":"2020-05-20T13:29:35+08:00"}`)
	})

	v3 := businesscircle.New(client)
	auth, _, err := v3.Businesscircle.UserAuthorizations.Get(context.Background(), "oWmnN4xxxxxxxxxxe92NHIGf1xd8",
		businesscircle.UserAuthorizationQuery{SubMchID: "1234567890", AppID: "wx1234567890abcdef"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(auth.AuthorizeState == businesscircle.AuthorizeStateAuthorized, auth.AuthorizeTime)
	fmt.Println(s.Requests()[0].RequestTarget)
	// Output:
	// true 2020-05-20T13:29:35+08:00
	// /v3/businesscircle/user-authorizations/oWmnN4xxxxxxxxxxe92NHIGf1xd8?sub_mchid=1234567890&appid=wx1234567890abcdef
}

// 商圈会员待积分状态查询: does the member have purchases today still waiting for
// points? WeChat Pay answers 200 with points_commit_status, or, as older
// documents say, 204 with nothing, which reads as PointsCommitStatusUnknown.
func ExampleCommitStatus_Get() {
	client, s := exampleClient()
	defer s.Close()
	s.Handle("GET", "/v3/businesscircle/users/oWmnN4xxxxxxxxxxe92NHIGf1xd8/points/commit_status", func(*wxtest.Request) (int, []byte) {
		return 200, []byte(`{"points_commit_status":"PENDING"}`)
	})

	v3 := businesscircle.New(client)
	st, resp, err := v3.Businesscircle.Users.Points.CommitStatus.Get(context.Background(), "oWmnN4xxxxxxxxxxe92NHIGf1xd8",
		businesscircle.CommitStatusQuery{BrandID: 1234, AppID: "wx1234567890abcdef"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, st.PointsCommitStatus == businesscircle.PointsCommitStatusPending)
	// Output: 200 true
}

// 商圈会员停车状态同步: a member's car entered the mall.
func ExampleParkings_Post() {
	client, s := exampleClient()
	defer s.Close()
	s.Handle("POST", "/v3/businesscircle/parkings", func(*wxtest.Request) (int, []byte) { return 204, nil })

	v3 := businesscircle.New(client)
	resp, err := v3.Businesscircle.Parkings.Post(context.Background(), businesscircle.ParkingRequest{
		SubMchID:    "1234567890",
		BrandID:     1234,
		AppID:       "wx1234567890abcdef",
		OpenID:      "oWmnN4xxxxxxxxxxe92NHIGf1xd8",
		PlateNumber: "粤B888888",
		State:       businesscircle.ParkingStateIn,
		Time:        "2022-06-01T10:43:39+08:00",
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
	client, s := exampleClient()
	defer s.Close()
	k := wxtest.SharedKeys()
	v3 := businesscircle.New(client)

	parser, err := notify.NewParser(client.Verifier(), k.APIv3Key)
	if err != nil {
		fmt.Println(err)
		return
	}
	handlers := businesscircle.EventHandlers{
		Transaction: func(ctx context.Context, n *notify.Notification, e *businesscircle.TransactionEvent) error {
			fmt.Println(n.EventType, e.TransactionID, e.Amount)
			resp, err := v3.Businesscircle.Points.Notify.Post(ctx, businesscircle.PointsNotifyRequest{
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
	handler := notify.NewHandler(parser, handlers.Handle)

	// What WeChat Pay would post (built here with the fake's keys).
	post := func(eventType, plaintext string) int {
		ciphertext, err := wxpay.EncryptAEAD([]byte(k.APIv3Key), "GiCVO6LB04WZ", "mall_transaction", []byte(plaintext))
		if err != nil {
			panic(err)
		}
		body := []byte(`{"id":"c7d5b540-95d9-5bff-8494-be7984ad08e6","create_time":"2020-05-20T13:29:35+08:00",` +
			`"resource_type":"encrypt-resource","event_type":"` + eventType + `","summary":"支付成功",` +
			`"resource":{"original_type":"mall_transaction","algorithm":"AEAD_AES_256_GCM",` +
			`"ciphertext":"` + ciphertext + `","associated_data":"mall_transaction","nonce":"GiCVO6LB04WZ"}}`)
		req := httptest.NewRequest(http.MethodPost, "/wechatpay/notify", bytes.NewReader(body))
		req.Header = wxtest.SignResponse(k.WechatPayKey, k.PublicKeyID, time.Now().Unix(), "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", body)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec.Code
	}

	fmt.Println(post(businesscircle.EventTypeTransactionSuccess,
		`{"mchid":"1230000109","merchant_name":"腾讯广场","shop_name":"微信支付","shop_number":"123456","appid":"wxd678efh567hg6787",`+
			`"openid":"oUpF8uMuAJ2pxb1Q9zNjWUHsd","amount":200,"time_end":"2020-05-20T13:29:35+08:00","transaction_id":"1234567890"}`))
	fmt.Println(post(businesscircle.EventTypeAuthActivateCard,
		`{"openid":"oWmnN4xxxxxxxxxxe92NHIGf1xd8","code":"478515832665","mchid":"1230000109","auth_type":"REGISTERED_MODE "}`))
	// Output:
	// MALL_TRANSACTION.SUCCESS 1234567890 200
	// points synced: true
	// 204
	// 500
}

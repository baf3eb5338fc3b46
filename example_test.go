package wxpay_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

// pointsSync is the body of the seed documents' points sync.
var pointsSync = map[string]any{
	"transaction_id":     "1217752501201407033233368018",
	"appid":              "wx1234567890abcdef",
	"openid":             "oWmnN4xxxxxxxxxxe92NHIGf1xd8",
	"earn_points":        true,
	"increased_points":   100,
	"points_update_time": "2020-05-20T13:29:35.120+08:00",
	"no_points_remarks":  "商品不参与积分活动",
	"total_points":       888888,
}

// newExampleClient stands in for configuration loading: the examples run
// against an in-process WeChat Pay fake that verifies every signature.
func newExampleClient() (*wxpay.Client, func()) {
	k := wxtest.SharedKeys()
	srv := wxtest.NewServer(k)
	c, err := wxpay.NewClient(
		wxpay.WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey),
		wxpay.WithWechatPayPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey),
		wxpay.WithBaseURL(srv.URL),
	)
	if err != nil {
		log.Fatal(err)
	}
	return c, srv.Close
}

func ExampleNewClient() {
	k := wxtest.SharedKeys() // in production: LoadPrivateKey(apiclient_key.pem), LoadPublicKey(pub_key.pem)
	srv := wxtest.NewServer(k)
	defer srv.Close()

	c, err := wxpay.NewClient(
		wxpay.WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey),
		wxpay.WithWechatPayPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey),
		wxpay.WithBaseURL(srv.URL), // omit for https://api.mch.weixin.qq.com/
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.MchID())
	// Output: 1900000109
}

// The PHP SDK's 同步声明式 style, $instance->chain('v3/businesscircle/points/notify')->post([...]).
func ExampleChain_Post() {
	c, done := newExampleClient()
	defer done()

	resp, err := c.Chain("v3/businesscircle/points/notify").Post(context.Background(), wxpay.JSON(pointsSync))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode == 204)
	// Output: true
}

// The PHP SDK's 异步声明式 style, ->postAsync([...])->then(fn)->wait().
func ExampleChain_PostAsync() {
	c, done := newExampleClient()
	defer done()

	_, err := c.Chain("v3/businesscircle/points/notify").PostAsync(context.Background(), wxpay.JSON(pointsSync)).
		Then(func(resp *wxpay.Response) error {
			fmt.Println(resp.StatusCode == 204)
			return nil
		}).
		Wait()
	if err != nil {
		log.Fatal(err)
	}
	// Output: true
}

// Path parameters are explicit and escaped; the openid keeps its case.
func ExampleChain_Get() {
	c, done := newExampleClient()
	defer done()

	_, err := c.Chain("v3/businesscircle/user-authorizations/{openid}").Get(context.Background(),
		wxpay.PathParam("openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
		wxpay.Query("appid", "wxd678efh567hg6787"))
	var apiErr *wxpay.APIError
	if errors.As(err, &apiErr) { // this fake has no such route
		fmt.Println(apiErr.StatusCode, apiErr.Code)
	}
	// Output: 404 RESOURCE_NOT_EXISTS
}

// Every failed check has its own sentinel error.
func ExampleVerificationError() {
	k := wxtest.SharedKeys()
	srv := wxtest.NewServer(k, wxtest.WithFault(wxtest.FaultProbe))
	defer srv.Close()
	c, _ := wxpay.NewClient(
		wxpay.WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey),
		wxpay.WithWechatPayPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey),
		wxpay.WithBaseURL(srv.URL),
	)
	_, err := c.Chain("v3/businesscircle/points/notify").Post(context.Background(), wxpay.JSON(pointsSync))
	fmt.Println(errors.Is(err, wxpay.ErrProbeSignature))
	// Output: true
}

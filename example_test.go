package wxpay_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// pointsSync is the body of the seed documents' points sync, for a
// transaction the sandbox made.
func pointsSync(transactionID string) map[string]any {
	return map[string]any{
		"transaction_id":     transactionID,
		"appid":              "wx1234567890abcdef",
		"openid":             "oWmnN4xxxxxxxxxxe92NHIGf1xd8",
		"earn_points":        true,
		"increased_points":   100,
		"points_update_time": "2020-05-20T13:29:35.120+08:00",
		"no_points_remarks":  "商品不参与积分活动",
		"total_points":       888888,
	}
}

// newExampleClient stands in for configuration loading: the examples run
// against the sandbox, a local WeChat Pay that verifies every signature.
func newExampleClient() (*wxpay.Client, func()) {
	srv := sandbox.NewServer()
	return srv.Client, srv.Close
}

func ExampleNewClient() {
	srv := sandbox.NewServer() // a local WeChat Pay with fresh test keys
	defer srv.Close()
	k := srv.Keys // in production: LoadPrivateKey(apiclient_key.pem), LoadPublicKey(pub_key.pem)

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
	srv := sandbox.NewServer()
	defer srv.Close()
	// The sandbox knows only transactions it made: a member pays first.
	srv.Sandbox.Authorize(sandbox.MemberRequest{AppID: "wx1234567890abcdef", OpenID: "oWmnN4xxxxxxxxxxe92NHIGf1xd8"})
	paid, _ := srv.Sandbox.Pay(sandbox.PaymentRequest{AppID: "wx1234567890abcdef", OpenID: "oWmnN4xxxxxxxxxxe92NHIGf1xd8", Amount: 10000})
	body := pointsSync(paid.TransactionID)

	resp, err := srv.Client.Chain("v3/businesscircle/points/notify").Post(context.Background(), wxpay.JSON(body))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode == 204)
	// Output: true
}

// The PHP SDK's 异步声明式 style, ->postAsync([...])->then(fn)->wait().
func ExampleChain_PostAsync() {
	srv := sandbox.NewServer()
	defer srv.Close()
	srv.Sandbox.Authorize(sandbox.MemberRequest{AppID: "wx1234567890abcdef", OpenID: "oWmnN4xxxxxxxxxxe92NHIGf1xd8"})
	paid, _ := srv.Sandbox.Pay(sandbox.PaymentRequest{AppID: "wx1234567890abcdef", OpenID: "oWmnN4xxxxxxxxxxe92NHIGf1xd8", Amount: 10000})

	_, err := srv.Client.Chain("v3/businesscircle/points/notify").PostAsync(context.Background(), wxpay.JSON(pointsSync(paid.TransactionID))).
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

	resp, err := c.Chain("v3/businesscircle/user-authorizations/{openid}").Get(context.Background(),
		wxpay.PathParam("openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
		wxpay.Query("appid", "wxd678efh567hg6787"))
	if err != nil {
		log.Fatal(err)
	}
	var auth struct {
		OpenID         string `json:"openid"`
		AuthorizeState string `json:"authorize_state"`
	}
	if err := resp.DecodeJSON(&auth); err != nil {
		log.Fatal(err)
	}
	fmt.Println(auth.OpenID, auth.AuthorizeState)
	// Output: oUpF8uMuAJO_M2pxb1Q9zNjWeS6o UNAUTHORIZED
}

// Every failed check has its own sentinel error.
func ExampleVerificationError() {
	srv := sandbox.NewServer()
	defer srv.Close()
	// Make the sandbox sign every answer with a WECHATPAY/SIGNTEST/ probe.
	srv.Sandbox.SetFaults(sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{"*": {ProbeRate: 1}}})

	_, err := srv.Client.Chain("v3/businesscircle/user-authorizations/{openid}").Get(context.Background(),
		wxpay.PathParam("openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"), wxpay.Query("appid", "wxd678efh567hg6787"))
	fmt.Println(errors.Is(err, wxpay.ErrProbeSignature))
	// Output: true
}

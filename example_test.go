package wxpay_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

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

// RetryPolicy's CheckRetry and Backoff replace the decision and the wait;
// ShouldRetry and RetryWait, the defaults, can be wrapped.
func ExampleRetryPolicy() {
	p := wxpay.DefaultRetryPolicy()
	p.CheckRetry = func(status int, err error) bool {
		return status != 429 && wxpay.ShouldRetry(status, err) // leave rate limits to a queue
	}
	p.Backoff = func(p wxpay.RetryPolicy, attempt int, retryAfter string, now time.Time, jitter float64) time.Duration {
		return wxpay.RetryWait(p, attempt, retryAfter, now, 0) // no jitter
	}
	fmt.Println(p.CheckRetry(429, &wxpay.APIError{StatusCode: 429}), p.CheckRetry(503, &wxpay.APIError{StatusCode: 503}))
	fmt.Println(p.Backoff(p, 1, "", time.Now(), 0.9), p.Backoff(p, 2, "", time.Now(), 0.9))
	// Output:
	// false true
	// 100ms 200ms
}

// An answer WeChat Pay could not accept is an *APIError whose Error() shows
// the detail's field, location and issue: the message alone can blame the
// wrong field.
func ExampleAPIError() {
	srv := sandbox.NewServer()
	defer srv.Close()
	body := pointsSync("4200000000000000000000000001")
	body["points_update_time"] = "2024-01-06 14:06:00" // not RFC 3339
	_, err := srv.Client.Chain("v3/businesscircle/points/notify").Post(context.Background(), wxpay.JSON(body))
	var apiErr *wxpay.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code)
		fmt.Println(strings.Contains(err.Error(), "field /points_update_time, location body"))
	}
	// Output:
	// 400 PARAM_ERROR
	// true
}

// A client onboarded with platform certificates keeps them current; the
// startup context bounds only the first download.
func ExampleClient_StartCertificateRefresher() {
	srv := sandbox.NewServer(sandbox.WithKeyMode(sandbox.PlatformCertificateMode))
	defer srv.Close()
	k := srv.Keys
	c, err := wxpay.NewClient(
		wxpay.WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey),
		wxpay.WithAPIv3Key(k.APIv3Key), // enough to download the platform certificates
		wxpay.WithBaseURL(srv.URL),
	)
	if err != nil {
		log.Fatal(err)
	}
	startup, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := c.StartCertificateRefresher(startup, 24*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(c.KeyRing().Certificates()) > 0, r.Err())
	r.Stop()
	fmt.Println(errors.Is(r.Err(), wxpay.ErrRefresherStopped))
	// Output:
	// true <nil>
	// true
}

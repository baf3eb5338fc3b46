// Package wxpay is a client for WeChat Pay APIv3 (微信支付 APIv3) that signs
// every request, verifies every answer and says which check failed.
//
// Sync a customer's points for a mall transaction (商圈会员积分同步):
//
//	key, _ := wxpay.LoadPrivateKey(apiclientKeyPEM)
//	pub, _ := wxpay.LoadPublicKey(pubKeyPEM)
//	c, err := wxpay.NewClient(
//		wxpay.WithMerchant("1900000109", "5E6A1B2C3D4E5F60718293A4B5C6D7E8F9010203", key),
//		wxpay.WithWechatPayPublicKey("PUB_KEY_ID_0119000001092025112300000000000001", pub),
//	)
//	if err != nil {
//		return err
//	}
//	resp, err := c.Chain("v3/businesscircle/points/notify").Post(ctx, wxpay.JSON(map[string]any{
//		"transaction_id":     "1217752501201407033233368018",
//		"appid":              "wx1234567890abcdef",
//		"openid":             "oWmnN4xxxxxxxxxxe92NHIGf1xd8",
//		"earn_points":        true,
//		"increased_points":   100,
//		"points_update_time": "2020-05-20T13:29:35.120+08:00",
//	}))
//	// err is nil only for a 2xx answer whose signature verified;
//	// resp.StatusCode == 204 for a points sync.
//
// # Signing and verification
//
// Each attempt is signed afresh (WECHATPAY2-SHA256-RSA2048 over the exact
// request-target and body bytes sent). Every 2xx answer must carry a valid
// signature by a key in the client's KeyRing: the WeChat Pay public key
// (PUB_KEY_ID_…), platform certificates by serial, or both during a
// migration. Requests name the key wanted in Wechatpay-Serial. A failed check
// is a *VerificationError wrapping ErrMissingHeader, ErrSignatureType,
// ErrProbeSignature (WeChat Pay's WECHATPAY/SIGNTEST/ probes),
// ErrMalformedTimestamp, ErrClockSkew (more than five minutes off by
// default), ErrUnknownSerial or ErrBadSignature. Only
// WithInsecureSkipResponseVerification turns this off.
//
// # Errors and retries
//
// Every answer outside 2xx is an *APIError with StatusCode, Code, Message,
// Detail, RequestID and the whole Body; its Error() is one bounded line of
// printable text with detail's field, location and issue. Network errors,
// 429, 5xx and a signed 202 ("not processed yet") are retried twice by
// default (RetryPolicy's CheckRetry and Backoff, ShouldRetry and RetryWait by
// default). A Retry-After is never cut short: when it asks for more than the
// policy's MaxWait or the context's deadline leaves, the call fails at once
// and says how long WeChat Pay asked to wait. A request that cannot be built
// (an invalid header, say) is ErrInvalidRequest and is never sent. A request
// that timed out after it was sent, or whose success could not be verified,
// may have taken effect: reconcile before repeating it.
//
// # Options
//
// An option given an invalid argument (nil, zero or negative where that
// means nothing) is refused by the constructor, never silently ignored:
// NewClient returns its error. Package notify follows the same rule.
//
// # Call styles
//
// The string chain, c.Chain("v3/…").Post(ctx, …), is the counterpart of the
// PHP SDK's chain('v3/…') and of its $instance['v3/…'] property style, which
// Go cannot express. PostAsync and friends return a Future with Then and
// Wait. Package businesscircle adds typed calls that read like the path.
package wxpay

// Package wxtest is an in-process fake of the WeChat Pay APIv3 server for tests, examples and demos.
//
//	keys := wxtest.SharedKeys()
//	srv := wxtest.NewServer(keys)
//	defer srv.Close()
//	// point the client at srv.URL, signing with keys.MerchantKey and keys.MerchantSerial,
//	// and trusting keys.WechatPayKey.Public() under keys.PublicKeyID.
//	for _, r := range srv.Requests() {
//		if r.AuthErr != nil { ... }
//	}
//
// Every request is recorded, its Authorization header is checked with a verifier written from the
// protocol text (not from the SDK, whose signer it exists to check), and every 2xx answer is signed
// the way WeChat Pay signs it: with the WeChat Pay public key or a platform certificate, chosen by the
// request's Wechatpay-Serial header. Faults (bad signature, stale timestamp, signature probe, …) can
// be injected to exercise the client's verifier.
//
// Protocol: https://pay.weixin.qq.com/docs/merchant/development/interface-rules/signature-generation.html
// and https://pay.weixin.qq.com/docs/merchant/development/interface-rules/signature-verification.html.
//
// The package imports only the standard library.
package wxtest

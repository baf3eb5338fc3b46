// Package notify receives WeChat Pay APIv3 callback notifications (回调通知):
// it verifies the signature first and only then decrypts the resource.
//
// Serve the business-circle notifications (智慧商圈) of a mall:
//
//	pub, _ := wxpay.LoadPublicKey(pubKeyPEM)
//	ring := wxpay.NewKeyRing()
//	if err := ring.AddPublicKey("PUB_KEY_ID_0119000001092025112300000000000001", pub); err != nil {
//		return err
//	}
//	p, err := notify.NewParser(&wxpay.Verifier{Keys: ring}, apiv3Key)
//	if err != nil {
//		return err
//	}
//	http.Handle("POST /wechatpay/notify", notify.NewHandler(p,
//		func(ctx context.Context, n *notify.Notification) error {
//			switch n.EventType {
//			case "MALL_TRANSACTION.SUCCESS":
//				var paid struct {
//					TransactionID string `json:"transaction_id"`
//					Amount        int64  `json:"amount"`
//				}
//				if err := n.DecodeResource(&paid); err != nil {
//					return err
//				}
//				return awardPoints(ctx, paid.TransactionID, paid.Amount)
//			}
//			return nil // other event types: acknowledged, nothing to do
//		},
//		notify.WithStore(notify.NewMemoryStore()),
//	))
//
// A client made with wxpay.NewClient already has a verifier with its key ring
// (Client.Verifier), so notifications and answers are checked alike.
//
// # Checks, in order
//
// Parse (and ParseRequest, which reads the body of an *http.Request with a
// bound) applies these checks and stops at the first that fails; the error
// says which one:
//
//  1. the body is at most MaxBodyBytes (ErrBodyTooLarge);
//  2. the signature, by wxpay.Verifier, with the same rules and errors as
//     for API answers: the four Wechatpay-* headers (wxpay.ErrMissingHeader),
//     Wechatpay-Signature-Type, which may be absent but if present must be
//     WECHATPAY2-SHA256-RSA2048 (wxpay.ErrSignatureType), WeChat Pay's
//     WECHATPAY/SIGNTEST/ probes (wxpay.ErrProbeSignature), the timestamp's
//     form (wxpay.ErrMalformedTimestamp) and the clock (wxpay.ErrClockSkew),
//     the key named by Wechatpay-Serial, a WeChat Pay public key or a
//     platform certificate (wxpay.ErrUnknownSerial), and the signature over
//     the exact body bytes (wxpay.ErrBadSignature). These failures are
//     *wxpay.VerificationError;
//  3. the envelope: JSON with id, event_type and resource (ErrMalformed), and
//     resource.algorithm AEAD_AES_256_GCM (ErrUnsupportedAlgorithm);
//  4. decryption with the APIv3 key, the resource's nonce and associated
//     data (wxpay.ErrDecrypt), to a JSON plaintext (ErrMalformed).
//
// Nothing of the body is looked at before its signature has verified.
// Event types this package does not know are not errors: they are handed
// over with their plaintext like any other.
//
// # Serving
//
// Serve the handler from an http.Server with read, write and idle timeouts
// and a header limit: NewServer returns one (ReadHeaderTimeout 5 s,
// ReadTimeout 10 s, WriteTimeout 15 s, IdleTimeout 60 s, MaxHeaderBytes
// 64 KiB). The handler bounds the body it reads (MaxBodyBytes), but only the
// server can cut off a client that sends it one byte a second.
//
// # Options
//
// As in package wxpay, an option given an invalid argument (a nil logger or
// store, a timeout that is not positive) is refused by the constructor, never
// ignored: NewHandler panics, as it does for a nil parser or callback.
//
// WithRejectionHook receives each request rejected before the callback, with
// its status and reason, for example to count signature failures apart:
//
//	notify.WithRejectionHook(func(r *http.Request, status int, err error) {
//		if _, ok := errors.AsType[*wxpay.VerificationError](err); ok {
//			signatureFailures.Add(1)
//		}
//	})
//
// # Answering WeChat Pay
//
// WeChat Pay treats 200 and 204 as received and re-sends anything else, for
// up to about 24 hours, and expects an answer within 5 seconds. NewHandler
// answers 204 only after the callback succeeded, and otherwise a 4xx or 5xx
// with {"code":"FAIL","message":…} naming the failed check. Because
// notifications are delivered at least once, the callback must be idempotent;
// a Store lets the handler acknowledge ids it has already processed without
// running the callback again.
//
// WeChat Pay documents: decrypting callbacks
// https://pay.weixin.qq.com/doc/v3/merchant/4012071382; the business-circle
// notifications MALL_AUTH.ACTIVATE_CARD
// https://pay.weixin.qq.com/doc/v3/merchant/4012285836,
// MALL_TRANSACTION.SUCCESS https://pay.weixin.qq.com/doc/v3/merchant/4012285856
// and MALL_REFUND.SUCCESS https://pay.weixin.qq.com/doc/v3/merchant/4012285869.
package notify

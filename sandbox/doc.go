// Package sandbox is a local, stateful WeChat Pay for the smart business
// circle (智慧商圈): it verifies requests, answers and signs like WeChat Pay,
// keeps members, transactions, points syncs and parking states, and delivers
// signed, encrypted notifications with WeChat Pay's retries. WeChat Pay has
// no APIv3 sandbox of its own; this one is meant to be indistinguishable from
// the real service for any client, ours or not.
//
// In a test, start one and call it:
//
//	srv := sandbox.NewServer() // keys made once per process; srv.Client is ready
//	defer srv.Close()
//
//	// A member pays in the mall (admin API: POST /sandbox/transactions).
//	srv.Sandbox.Authorize(sandbox.MemberRequest{AppID: appid, OpenID: openid})
//	paid, _ := srv.Sandbox.Pay(sandbox.PaymentRequest{AppID: appid, OpenID: openid, Amount: 8800})
//
//	// The mall syncs the points, signed and verified as against WeChat Pay.
//	resp, err := businesscircle.New(srv.Client).Businesscircle.Points.Notify.Post(ctx,
//		businesscircle.PointsNotifyRequest{TransactionID: paid.TransactionID, AppID: appid, OpenID: openid,
//			EarnPoints: true, IncreasedPoints: 88, PointsUpdateTime: "2024-05-20T13:29:35+08:00"})
//
//	// What the sandbox received: GET /sandbox/points/{transaction_id}.
//	got, _ := http.Get(srv.URL + "/sandbox/points/" + paid.TransactionID)
//
// A receiver that syncs points when a payment is notified needs the
// server's client and parser, which exist only once NewServer runs:
// WithNotifyHandler hands them to the function that makes the handler (see
// its example). Admin calls that send a notification answer with its
// notification_id (Member, Payment and Refund have NotificationID), and
// Sandbox.WaitDelivery(ctx, id, nil) waits until the receiver has answered
// it (delivered) or the retries ran out (failed); GET /sandbox/deliveries
// lists every attempt.
//
// Outside tests, New builds the http.Handler from a Config (Keys.Config
// gives one for freshly generated keys), and `wxpay sandbox` serves it.
//
// # What it emulates
//
// POST /v3/businesscircle/points/notify (204), GET
// /v3/businesscircle/user-authorizations/{openid} (200), GET
// /v3/businesscircle/users/{openid}/points/commit_status (200), POST
// /v3/businesscircle/parkings (204) and GET /v3/certificates (200), for
// merchants (直连商户) and service providers (服务商) acting for their
// sub-merchants; and the notifications MALL_AUTH.ACTIVATE_CARD,
// MALL_TRANSACTION.SUCCESS and MALL_REFUND.SUCCESS.
//
// Each request runs one pipeline and the first failing check answers:
//
//  1. Accept and User-Agent present, else 400 INVALID_REQUEST
//     "Http头缺少Accept或User-Agent"; Authorization present, else 401;
//  2. Authorization: scheme WECHATPAY2-SHA256-RSA2048 and five k="v" pairs
//     in any order (spaces after commas tolerated), else 401 SIGN_ERROR;
//  3. timestamp within 300 s of the sandbox clock (301 s is refused);
//  4. mchid configured and serial_no its certificate's;
//  5. the signature, over the raw request-target (path and query; an
//     absolute-form target without its scheme and host), the timestamp and
//     nonce as the header writes them and the raw body bytes (a trailing
//     newline and HTML-escaped JSON are signed as sent), else 401
//     "错误的签名，验签失败" with the sign_information WeChat Pay returns;
//  6. route, else 404 RESOURCE_NOT_EXISTS, or 405 for another method;
//  7. with Config.RateLimits, the documented per-second limits
//     (DocumentedRateLimits), else 429 FREQUENCY_LIMITED;
//  8. injected faults (see Faults);
//  9. parameters against the documented tables: 400 PARAM_ERROR with
//     detail.field (a JSON pointer such as /openid in the body, the name in
//     the query or path) and detail.location (body, query or path);
//  10. business checks, then the action, on the members checked.
//
// 401 answers are unsigned, every 2xx is signed, other errors are signed only
// with Config.SignErrorAnswers. Every answer has a Request-ID. The key of a
// 2xx is the one the request's Wechatpay-Serial names (public key id or
// platform serial); when it names none the sandbox has, it is the newest
// platform certificate, or the public key when there is no certificate.
// Notifications use the public key for Config.NotifyPublicKeyShare of them
// when both kinds are configured.
//
// # Admin API
//
// JSON under /sandbox/, beside the /v3/ paths, drives the sandbox from any
// language: authorizations and their revocation, members' submissions of
// held payments, transactions, refunds, points, parkings, deliveries and
// faults. Each call has a Go method on Sandbox (Authorize, Deauthorize,
// Commit, Pay, Refund, Points, Parkings, Deliveries, Faults, SetFaults). It
// has no authentication: serve it on loopback only.
//
// # Automatic points
//
// A member authorised with REGISTERED_AND_AUTHORIZATION_MODE earns
// automatically: each payment is notified at once. A member who opened the
// card in REGISTERED_MODE has each payment held (Payment.HeldUntil): nothing
// is notified and commit_status answers PENDING until the member submits the
// payments in the plugin (POST /sandbox/members/{openid}/commit, Commit);
// then each is notified with a commit_tag. Unsubmitted, a payment lapses at
// the end of its day in Beijing (Config.HoldPaymentsFor changes that). A
// member who withdraws the authorisation (POST
// /sandbox/authorizations/{openid}/revoke, Deauthorize) is DEAUTHORIZED to
// the authorisation query, and a later points sync for the member gets
// Config.DeauthorizedSyncAnswer. docs/protocol.md §9.3 says which of this
// WeChat Pay documents and which the sandbox infers.
// docs/sandbox.md in the repository documents every call, its body and its
// answer, and the faults PUT /sandbox/faults takes.
//
// # Limits
//
// So that a sandbox left running stays small, it forgets the oldest state
// beyond limits far above what any test makes: a transaction 90 days after
// it was paid (its refunds are notified for 30), and the oldest first beyond
// 1,000,000 transactions (with their refunds); the first members made beyond
// 1,000,000; the first cars seen beyond 1,000,000; and the oldest finished
// notification deliveries beyond 100,000 (pending ones are kept). A forgotten
// transaction is unknown to points syncs, refunds and GET /sandbox/points.
// commit_status reads an index, so its time does not grow with the state.
//
// # Emulator policies
//
// Where WeChat Pay's behaviour is not documented, the sandbox chooses:
//
//   - null as the value of a documented member is 400 PARAM_ERROR (the
//     current rules allow no null), and so is a body that is not one JSON
//     object; an empty optional string counts as not sent; unknown members
//     and query parameters are ignored; Content-Type is not checked. A body
//     member given twice, or under another case of a documented name
//     ("OPENID" beside "openid"), and a documented query parameter given
//     twice or in another case, are 400 PARAM_ERROR: JSON does not say which
//     of two values counts, so the sandbox acts on neither.
//   - String lengths are counted in UTF-8 bytes, as WeChat Pay's "字节数 N，
//     大于最大值 M" messages on other APIs do; four-byte characters (emoji)
//     are refused. Messages other than the observed ones follow the shape of
//     WeChat Pay's messages on other APIv3 calls.
//   - A missing Authorization and an unknown mchid get the format and serial
//     messages of a malformed header and a wrong serial; serial_no is
//     compared case-insensitively.
//   - A plate_number starts with one of the 31 mainland province
//     abbreviations (京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼), then
//     has at least one upper-case letter, digit or Chinese character; 港, 澳
//     and 台 are refused, as Hong Kong and Macau cars enter the mainland on
//     粤Z…港 and 粤Z…澳 plates. Times are RFC 3339: YYYY-MM-DDTHH:MM:SS, an
//     optional fraction of 1 to 9 digits, Z or ±HH:MM, a date that exists.
//     Package businesscircle applies the same rules, written separately; a
//     differential test holds the two together. An openid path segment of
//     "." or ".." (sent as %2E) is 400 PARAM_ERROR.
//   - A points sync must name a transaction of the caller (and of the mall
//     named in sub_mchid) with the same appid and openid; otherwise the
//     misleading real message "参数校验错误，请检查商圈商户号，微信订单号，OPENID是否为空".
//     A second sync of a transaction overwrites the first and is counted
//     (Config.RejectRepeatedPointsSync refuses it instead). A member who
//     withdrew the authorisation (DEAUTHORIZED) gets
//     Config.DeauthorizedSyncAnswer, by default 400 USER_NOT_AUTHORIZED; an
//     UNAUTHORIZED one (REGISTERED_MODE, who submitted a held payment) syncs.
//   - A service provider must name one of its sub-merchants in sub_mchid on
//     every business-circle call (missing: 400 PARAM_ERROR); another mall's
//     id is 403 NO_AUTH "受理关系不存在", for providers and merchants alike.
//   - Brands: with none configured any positive brandid and any appid pass;
//     otherwise an unknown brand is 403 NO_AUTH and an appid not bound to it
//     400 PARAM_ERROR. Merchant AppIDs, when configured, restrict appid
//     everywhere.
//   - commit_status answers 200 with points_commit_status: PENDING when the
//     member has a payment today (Beijing time, sandbox clock) that was
//     notified and not yet synced, or a held payment that has not lapsed,
//     else FINISHED. It answers for any member, authorised or not.
//   - A payment by a member in REGISTERED_MODE is held until submitted or
//     lapsed, at the end of its Beijing day; a submission gives one new
//     commit_tag (32 letters and digits) to all the payments it submits. A
//     payment by a customer without a member card, or by a DEAUTHORIZED
//     member, is recorded but neither notified (notification_id empty) nor
//     held, and never makes commit_status PENDING; it can still be synced
//     (the DEAUTHORIZED member's sync gets DeauthorizedSyncAnswer).
//   - Refunds are notified only for synced transactions paid within 30 days.
//   - Notifications: id a UUID, associated_data the original_type
//     (mall_auth for MALL_AUTH.ACTIVATE_CARD), nonce 12 letters and digits,
//     the body made once and each attempt signed afresh; in partner mode they
//     go to the provider's URLs, encrypted with its APIv3 key, with the mall
//     as mchid. Only a first attempt can be a probe, be signed by the
//     untrusted key or name an unknown serial.
//   - Injected errors happen before the endpoint acts; dropped connections
//     after it acted. 429 is FREQUENCY_LIMITED.
//
// The package imports only the standard library and this module.
package sandbox

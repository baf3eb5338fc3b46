// Package delivery is the sandbox's notification outbox: it POSTs callback
// notifications to a merchant's URL and retries them on WeChat Pay's schedule
// until the receiver answers 200 or 204.
//
//	q := delivery.New(delivery.Config{Logger: logger})
//	defer q.Close()
//	q.Enqueue(delivery.Message{
//		ID:        "EV-2018022511223320873",
//		EventType: "MALL_TRANSACTION.SUCCESS",
//		URL:       "https://mall.example.com/wechatpay/notify",
//		Build: func(attempt int) (http.Header, []byte, error) {
//			return sign(body) // a fresh timestamp, nonce and signature per attempt
//		},
//	})
//	rec, err := q.Wait(ctx, "EV-2018022511223320873", nil) // until delivered, failed or cancelled
//
// # What counts as received
//
// Only HTTP 200 and 204 are success ("接收成功：HTTP应答状态码需返回200或204").
// Every other status (redirects are not followed), a transport error, no
// answer within Config.Timeout (WeChat Pay allows 5 s) and an error from
// Message.Build are failures, retried after the next wait of the schedule.
// When the schedule is used up the record is "failed"; WeChat Pay then stops
// too and the merchant is expected to query the order.
//
// # Schedule
//
// DefaultSchedule is the one WeChat Pay documents for payment and refund
// notifications: 15 retries over 24h4m
// (https://pay.weixin.qq.com/docs/merchant/apis/smart-business-circle/on-site-payment.html).
// The old wiki gives a shorter one for points-authorization notifications;
// the sandbox can pass any schedule, for example one parsed by ParseSchedule
// from a command-line flag.
//
// Every attempt is logged (id, event type, URL, attempt number, status, error,
// duration and the resulting state), never the body.
package delivery

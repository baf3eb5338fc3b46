package businesscircle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/seed2ac2593f/wxpay/notify"
)

// Event types of the business-circle notifications (event_type).
const (
	// EventTypeAuthActivateCard is 商圈会员积分服务授权结果通知, see
	// AuthorizationEvent.
	EventTypeAuthActivateCard = "MALL_AUTH.ACTIVATE_CARD"
	// EventTypeTransactionSuccess is 商圈会员场内支付结果通知, see
	// TransactionEvent.
	EventTypeTransactionSuccess = "MALL_TRANSACTION.SUCCESS"
	// EventTypeRefundSuccess is 商圈会员场内退款通知, see RefundEvent.
	EventTypeRefundSuccess = "MALL_REFUND.SUCCESS"
)

// TransactionEvent is the resource of MALL_TRANSACTION.SUCCESS
// (商圈会员场内支付结果通知): an authorised member paid in a mall shop. Answer
// it with a points sync (PointsNotifyRequest) for TransactionID.
//
// WeChat Pay documents:
//   - merchant (直连商户): https://pay.weixin.qq.com/doc/v3/merchant/4012285856
//   - partner (服务商): https://pay.weixin.qq.com/doc/v3/partner/4012076414
//
// Decoding ignores unknown fields and trims stray spaces from every string.
type TransactionEvent struct {
	MchID         string `json:"mchid"`          // the mall merchant (商户号)
	MerchantName  string `json:"merchant_name"`  // 商圈商户名称
	ShopName      string `json:"shop_name"`      // 门店名称
	ShopNumber    string `json:"shop_number"`    // 门店编号, the mall's own shop code
	AppID         string `json:"appid"`          // mini program of the points authorisation
	OpenID        string `json:"openid"`         // the member under AppID
	TimeEnd       string `json:"time_end"`       // 交易完成时间, RFC 3339 (see ParseTime)
	Amount        int64  `json:"amount"`         // amount paid, in fen (分)
	TransactionID string `json:"transaction_id"` // 微信支付订单号
	// CommitTag (手动提交积分标记) is present only when the member asked for
	// points by hand in the plugin; empty for automatic pushes.
	CommitTag string `json:"commit_tag,omitempty"`
	// AuthType and Code are reported by one third-party SDK only; they are
	// empty unless WeChat Pay sends them.
	AuthType string `json:"auth_type,omitempty"`
	Code     string `json:"code,omitempty"`
}

// UnmarshalJSON decodes the resource and trims its strings.
func (e *TransactionEvent) UnmarshalJSON(data []byte) error {
	type plain TransactionEvent
	return decodeTrimmed(data, (*plain)(e))
}

// RefundEvent is the resource of MALL_REFUND.SUCCESS (商圈会员场内退款通知):
// a purchase whose points were synced was refunded, in part or in full.
// WeChat Pay sends it only for transactions whose points were synced.
//
// WeChat Pay documents:
//   - merchant (直连商户): https://pay.weixin.qq.com/doc/v3/merchant/4012285869
//   - partner (服务商): https://pay.weixin.qq.com/doc/v3/partner/4012076419
//
// Decoding ignores unknown fields and trims stray spaces from every string.
type RefundEvent struct {
	MchID         string `json:"mchid"`          // the mall merchant (商户号)
	MerchantName  string `json:"merchant_name"`  // 商圈商户名称
	ShopName      string `json:"shop_name"`      // 门店名称
	ShopNumber    string `json:"shop_number"`    // 门店编号
	AppID         string `json:"appid"`          // mini program of the points authorisation
	OpenID        string `json:"openid"`         // the member under AppID
	RefundTime    string `json:"refund_time"`    // 退款完成时间, RFC 3339 (see ParseTime)
	PayAmount     int64  `json:"pay_amount"`     // amount originally paid, in fen
	RefundAmount  int64  `json:"refund_amount"`  // amount refunded, in fen
	TransactionID string `json:"transaction_id"` // the original 微信支付订单号
	RefundID      string `json:"refund_id"`      // 微信支付退款单号
}

// UnmarshalJSON decodes the resource and trims its strings.
func (e *RefundEvent) UnmarshalJSON(data []byte) error {
	type plain RefundEvent
	return decodeTrimmed(data, (*plain)(e))
}

// AuthType says what a member did in MALL_AUTH.ACTIVATE_CARD.
type AuthType string

// The documented AuthType values.
const (
	// AuthTypeRegisteredMode: the member took the mall's card (进卡包) but did
	// not authorise the points service.
	AuthTypeRegisteredMode AuthType = "REGISTERED_MODE"
	// AuthTypeRegisteredAndAuthorizationMode: the member took the card and
	// authorised the points service.
	AuthTypeRegisteredAndAuthorizationMode AuthType = "REGISTERED_AND_AUTHORIZATION_MODE"
)

// AuthorizationEvent is the resource of MALL_AUTH.ACTIVATE_CARD
// (商圈会员积分服务授权结果通知): a member opened the 商圈会员快速积分 plugin and took the
// mall's member card, authorising the points service or not.
//
// WeChat Pay documents:
//   - merchant (直连商户): https://pay.weixin.qq.com/doc/v3/merchant/4012285836
//   - partner (服务商): https://pay.weixin.qq.com/doc/v3/partner/4012076406
//
// Decoding ignores unknown fields and trims stray spaces from every string:
// samples carry "REGISTERED_MODE " with a trailing space.
type AuthorizationEvent struct {
	OpenID   string   `json:"openid"`    // the member on the mall's mini program
	Code     string   `json:"code"`      // the member's card code under the mall's card_id
	MchID    string   `json:"mchid"`     // the mall merchant the card was opened with
	AuthType AuthType `json:"auth_type"` // AuthTypeRegisteredMode or AuthTypeRegisteredAndAuthorizationMode
}

// UnmarshalJSON decodes the resource and trims its strings.
func (e *AuthorizationEvent) UnmarshalJSON(data []byte) error {
	type plain AuthorizationEvent
	return decodeTrimmed(data, (*plain)(e))
}

// decodeTrimmed unmarshals data into the struct v points to and trims
// surrounding white space from each of its string fields.
func decodeTrimmed(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	s := reflect.ValueOf(v).Elem()
	for i := range s.NumField() {
		if f := s.Field(i); f.Kind() == reflect.String {
			f.SetString(strings.TrimSpace(f.String()))
		}
	}
	return nil
}

// ErrUnhandledEvent is wrapped by EventHandlers.Handle when it has no handler
// for a notification's event type. The notification is then answered as a
// failure, so WeChat Pay delivers it again later: nothing is acknowledged
// without being handled.
var ErrUnhandledEvent = errors.New("businesscircle: no handler for event type")

// EventHandlers dispatches verified, decrypted notifications to one typed
// function per business-circle event type. Its Handle method is a
// notify.HandlerFunc:
//
//	h := businesscircle.EventHandlers{Transaction: onPaid, Refund: onRefund, Authorization: onCard}
//	http.Handle("/wechatpay/notify", notify.NewHandler(parser, h.Handle))
//
// A nil function means "not handled": its events fail with ErrUnhandledEvent
// and WeChat Pay retries them, rather than being silently acknowledged.
type EventHandlers struct {
	// Transaction handles MALL_TRANSACTION.SUCCESS.
	Transaction func(ctx context.Context, n *notify.Notification, e *TransactionEvent) error
	// Refund handles MALL_REFUND.SUCCESS.
	Refund func(ctx context.Context, n *notify.Notification, e *RefundEvent) error
	// Authorization handles MALL_AUTH.ACTIVATE_CARD.
	Authorization func(ctx context.Context, n *notify.Notification, e *AuthorizationEvent) error
	// Other gets every other event type, undecoded: its resource is in
	// n.Plaintext. When Other is nil such events fail with ErrUnhandledEvent,
	// so an event type WeChat Pay adds later is retried until someone handles
	// it; set Other to accept (or log and acknowledge) them instead.
	Other func(ctx context.Context, n *notify.Notification) error
}

// Handle decodes n's resource by its event type and calls the matching
// function, returning its error. A resource that does not decode is an error
// (wrapping notify.ErrMalformed) and the function is not called.
func (h EventHandlers) Handle(ctx context.Context, n *notify.Notification) error {
	if n == nil {
		return errors.New("businesscircle: nil notification")
	}
	switch et := strings.TrimSpace(n.EventType); et {
	case EventTypeTransactionSuccess:
		if h.Transaction == nil {
			return unhandled(n, et)
		}
		var e TransactionEvent
		if err := n.DecodeResource(&e); err != nil {
			return err
		}
		return h.Transaction(ctx, n, &e)
	case EventTypeRefundSuccess:
		if h.Refund == nil {
			return unhandled(n, et)
		}
		var e RefundEvent
		if err := n.DecodeResource(&e); err != nil {
			return err
		}
		return h.Refund(ctx, n, &e)
	case EventTypeAuthActivateCard:
		if h.Authorization == nil {
			return unhandled(n, et)
		}
		var e AuthorizationEvent
		if err := n.DecodeResource(&e); err != nil {
			return err
		}
		return h.Authorization(ctx, n, &e)
	default:
		if h.Other == nil {
			return unhandled(n, et)
		}
		return h.Other(ctx, n)
	}
}

func unhandled(n *notify.Notification, eventType string) error {
	return fmt.Errorf("%w %q (notification %s)", ErrUnhandledEvent, eventType, n.ID)
}

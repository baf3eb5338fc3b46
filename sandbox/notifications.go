package sandbox

import (
	"context"
	"net/http"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/internal/delivery"
	"github.com/seed2ac2593f/wxpay/internal/wxauth"
)

// The business-circle notifications (docs/protocol.md §7): event_type, the resource's
// original_type (also its associated_data, as in the one real sample) and
// summary.
type eventKind struct {
	eventType, originalType, summary string
}

var (
	eventAuth        = eventKind{"MALL_AUTH.ACTIVATE_CARD", "mall_auth", "商圈会员积分服务授权成功"}
	eventTransaction = eventKind{"MALL_TRANSACTION.SUCCESS", "mall_transaction", "支付成功"}
	eventRefund      = eventKind{"MALL_REFUND.SUCCESS", "mall_refund", "退款成功"}
)

// envelope is the notification body (docs/protocol.md §5.1).
type envelope struct {
	ID           string   `json:"id"`
	CreateTime   string   `json:"create_time"`
	ResourceType string   `json:"resource_type"`
	EventType    string   `json:"event_type"`
	Summary      string   `json:"summary"`
	Resource     resource `json:"resource"`
}

type resource struct {
	OriginalType   string `json:"original_type"`
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	Nonce          string `json:"nonce"`
}

// The plaintexts of docs/protocol.md §7, in the documents' field order.
type (
	authPlaintext struct {
		OpenID   string `json:"openid"`
		Code     string `json:"code"`
		MchID    string `json:"mchid"`
		AuthType string `json:"auth_type"`
	}
	transactionPlaintext struct {
		MchID         string `json:"mchid"`
		MerchantName  string `json:"merchant_name"`
		ShopName      string `json:"shop_name"`
		ShopNumber    string `json:"shop_number"`
		AppID         string `json:"appid"`
		OpenID        string `json:"openid"`
		TimeEnd       string `json:"time_end"`
		Amount        int64  `json:"amount"`
		TransactionID string `json:"transaction_id"`
		CommitTag     string `json:"commit_tag,omitempty"`
	}
	refundPlaintext struct {
		MchID         string `json:"mchid"`
		MerchantName  string `json:"merchant_name"`
		ShopName      string `json:"shop_name"`
		ShopNumber    string `json:"shop_number"`
		AppID         string `json:"appid"`
		OpenID        string `json:"openid"`
		RefundTime    string `json:"refund_time"`
		PayAmount     int64  `json:"pay_amount"`
		RefundAmount  int64  `json:"refund_amount"`
		TransactionID string `json:"transaction_id"`
		RefundID      string `json:"refund_id"`
	}
)

// notify builds a notification for merchant m (the provider in partner
// mode), encrypted with m's APIv3 key, and delivers it to url. The body is
// made once; every attempt signs it afresh. With no URL nothing is sent.
func (s *Sandbox) notify(m *merchant, url string, ev eventKind, plaintext any) (id string, err error) {
	id = newNotificationID()
	nonce := randomString(12, alnum)
	ct, err := wxauth.EncryptAEAD(m.apiv3Key, nonce, ev.originalType, marshal(plaintext))
	if err != nil {
		return "", err
	}
	body := marshal(envelope{
		ID:           id,
		CreateTime:   formatTime(s.now()),
		ResourceType: "encrypt-resource",
		EventType:    ev.eventType,
		Summary:      ev.summary,
		Resource: resource{
			OriginalType:   ev.originalType,
			Algorithm:      wxpay.AEADAlgorithm,
			Ciphertext:     ct,
			AssociatedData: ev.originalType,
			Nonce:          nonce,
		},
	})
	if url == "" {
		s.log.Warn("sandbox: notification not sent: no notification URL configured",
			"id", id, "event_type", ev.eventType, "mchid", m.MchID)
		return id, nil
	}
	s.queue.Enqueue(delivery.Message{
		ID:        id,
		EventType: ev.eventType,
		URL:       url,
		Owner:     m.MchID,
		Build: func(attempt int) (http.Header, []byte, error) {
			return s.signNotification(attempt, body), body, nil
		},
	})
	return id, nil
}

// signNotification signs one attempt: the public key for the configured
// share, a clock skew and, on a first attempt only, a probe signature, an
// untrusted key or an unknown serial when faults say so, so that the
// re-delivery of such a notification is always signed correctly.
func (s *Sandbox) signNotification(attempt int, body []byte) http.Header {
	f := s.faults.get().Notifications
	k := s.keys.forNotification(s.draw(s.cfg.NotifyPublicKeyShare))
	first := attempt == 1
	sf := signingFaults{skew: time.Duration(f.ClockSkew)}
	sf.probe = first && s.draw(f.ProbeRate)
	sf.badSignature = first && s.draw(f.BadSignatureRate)
	sf.unknownSerial = first && s.draw(f.UnknownSerialRate)
	h := s.sign(k, body, sf)
	h.Set("Request-ID", newRequestID())
	h.Set("Content-Type", "application/json")
	return h
}

// newNotificationID makes an envelope id shaped like a real one (a UUID).
func newNotificationID() string {
	h := randomString(32, lowerHex)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Delivery is the delivery state of one notification, as listed by
// GET /sandbox/deliveries.
type Delivery struct {
	ID        string            `json:"id"`         // the notification id
	EventType string            `json:"event_type"` // e.g. MALL_TRANSACTION.SUCCESS
	URL       string            `json:"url"`
	State     string            `json:"state"` // pending, delivered, failed or cancelled
	Attempts  []DeliveryAttempt `json:"attempts"`
	NextAt    time.Time         `json:"next_at,omitzero"` // when the next retry is due
}

// DeliveryAttempt is one attempt to deliver a notification.
type DeliveryAttempt struct {
	N        int           `json:"attempt"` // from 1
	At       time.Time     `json:"at"`
	Status   int           `json:"status,omitempty"` // the receiver's HTTP status; 0 without an answer
	Error    string        `json:"error,omitempty"`  // why it failed
	Duration time.Duration `json:"duration_ns"`
}

func fromRecord(r delivery.Record) Delivery {
	d := Delivery{ID: r.ID, EventType: r.EventType, URL: r.URL, State: r.State, NextAt: r.NextAt,
		Attempts: make([]DeliveryAttempt, len(r.Attempts))}
	for i, a := range r.Attempts {
		d.Attempts[i] = DeliveryAttempt(a)
	}
	return d
}

// Deliveries returns every notification sent so far with its attempts, in
// the order they were made.
func (s *Sandbox) Deliveries() []Delivery {
	recs := s.queue.Records()
	out := make([]Delivery, len(recs))
	for i, r := range recs {
		out[i] = fromRecord(r)
	}
	return out
}

// WaitDelivery waits until the delivery of notification id satisfies until
// (nil: until it is delivered, failed or cancelled) or ctx ends. A
// notification that was never sent, for want of a URL, is waited for until
// ctx ends.
func (s *Sandbox) WaitDelivery(ctx context.Context, id string, until func(Delivery) bool) (Delivery, error) {
	var cond func(delivery.Record) bool
	if until != nil {
		cond = func(r delivery.Record) bool { return until(fromRecord(r)) }
	}
	r, err := s.queue.Wait(ctx, id, cond)
	return fromRecord(r), err
}

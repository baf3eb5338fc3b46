package businesscircle_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/notify"
)

func TestTransactionEventDecoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		plaintext string
		want      businesscircle.TransactionEvent
	}{
		{
			name:      "documented sample",
			plaintext: `{"mchid":"1230000109","merchant_name":"腾讯广场","shop_name":"微信支付","shop_number":"123456","appid":"wxd678efh567hg6787","openid":"oUpF8uMuAJ2pxb1Q9zNjWUHsd","amount":200,"time_end":"2020-05-20T13:29:35+08:00","transaction_id":"1234567890"}`,
			want: businesscircle.TransactionEvent{MchID: "1230000109", MerchantName: "腾讯广场", ShopName: "微信支付", ShopNumber: "123456",
				AppID: "wxd678efh567hg6787", OpenID: "oUpF8uMuAJ2pxb1Q9zNjWUHsd", Amount: 200, TimeEnd: "2020-05-20T13:29:35+08:00", TransactionID: "1234567890"},
		},
		{
			name:      "manual commit with stray spaces and unknown fields",
			plaintext: `{"mchid":" 1230000109","merchant_name":"腾讯广场 ","shop_name":"微信支付","shop_number":"123456 ","appid":"wx1","openid":"o1","amount":1,"time_end":"2020-05-20T13:29:35+08:00 ","transaction_id":"42 ","commit_tag":"oUpF8uMuAJ2pxb1Q9zNjWUHsd","auth_type":"REGISTERED_MODE ","code":"478515832665","brand_new":{"a":[1,2]}}`,
			want: businesscircle.TransactionEvent{MchID: "1230000109", MerchantName: "腾讯广场", ShopName: "微信支付", ShopNumber: "123456",
				AppID: "wx1", OpenID: "o1", Amount: 1, TimeEnd: "2020-05-20T13:29:35+08:00", TransactionID: "42",
				CommitTag: "oUpF8uMuAJ2pxb1Q9zNjWUHsd", AuthType: "REGISTERED_MODE", Code: "478515832665"},
		},
		{
			name:      "optional fields absent",
			plaintext: `{"mchid":"1","appid":"wx1","openid":"o1","amount":0,"time_end":"2020-05-20T13:29:35+08:00","transaction_id":"t"}`,
			want:      businesscircle.TransactionEvent{MchID: "1", AppID: "wx1", OpenID: "o1", TimeEnd: "2020-05-20T13:29:35+08:00", TransactionID: "t"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got businesscircle.TransactionEvent
			if err := json.Unmarshal([]byte(tt.plaintext), &got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestRefundEventDecoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		plaintext string
		want      businesscircle.RefundEvent
	}{
		{
			name:      "documented sample",
			plaintext: `{"mchid":"1234567890","merchant_name":"万象天地","shop_name":"重庆烤鱼（万象天地店）","shop_number":"50001","openid":"swe23be954ffots3jrvjweslfmde","appid":"wx2c23be954ff1624f","refund_time":"2018-05-23T12:13:50+08:00","pay_amount":100,"refund_amount":100,"transaction_id":"42000001217201407033233368018","refund_id":"1217752501201407033233368999"}`,
			want: businesscircle.RefundEvent{MchID: "1234567890", MerchantName: "万象天地", ShopName: "重庆烤鱼（万象天地店）", ShopNumber: "50001",
				OpenID: "swe23be954ffots3jrvjweslfmde", AppID: "wx2c23be954ff1624f", RefundTime: "2018-05-23T12:13:50+08:00",
				PayAmount: 100, RefundAmount: 100, TransactionID: "42000001217201407033233368018", RefundID: "1217752501201407033233368999"},
		},
		{
			name:      "partial refund, stray spaces, unknown fields",
			plaintext: `{"mchid":"1","merchant_name":" 万象天地\t","shop_name":"s","shop_number":"n","openid":"o","appid":"a","refund_time":" 2018-05-23T12:13:50+08:00","pay_amount":1000,"refund_amount":250,"transaction_id":"t ","refund_id":" r","refund_reason":"x"}`,
			want: businesscircle.RefundEvent{MchID: "1", MerchantName: "万象天地", ShopName: "s", ShopNumber: "n", OpenID: "o", AppID: "a",
				RefundTime: "2018-05-23T12:13:50+08:00", PayAmount: 1000, RefundAmount: 250, TransactionID: "t", RefundID: "r"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got businesscircle.RefundEvent
			if err := json.Unmarshal([]byte(tt.plaintext), &got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestAuthorizationEventDecoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		plaintext string
		want      businesscircle.AuthorizationEvent
	}{
		{
			name:      "sample with a trailing space in auth_type",
			plaintext: `{"openid":"oWmnN4xxxxxxxxxxe92NHIGf1xd8","code":"478515832665","mchid":"1230000109","auth_type":"REGISTERED_MODE "}`,
			want: businesscircle.AuthorizationEvent{OpenID: "oWmnN4xxxxxxxxxxe92NHIGf1xd8", Code: "478515832665", MchID: "1230000109",
				AuthType: businesscircle.AuthTypeRegisteredMode},
		},
		{
			name:      "authorised, unknown fields",
			plaintext: `{"openid":"o1","code":"c","mchid":"m","auth_type":"REGISTERED_AND_AUTHORIZATION_MODE","card_id":"p1","extra":null}`,
			want:      businesscircle.AuthorizationEvent{OpenID: "o1", Code: "c", MchID: "m", AuthType: businesscircle.AuthTypeRegisteredAndAuthorizationMode},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got businesscircle.AuthorizationEvent
			if err := json.Unmarshal([]byte(tt.plaintext), &got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestEventDecodingRejectsWrongTypes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		v    any
		in   string
	}{
		{"amount as a string", &businesscircle.TransactionEvent{}, `{"amount":"200"}`},
		{"refund_amount as a float", &businesscircle.RefundEvent{}, `{"refund_amount":1.5}`},
		{"not an object", &businesscircle.AuthorizationEvent{}, `["openid"]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := json.Unmarshal([]byte(tt.in), tt.v); err == nil {
				t.Fatalf("Unmarshal(%s) succeeded, want an error", tt.in)
			}
		})
	}
}

// The plaintexts of the known-answer vectors (made by independent code)
// decode into the typed events.
func TestEventsFromVectors(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../testdata/vectors/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Notifications []struct {
			Name      string  `json:"name"`
			Plaintext *string `json:"resource_plaintext"`
		} `json:"notifications"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, n := range v.Notifications {
		if n.Plaintext == nil {
			continue
		}
		seen++
		p := []byte(*n.Plaintext)
		switch n.Name {
		case "payment":
			var e businesscircle.TransactionEvent
			if err := json.Unmarshal(p, &e); err != nil || e.TransactionID != "1234567890" || e.Amount != 200 || e.MerchantName != "腾讯广场" {
				t.Errorf("payment vector decoded to %+v, %v", e, err)
			}
		case "refund":
			var e businesscircle.RefundEvent
			if err := json.Unmarshal(p, &e); err != nil || e.RefundID != "1217752501201407033233368999" || e.RefundAmount != 100 {
				t.Errorf("refund vector decoded to %+v, %v", e, err)
			}
		case "authorization":
			var e businesscircle.AuthorizationEvent
			if err := json.Unmarshal(p, &e); err != nil || e.AuthType != businesscircle.AuthTypeRegisteredMode || e.Code != "478515832665" {
				t.Errorf("authorization vector decoded to %+v, %v", e, err)
			}
		default:
			t.Errorf("vector %q has a plaintext this test does not know", n.Name)
		}
	}
	if seen != 3 {
		t.Errorf("%d vectors with plaintexts, want 3", seen)
	}
}

func TestEventHandlersDispatch(t *testing.T) {
	t.Parallel()
	const (
		payment = `{"mchid":"1230000109","merchant_name":"腾讯广场","shop_name":"微信支付","shop_number":"123456","appid":"wxd678efh567hg6787","openid":"oUpF8uMuAJ2pxb1Q9zNjWUHsd","amount":200,"time_end":"2020-05-20T13:29:35+08:00","transaction_id":"1234567890"}`
		refund  = `{"mchid":"1","pay_amount":100,"refund_amount":40,"transaction_id":"1234567890","refund_id":"r1"}`
		auth    = `{"openid":"o1","code":"478515832665","mchid":"1230000109","auth_type":"REGISTERED_MODE "}`
	)
	errHandler := errors.New("handler failed")

	// record returns handlers that append what they got to *calls.
	record := func(calls *[]string, fail bool) businesscircle.EventHandlers {
		result := func() error {
			if fail {
				return errHandler
			}
			return nil
		}
		return businesscircle.EventHandlers{
			Transaction: func(_ context.Context, n *notify.Notification, e *businesscircle.TransactionEvent) error {
				*calls = append(*calls, "transaction "+e.TransactionID+" "+n.ID)
				return result()
			},
			Refund: func(_ context.Context, n *notify.Notification, e *businesscircle.RefundEvent) error {
				*calls = append(*calls, "refund "+e.RefundID)
				return result()
			},
			Authorization: func(_ context.Context, n *notify.Notification, e *businesscircle.AuthorizationEvent) error {
				*calls = append(*calls, "authorization "+string(e.AuthType))
				return result()
			},
			Other: func(_ context.Context, n *notify.Notification) error {
				*calls = append(*calls, "other "+n.EventType+" "+string(n.Plaintext))
				return result()
			},
		}
	}
	tests := []struct {
		name      string
		eventType string
		plaintext string
		edit      func(h *businesscircle.EventHandlers)
		fail      bool
		wantCalls string
		wantErr   error // nil = success
	}{
		{"transaction", businesscircle.EventTypeTransactionSuccess, payment, nil, false, "transaction 1234567890 EV-1", nil},
		{"refund", businesscircle.EventTypeRefundSuccess, refund, nil, false, "refund r1", nil},
		{"authorization, auth_type trimmed", businesscircle.EventTypeAuthActivateCard, auth, nil, false, "authorization REGISTERED_MODE", nil},
		{"event type with stray spaces", " MALL_REFUND.SUCCESS ", refund, nil, false, "refund r1", nil},
		{"unknown type goes to Other, raw", "MALL_PARKING.NEW", `{"x":1}`, nil, false, `other MALL_PARKING.NEW {"x":1}`, nil},
		{"unknown type without Other fails", "MALL_PARKING.NEW", `{"x":1}`,
			func(h *businesscircle.EventHandlers) { h.Other = nil }, false, "", businesscircle.ErrUnhandledEvent},
		{"nil Transaction handler fails", businesscircle.EventTypeTransactionSuccess, payment,
			func(h *businesscircle.EventHandlers) { h.Transaction = nil }, false, "", businesscircle.ErrUnhandledEvent},
		{"nil Refund handler fails, Other is not used", businesscircle.EventTypeRefundSuccess, refund,
			func(h *businesscircle.EventHandlers) { h.Refund = nil }, false, "", businesscircle.ErrUnhandledEvent},
		{"nil Authorization handler fails", businesscircle.EventTypeAuthActivateCard, auth,
			func(h *businesscircle.EventHandlers) { h.Authorization = nil }, false, "", businesscircle.ErrUnhandledEvent},
		{"handler error is returned", businesscircle.EventTypeTransactionSuccess, payment, nil, true, "transaction 1234567890 EV-1", errHandler},
		{"malformed resource fails before the handler", businesscircle.EventTypeTransactionSuccess, `{"amount":"lots"}`, nil, false, "", notify.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls []string
			h := record(&calls, tt.fail)
			if tt.edit != nil {
				tt.edit(&h)
			}
			n := &notify.Notification{ID: "EV-1", EventType: tt.eventType, Plaintext: []byte(tt.plaintext)}
			var fn notify.HandlerFunc = h.Handle // Handle is a notify.HandlerFunc
			err := fn(context.Background(), n)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Handle = %v, want %v", err, tt.wantErr)
			}
			if got := strings.Join(calls, "; "); got != tt.wantCalls {
				t.Errorf("calls = %q, want %q", got, tt.wantCalls)
			}
			if errors.Is(err, businesscircle.ErrUnhandledEvent) && !strings.Contains(err.Error(), "EV-1") {
				t.Errorf("error %q does not name the notification", err)
			}
		})
	}
	t.Run("zero EventHandlers handles nothing", func(t *testing.T) {
		t.Parallel()
		var h businesscircle.EventHandlers
		for _, et := range []string{businesscircle.EventTypeTransactionSuccess, businesscircle.EventTypeRefundSuccess, businesscircle.EventTypeAuthActivateCard, "X.Y"} {
			if err := h.Handle(context.Background(), &notify.Notification{ID: "1", EventType: et, Plaintext: []byte(`{}`)}); !errors.Is(err, businesscircle.ErrUnhandledEvent) {
				t.Errorf("Handle(%s) = %v, want ErrUnhandledEvent", et, err)
			}
		}
		if err := h.Handle(context.Background(), nil); err == nil {
			t.Error("Handle(nil) succeeded")
		}
	})
}

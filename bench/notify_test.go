package bench

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	gopaywechat "github.com/go-pay/gopay/wechat/v3"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	wgnotify "github.com/wechatpay-apiv3/wechatpay-go/core/notify"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/notify"
)

// mallTransaction is the resource of a 商圈 payment notification
// (MALL_TRANSACTION.SUCCESS); every parse cell decodes it into this.
type mallTransaction struct {
	MchID         string `json:"mchid"`
	MerchantName  string `json:"merchant_name"`
	ShopName      string `json:"shop_name"`
	ShopNumber    string `json:"shop_number"`
	AppID         string `json:"appid"`
	OpenID        string `json:"openid"`
	Amount        int    `json:"amount"`
	TimeEnd       string `json:"time_end"`
	TransactionID string `json:"transaction_id"`
}

var mallTransactionJSON = `{"mchid":"1230000109","merchant_name":"腾讯广场","shop_name":"微信支付","shop_number":"123456","appid":"wxd678efh567hg6787","openid":"oUpF8uMuAJ2pxb1Q9zNjWUHsd","amount":200,"time_end":"2020-05-20T13:29:35+08:00","transaction_id":"1234567890"}`

// notification is a payment notification encrypted with the APIv3 key and
// signed now with the WeChat Pay public-key-mode key, as WeChat Pay sends it.
type notification struct {
	header http.Header
	body   []byte
}

func newNotification(f *fixture) (notification, error) {
	k := f.keys
	block, err := aes.NewCipher([]byte(k.APIv3Key))
	if err != nil {
		return notification{}, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return notification{}, err
	}
	const nonce, ad = "fdasflkja484", "mall_transaction"
	ct := gcm.Seal(nil, []byte(nonce), []byte(mallTransactionJSON), []byte(ad))
	body, err := json.Marshal(map[string]any{
		"id": "EV-2018022511223320873", "create_time": "2026-11-23T13:29:35+08:00",
		"resource_type": "encrypt-resource", "event_type": "MALL_TRANSACTION.SUCCESS", "summary": "支付成功",
		"resource": map[string]string{
			"original_type": "mall_transaction", "algorithm": wxpay.AEADAlgorithm,
			"ciphertext": base64.StdEncoding.EncodeToString(ct), "nonce": nonce, "associated_data": ad,
		},
	})
	if err != nil {
		return notification{}, err
	}
	return notification{header: signedAnswer(k, time.Now().Unix(), body), body: body}, nil
}

// parseImpls verify, decrypt and decode one notification into a
// mallTransaction, each as its users would.
var parseImpls = []impl{
	{"wxpay", newWxpayParse},
	{"wechatpay-go", newWechatpayGoParse},
	{"gopay", newGopayParse},
}

// checkTransaction makes sure a cell decoded the resource.
func checkTransaction(tx *mallTransaction) error {
	if tx.TransactionID != "1234567890" || tx.Amount != 200 {
		return errors.New("resource not decoded")
	}
	return nil
}

// newWxpayParse is notify.Parser.Parse (headers, clock, key, signature, then
// AES-GCM) and Notification.DecodeResource.
func newWxpayParse(f *fixture, _ string) (op, error) {
	n, err := newNotification(f)
	if err != nil {
		return nil, err
	}
	ring := wxpay.NewKeyRing()
	if err := ring.AddPublicKey(f.keys.PublicKeyID, &f.keys.WechatPayKey.PublicKey); err != nil {
		return nil, err
	}
	p, err := notify.NewParser(&wxpay.Verifier{Keys: ring}, f.keys.APIv3Key)
	if err != nil {
		return nil, err
	}
	return func(context.Context) error {
		got, err := p.Parse(n.header, n.body)
		if err != nil {
			return err
		}
		var tx mallTransaction
		if err := got.DecodeResource(&tx); err != nil {
			return err
		}
		return checkTransaction(&tx)
	}, nil
}

// newWechatpayGoParse is notify.Handler.ParseNotifyRequest with the
// public-key verifier; it reads the body from the request, as it is made to.
// The cell rewinds one reader instead of making a request per call.
func newWechatpayGoParse(f *fixture, _ string) (op, error) {
	n, err := newNotification(f)
	if err != nil {
		return nil, err
	}
	h, err := wgnotify.NewRSANotifyHandler(f.keys.APIv3Key,
		verifiers.NewSHA256WithRSAPubkeyVerifier(f.keys.PublicKeyID, f.keys.WechatPayKey.PublicKey))
	if err != nil {
		return nil, err
	}
	rd := bytes.NewReader(n.body)
	req := &http.Request{Method: http.MethodPost, Header: n.header}
	return func(ctx context.Context) error {
		rd.Reset(n.body)
		req.Body = io.NopCloser(rd)
		var tx mallTransaction
		if _, err := h.ParseNotifyRequest(ctx, req, &tx); err != nil {
			return err
		}
		return checkTransaction(&tx)
	}, nil
}

// newGopayParse is V3ParseNotify, VerifySignByPKMap and
// DecryptCipherTextToStruct, the steps gopay's documentation gives; gopay
// checks no timestamp.
func newGopayParse(f *fixture, _ string) (op, error) {
	n, err := newNotification(f)
	if err != nil {
		return nil, err
	}
	keys := map[string]*rsa.PublicKey{f.keys.PublicKeyID: &f.keys.WechatPayKey.PublicKey}
	rd := bytes.NewReader(n.body)
	req := &http.Request{Method: http.MethodPost, Header: n.header}
	return func(context.Context) error {
		rd.Reset(n.body)
		req.Body = io.NopCloser(rd)
		nr, err := gopaywechat.V3ParseNotify(req)
		if err != nil {
			return err
		}
		if err := nr.VerifySignByPKMap(keys); err != nil {
			return err
		}
		var tx mallTransaction
		if err := nr.DecryptCipherTextToStruct(f.keys.APIv3Key, &tx); err != nil {
			return err
		}
		return checkTransaction(&tx)
	}, nil
}

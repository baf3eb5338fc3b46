package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/internal/wxauth"
	"github.com/seed2ac2593f/wxpay/internal/wxtest"
	"github.com/seed2ac2593f/wxpay/notify"
)

// fromWeChatPay builds a notification as WeChat Pay sends it: the resource
// sealed with the APIv3 key, the body signed with the WeChat Pay public key.
func fromWeChatPay(keys *wxtest.Keys, id, eventType, plaintext string) (http.Header, []byte) {
	ciphertext, err := wxauth.EncryptAEAD([]byte(keys.APIv3Key), "GiCVO6LB04WZ", "mall_transaction", []byte(plaintext))
	if err != nil {
		panic(err)
	}
	body, _ := json.Marshal(map[string]any{
		"id": id, "create_time": "2026-11-23T13:29:35+08:00", "resource_type": "encrypt-resource",
		"event_type": eventType, "summary": "支付成功",
		"resource": map[string]string{
			"original_type": "mall_transaction", "algorithm": "AEAD_AES_256_GCM", "ciphertext": ciphertext,
			"associated_data": "mall_transaction", "nonce": "GiCVO6LB04WZ",
		},
	})
	header := wxtest.SignResponse(keys.WechatPayKey, keys.PublicKeyID, time.Now().Unix(), "fdasflkja484w", body)
	return header, body
}

func ExampleParser_Parse() {
	keys := wxtest.SharedKeys() // stands for the keys downloaded from the merchant platform
	ring := wxpay.NewKeyRing()
	if err := ring.AddPublicKey(keys.PublicKeyID, &keys.WechatPayKey.PublicKey); err != nil {
		panic(err)
	}
	p, err := notify.NewParser(&wxpay.Verifier{Keys: ring}, keys.APIv3Key)
	if err != nil {
		panic(err)
	}

	header, body := fromWeChatPay(keys, "EV-2018022511223320873", "MALL_TRANSACTION.SUCCESS",
		`{"mchid":"1230000109","appid":"wxd678efh567hg6787","openid":"oUpF8uMuAJ2pxb1Q9zNjWUHsd","amount":200,"time_end":"2020-05-20T13:29:35+08:00","transaction_id":"1234567890"}`)
	n, err := p.Parse(header, body)
	if err != nil {
		fmt.Println(err)
		return
	}
	var paid struct {
		TransactionID string `json:"transaction_id"`
		Amount        int64  `json:"amount"` // fen
	}
	if err := n.DecodeResource(&paid); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n.ID, n.EventType, n.Serial == keys.PublicKeyID)
	fmt.Println(paid.TransactionID, paid.Amount)

	// A body changed on the way fails verification and is never decrypted.
	_, err = p.Parse(header, bytes.Replace(body, []byte("EV-2018"), []byte("EV-2019"), 1))
	fmt.Println(errors.Is(err, wxpay.ErrBadSignature))

	// So does WeChat Pay's signature probe, which must be answered with a failure.
	header.Set("Wechatpay-Signature", wxpay.ProbeSignaturePrefix+header.Get("Wechatpay-Signature"))
	_, err = p.Parse(header, body)
	fmt.Println(errors.Is(err, wxpay.ErrProbeSignature))
	// Output:
	// EV-2018022511223320873 MALL_TRANSACTION.SUCCESS true
	// 1234567890 200
	// true
	// true
}

func ExampleNewHandler() {
	keys := wxtest.SharedKeys()
	p := exampleParser(keys) // as in the Parser.Parse example
	h := notify.NewHandler(p, func(ctx context.Context, n *notify.Notification) error {
		fmt.Println("callback:", n.EventType, n.ID)
		return nil // award the points here, idempotently
	}, notify.WithStore(notify.NewMemoryStore()))

	header, body := fromWeChatPay(keys, "EV-1", "MALL_TRANSACTION.SUCCESS", `{"transaction_id":"1234567890","amount":200}`)
	for _, attempt := range []string{"first delivery", "duplicate"} {
		r := httptest.NewRequest(http.MethodPost, "/wechatpay/notify", bytes.NewReader(body))
		r.Header = header.Clone()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(attempt, w.Code)
	}

	// A notification that does not verify is refused; WeChat Pay will re-send it.
	r := httptest.NewRequest(http.MethodPost, "/wechatpay/notify", bytes.NewReader(body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body)
	// Output:
	// callback: MALL_TRANSACTION.SUCCESS EV-1
	// first delivery 204
	// duplicate 200
	// 401 {"code":"FAIL","message":"wxpay: missing Wechatpay signature header"}
}

func ExampleWithRejectionHook() {
	keys := wxtest.SharedKeys()
	p := exampleParser(keys) // as in the Parser.Parse example
	var signatureFailures, otherRejections int
	h := notify.NewHandler(p, func(ctx context.Context, n *notify.Notification) error {
		return nil // award the points here, idempotently
	}, notify.WithRejectionHook(func(r *http.Request, status int, err error) {
		if _, ok := errors.AsType[*wxpay.VerificationError](err); ok {
			signatureFailures++ // a key out of date, or someone posing as WeChat Pay
			return
		}
		otherRejections++
	}))

	header, body := fromWeChatPay(keys, "EV-1", "MALL_TRANSACTION.SUCCESS", `{"transaction_id":"1234567890","amount":200}`)
	tampered := bytes.Replace(body, []byte("EV-1"), []byte("EV-2"), 1)
	for _, d := range []struct {
		method string
		body   []byte
	}{{http.MethodPost, body}, {http.MethodPost, tampered}, {http.MethodGet, body}} {
		r := httptest.NewRequest(d.method, "/wechatpay/notify", bytes.NewReader(d.body))
		r.Header = header.Clone()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(d.method, w.Code)
	}
	fmt.Println("signature failures:", signatureFailures, "other rejections:", otherRejections)
	// Output:
	// POST 204
	// POST 401
	// GET 405
	// signature failures: 1 other rejections: 1
}

func ExampleNewServer() {
	keys := wxtest.SharedKeys()
	p := exampleParser(keys) // as in the Parser.Parse example
	mux := http.NewServeMux()
	mux.Handle("POST /wechatpay/notify", notify.NewHandler(p, func(ctx context.Context, n *notify.Notification) error {
		return nil // award the points here, idempotently
	}))
	srv := notify.NewServer(":8443", mux)
	fmt.Println(srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
	// In production: log.Fatal(srv.ListenAndServeTLS("cert.pem", "key.pem"))
	// Output: 10s 15s 1m0s 65536
}

// exampleParser is the parser of ExampleParser_Parse: the WeChat Pay public
// key and the APIv3 key.
func exampleParser(keys *wxtest.Keys) *notify.Parser {
	ring := wxpay.NewKeyRing()
	if err := ring.AddPublicKey(keys.PublicKeyID, &keys.WechatPayKey.PublicKey); err != nil {
		panic(err)
	}
	p, err := notify.NewParser(&wxpay.Verifier{Keys: ring}, keys.APIv3Key)
	if err != nil {
		panic(err)
	}
	return p
}

package bench

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// The bench module cannot import wxpay's internal packages, and the peers
// export no request verifier, so these few lines rebuild the signed request
// message and check an Authorization header the way WeChat Pay does
// (签名生成, https://pay.weixin.qq.com/doc/v3/merchant/4012365336).

// requestMessage is METHOD\nREQUEST-TARGET\nTIMESTAMP\nNONCE\nBODY\n.
func requestMessage(method, target string, timestamp int64, nonce string, body []byte) []byte {
	head := method + "\n" + target + "\n" + strconv.FormatInt(timestamp, 10) + "\n" + nonce + "\n"
	return append(append([]byte(head), body...), '\n')
}

// authorization is the five pairs of an Authorization header.
type authorization struct {
	MchID, NonceStr, Signature, Timestamp, SerialNo string
}

// parseAuthorization reads `WECHATPAY2-SHA256-RSA2048 k="v",…` in any order.
func parseAuthorization(header string) (authorization, error) {
	var a authorization
	params, ok := strings.CutPrefix(header, "WECHATPAY2-SHA256-RSA2048 ")
	if !ok {
		return a, fmt.Errorf("authorization scheme in %.40q", header)
	}
	fields := map[string]*string{"mchid": &a.MchID, "nonce_str": &a.NonceStr,
		"signature": &a.Signature, "timestamp": &a.Timestamp, "serial_no": &a.SerialNo}
	for _, pair := range strings.Split(params, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		uq, err := strconv.Unquote(v)
		if f := fields[k]; ok && err == nil && f != nil && *f == "" {
			*f = uq
			continue
		}
		return a, fmt.Errorf("authorization pair %q", pair)
	}
	for k, f := range fields {
		if *f == "" {
			return a, fmt.Errorf("authorization without %s", k)
		}
	}
	return a, nil
}

// verify checks the signature over the request as received.
func (a authorization) verify(pub *rsa.PublicKey, method, target string, body []byte) error {
	ts, err := strconv.ParseInt(a.Timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("authorization timestamp %q", a.Timestamp)
	}
	sig, err := base64.StdEncoding.DecodeString(a.Signature)
	if err != nil {
		return fmt.Errorf("authorization signature is not Base64")
	}
	sum := sha256.Sum256(requestMessage(method, target, ts, a.NonceStr, body))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("request signature does not match: %w", err)
	}
	return nil
}

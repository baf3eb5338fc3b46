package wxpay

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/seed2ac2593f/wxpay/internal/wxauth"
)

// SignatureScheme is the only Authorization scheme and Wechatpay-Signature-Type
// of APIv3 with RSA keys.
const SignatureScheme = wxauth.SignatureScheme

// ProbeSignaturePrefix starts every deliberately invalid signature WeChat Pay
// sends to check that merchants verify (签名探测流量).
const ProbeSignaturePrefix = "WECHATPAY/SIGNTEST/"

// Signer signs requests as a merchant: the five-line message of
// 签名生成 (https://pay.weixin.qq.com/doc/v3/merchant/4012365336) with the
// merchant API private key, SHA256withRSA, Base64.
type Signer struct {
	MchID  string          // the calling merchant: a service provider signs with its own mchid
	Serial string          // serial of the merchant API certificate
	Key    *rsa.PrivateKey // the merchant API private key
}

// Authorization signs one request and returns the Authorization header value.
// target is the request-target exactly as sent: escaped path plus "?" and the
// raw query if there is one; body is the exact bytes sent (nil for GET).
func (s *Signer) Authorization(method, target string, body []byte, timestamp int64, nonce string) (string, error) {
	d := wxauth.NewDigester()
	defer d.Release()
	d.Buf = wxauth.AppendRequestHead(d.Buf, method, target, timestamp, nonce)
	sum := d.Sum(body)
	sig, err := rsa.SignPKCS1v15(nil, s.Key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("wxpay: sign request: %w", err)
	}
	return formatAuthorization(s.MchID, nonce, sig, timestamp, s.Serial), nil
}

// formatAuthorization writes the header in the order of WeChat Pay's own
// example; servers accept any order.
func formatAuthorization(mchid, nonce string, sig []byte, timestamp int64, serial string) string {
	sigLen := base64.StdEncoding.EncodedLen(len(sig))
	var b strings.Builder
	b.Grow(len(SignatureScheme) + len(mchid) + len(nonce) + sigLen + len(serial) + 80)
	b.WriteString(SignatureScheme)
	b.WriteString(` mchid="`)
	b.WriteString(mchid)
	b.WriteString(`",nonce_str="`)
	b.WriteString(nonce)
	b.WriteString(`",signature="`)
	var enc [512]byte
	if sigLen <= len(enc) {
		base64.StdEncoding.Encode(enc[:sigLen], sig)
		b.Write(enc[:sigLen])
	} else {
		b.WriteString(base64.StdEncoding.EncodeToString(sig))
	}
	b.WriteString(`",timestamp="`)
	var ts [20]byte
	b.Write(strconv.AppendInt(ts[:0], timestamp, 10))
	b.WriteString(`",serial_no="`)
	b.WriteString(serial)
	b.WriteString(`"`)
	return b.String()
}

package sandbox

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/seed2ac2593f/wxpay"
)

// signedHeaders signs an answer or a notification as WeChat Pay does
// (spec §3.1, §3.2): SHA256withRSA over "timestamp\nnonce\nbody\n", the
// nonce 32 lower-case hex characters, the key named in Wechatpay-Serial.
func signedHeaders(k *signingKey, timestamp int64, body []byte) http.Header {
	ts := strconv.FormatInt(timestamp, 10)
	nonce := randomString(32, lowerHex)
	msg := make([]byte, 0, len(ts)+len(nonce)+len(body)+3)
	msg = append(msg, ts...)
	msg = append(msg, '\n')
	msg = append(msg, nonce...)
	msg = append(msg, '\n')
	msg = append(msg, body...)
	msg = append(msg, '\n')
	sum := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(nil, k.key, crypto.SHA256, sum[:])
	if err != nil {
		panic("sandbox: sign: " + err.Error()) // keys are checked in New
	}
	return http.Header{
		"Wechatpay-Timestamp":      {ts},
		"Wechatpay-Nonce":          {nonce},
		"Wechatpay-Signature":      {base64.StdEncoding.EncodeToString(sig)},
		"Wechatpay-Serial":         {k.serial},
		"Wechatpay-Signature-Type": {wxpay.SignatureScheme},
	}
}

// probeSignature is a deliberately invalid signature of WeChat Pay's
// signature-probe traffic (签名探测流量, spec §3.5): the prefix and random
// Base64 of a signature's length.
func probeSignature() string {
	b := make([]byte, 256)
	rand.Read(b)
	return wxpay.ProbeSignaturePrefix + base64.StdEncoding.EncodeToString(b)
}

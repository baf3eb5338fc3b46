package wxtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
)

// Names of the headers WeChat Pay puts on signed answers and notifications.
const (
	HeaderTimestamp     = "Wechatpay-Timestamp"
	HeaderNonce         = "Wechatpay-Nonce"
	HeaderSignature     = "Wechatpay-Signature"
	HeaderSerial        = "Wechatpay-Serial"
	HeaderSignatureType = "Wechatpay-Signature-Type"
)

// ProbePrefix starts every signature-probe value (签名探测流量); such a signature never verifies.
const ProbePrefix = "WECHATPAY/SIGNTEST/"

// UnknownSerial is the Wechatpay-Serial sent under FaultUnknownSerial; no key carries it.
const UnknownSerial = "7E57000000000000000000000000000000000000"

// SignResponse returns the five Wechatpay-* headers of an answer or notification signed with key:
// an RSASSA-PKCS1-v1_5 SHA-256 signature over "ts\nnonce\nbody\n", serial naming the key.
func SignResponse(key *rsa.PrivateKey, serial string, ts int64, nonce string, body []byte) http.Header {
	msg := strconv.FormatInt(ts, 10) + "\n" + nonce + "\n" + string(body) + "\n"
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic("wxtest: sign: " + err.Error()) // only for a malformed or tiny key
	}
	h := http.Header{}
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderNonce, nonce)
	h.Set(HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	h.Set(HeaderSerial, serial)
	h.Set(HeaderSignatureType, AuthScheme)
	return h
}

// Fault is a deliberate defect in how the server signs its 2xx answers, to test a client's verifier.
type Fault int

// The faults; each one must make a correct client reject the answer.
const (
	NoFault             Fault = iota // sign correctly
	FaultBadSignature                // sign with a key nobody trusts
	FaultTamperedBody                // sign a different body from the one sent
	FaultUnknownSerial               // name the key UnknownSerial
	FaultStaleTimestamp              // timestamp 600 s in the past, correctly signed for it
	FaultProbe                       // signature value prefixed ProbePrefix
	FaultNoSignature                 // no Wechatpay-* headers at all
)

var faultNames = [...]string{"NoFault", "FaultBadSignature", "FaultTamperedBody", "FaultUnknownSerial",
	"FaultStaleTimestamp", "FaultProbe", "FaultNoSignature"}

// String returns the constant's name.
func (f Fault) String() string {
	if f >= 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// signFaulty signs body as SignResponse does, then applies fault f.
func signFaulty(f Fault, key *rsa.PrivateKey, serial string, ts int64, body []byte) http.Header {
	signed := body
	switch f {
	case FaultNoSignature:
		return http.Header{}
	case FaultBadSignature:
		key = foreignKey()
	case FaultTamperedBody:
		signed = append([]byte(`{"tampered":true}`), body...)
	case FaultUnknownSerial:
		serial = UnknownSerial
	case FaultStaleTimestamp:
		ts -= 600
	}
	h := SignResponse(key, serial, ts, randomString(32, lowerHex), signed)
	if f == FaultProbe {
		h.Set(HeaderSignature, ProbePrefix+h.Get(HeaderSignature))
	}
	return h
}

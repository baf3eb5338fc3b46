package sandbox

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seed2ac2593f/wxpay"
)

// signingFaults are the faults of one signed answer or notification attempt.
type signingFaults struct {
	probe         bool          // a WECHATPAY/SIGNTEST/ probe instead of the signature
	badSignature  bool          // signed by the untrusted key, under the right serial
	unknownSerial bool          // Wechatpay-Serial names a key nobody has
	skew          time.Duration // added to Wechatpay-Timestamp before signing
}

// sign signs an answer or a notification with k at the sandbox clock,
// shifted by f.skew, and applies the other faults of f.
func (s *Sandbox) sign(k *signingKey, body []byte, f signingFaults) http.Header {
	key := k.signer
	if f.badSignature {
		untrusted, err := untrustedKey()
		if err != nil {
			panic("sandbox: untrusted key: " + err.Error()) // made in SetFaults
		}
		key = untrusted
	}
	h := signedHeaders(key, k.serial, s.now().Add(f.skew).Unix(), body)
	if f.unknownSerial {
		h.Set("Wechatpay-Serial", s.keys.unknownSerial(k.serial))
	}
	if f.probe {
		h.Set("Wechatpay-Signature", probeSignature())
	}
	return h
}

// signedHeaders signs an answer or a notification as WeChat Pay does
// (docs/protocol.md §3.1, §3.2): SHA256withRSA over "timestamp\nnonce\nbody\n", the
// nonce 32 lower-case hex characters, the key's serial in Wechatpay-Serial.
func signedHeaders(key crypto.Signer, serial string, timestamp int64, body []byte) http.Header {
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
	sig, err := key.Sign(nil, sum[:], crypto.SHA256)
	if err != nil {
		panic("sandbox: sign: " + err.Error()) // keys are checked in New
	}
	return http.Header{
		"Wechatpay-Timestamp":      {ts},
		"Wechatpay-Nonce":          {nonce},
		"Wechatpay-Signature":      {base64.StdEncoding.EncodeToString(sig)},
		"Wechatpay-Serial":         {serial},
		"Wechatpay-Signature-Type": {wxpay.SignatureScheme},
	}
}

// untrustedKey is the key of bad-signature faults: a 2048-bit RSA key made
// at first use, once per process, whose public half nobody is given.
var untrustedKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
})

// unknownSerial is a serial of the same kind as like (public key id or
// certificate serial) that names none of the sandbox's keys.
func (ks *keySet) unknownSerial(like string) string {
	for {
		var serial string
		if strings.HasPrefix(like, wxpay.PublicKeyIDPrefix) {
			serial = wxpay.PublicKeyIDPrefix + randomString(34, digits)
		} else {
			serial = randomString(40, upperHex)
		}
		if !ks.has(serial) {
			return serial
		}
	}
}

// has reports whether serial names one of the keys, ignoring case as
// serials are compared.
func (ks *keySet) has(serial string) bool {
	if ks.public != nil && strings.EqualFold(ks.public.serial, serial) {
		return true
	}
	for _, k := range ks.platform {
		if strings.EqualFold(k.serial, serial) {
			return true
		}
	}
	return false
}

// probeSignature is a deliberately invalid signature of WeChat Pay's
// signature-probe traffic (签名探测流量, docs/protocol.md §3.5): the prefix and random
// Base64 of a signature's length.
func probeSignature() string {
	b := make([]byte, 256)
	rand.Read(b)
	return wxpay.ProbeSignaturePrefix + base64.StdEncoding.EncodeToString(b)
}

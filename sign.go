package wxpay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
)

// SignatureScheme is the only Authorization scheme and Wechatpay-Signature-Type
// of APIv3 with RSA keys.
const SignatureScheme = "WECHATPAY2-SHA256-RSA2048"

// ProbeSignaturePrefix starts every deliberately invalid signature WeChat Pay
// sends to check that merchants verify (签名探测流量).
const ProbeSignaturePrefix = "WECHATPAY/SIGNTEST/"

// NonceLength is the length of the nonce_str this package sends.
const NonceLength = 32

// Errors for a malformed Authorization header, as a server sees it.
var (
	ErrAuthorizationScheme = errors.New("wxpay: Authorization scheme is not " + SignatureScheme)
	ErrAuthorizationFormat = errors.New("wxpay: malformed Authorization header")
)

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
	d := newDigester()
	defer d.release()
	d.buf = appendRequestMessageHead(d.buf, method, target, timestamp, nonce)
	sum := d.sum(body)
	sig, err := rsa.SignPKCS1v15(nil, s.Key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("wxpay: sign request: %w", err)
	}
	return formatAuthorization(s.MchID, nonce, sig, timestamp, s.Serial), nil
}

// RequestMessage returns the message a request signature covers:
//
//	METHOD\nREQUEST-TARGET\nTIMESTAMP\nNONCE\nBODY\n
//
// It is what WeChat Pay echoes as truncated_sign_message in a SIGN_ERROR.
func RequestMessage(method, target string, timestamp int64, nonce string, body []byte) []byte {
	b := appendRequestMessageHead(nil, method, target, timestamp, nonce)
	b = append(b, body...)
	return append(b, '\n')
}

func appendRequestMessageHead(b []byte, method, target string, timestamp int64, nonce string) []byte {
	b = append(b, method...)
	b = append(b, '\n')
	b = append(b, target...)
	b = append(b, '\n')
	b = strconv.AppendInt(b, timestamp, 10)
	b = append(b, '\n')
	b = append(b, nonce...)
	return append(b, '\n')
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

// Authorization is a parsed Authorization header of an APIv3 request.
type Authorization struct {
	MchID     string
	NonceStr  string
	Signature string // Base64, as sent
	Timestamp string // as sent; see Time
	SerialNo  string
}

// ParseAuthorization parses "WECHATPAY2-SHA256-RSA2048 k="v",…" with the five
// pairs in any order, optionally separated by spaces after the commas.
// Unknown keys, duplicates, missing pairs and unquoted values are errors.
func ParseAuthorization(header string) (Authorization, error) {
	var a Authorization
	scheme, params, _ := strings.Cut(header, " ")
	if scheme != SignatureScheme {
		return a, ErrAuthorizationScheme
	}
	seen := 0
	for rest := strings.TrimLeft(params, " "); rest != ""; {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 || len(rest) < eq+2 || rest[eq+1] != '"' {
			return a, fmt.Errorf("%w: want key=\"value\" pairs", ErrAuthorizationFormat)
		}
		key := rest[:eq]
		end := strings.IndexByte(rest[eq+2:], '"')
		if end < 0 {
			return a, fmt.Errorf("%w: unterminated value of %s", ErrAuthorizationFormat, key)
		}
		val := rest[eq+2 : eq+2+end]
		rest = rest[eq+2+end+1:]
		if rest != "" {
			if rest[0] != ',' {
				return a, fmt.Errorf("%w: want ',' after %s", ErrAuthorizationFormat, key)
			}
			rest = strings.TrimLeft(rest[1:], " ")
			if rest == "" {
				return a, fmt.Errorf("%w: trailing ','", ErrAuthorizationFormat)
			}
		}
		var field *string
		var bit int
		switch key {
		case "mchid":
			field, bit = &a.MchID, 1
		case "nonce_str":
			field, bit = &a.NonceStr, 2
		case "signature":
			field, bit = &a.Signature, 4
		case "timestamp":
			field, bit = &a.Timestamp, 8
		case "serial_no":
			field, bit = &a.SerialNo, 16
		default:
			return a, fmt.Errorf("%w: unknown key %q", ErrAuthorizationFormat, key)
		}
		if seen&bit != 0 {
			return a, fmt.Errorf("%w: %s given twice", ErrAuthorizationFormat, key)
		}
		if val == "" {
			return a, fmt.Errorf("%w: %s is empty", ErrAuthorizationFormat, key)
		}
		seen |= bit
		*field = val
	}
	for _, m := range []struct {
		bit  int
		name string
	}{{1, "mchid"}, {2, "nonce_str"}, {4, "signature"}, {8, "timestamp"}, {16, "serial_no"}} {
		if seen&m.bit == 0 {
			return a, fmt.Errorf("%w: missing %s", ErrAuthorizationFormat, m.name)
		}
	}
	if _, err := parseTimestamp(a.Timestamp); err != nil {
		return a, fmt.Errorf("%w: timestamp %q is not Unix seconds", ErrAuthorizationFormat, a.Timestamp)
	}
	return a, nil
}

// Unix returns the timestamp as Unix seconds.
func (a Authorization) Unix() int64 {
	ts, _ := parseTimestamp(a.Timestamp)
	return ts
}

// Verify checks the signature against the request as received: its method,
// raw request-target and raw body bytes. It returns an error wrapping
// ErrBadSignature when they do not match.
func (a Authorization) Verify(pub *rsa.PublicKey, method, target string, body []byte) error {
	var sig rawSignature
	if !decodeSignature(a.Signature, &sig) {
		return &VerificationError{Err: ErrBadSignature, Reason: "signature is not Base64", Serial: a.SerialNo}
	}
	d := newDigester()
	defer d.release()
	d.buf = appendRequestMessageHead(d.buf, method, target, a.Unix(), a.NonceStr)
	sum := d.sum(body)
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig.bytes()) != nil {
		return &VerificationError{Err: ErrBadSignature, Reason: "request signature does not match", Serial: a.SerialNo}
	}
	return nil
}

// parseTimestamp accepts decimal Unix seconds only: no sign, no spaces.
func parseTimestamp(s string) (int64, error) {
	if s == "" || len(s) > 18 {
		return 0, errors.New("bad length")
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errors.New("not a digit")
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// newNonce returns NonceLength characters of [0-9A-Za-z] from crypto/rand.
func newNonce() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var out [NonceLength]byte
	var rnd [2 * NonceLength]byte
	n := 0
	for n < NonceLength {
		rand.Read(rnd[:]) // never returns an error (crypto/rand, Go ≥ 1.24)
		for _, r := range rnd {
			// 62*4 = 248: reject the top 8 values so every character is equally likely.
			if r < 248 && n < NonceLength {
				out[n] = alphabet[r%62]
				n++
			}
		}
	}
	return string(out[:])
}

// rawSignature holds a decoded signature without a heap allocation.
type rawSignature struct {
	buf [512]byte
	n   int
}

func (s *rawSignature) bytes() []byte { return s.buf[:s.n] }

// decodeSignature decodes standard Base64 into s; the copy through a stack
// buffer spares the []byte(string) allocation on every verification.
func decodeSignature(b64 string, s *rawSignature) bool {
	var src [684]byte // Base64 of 512 bytes
	if len(b64) > len(src) {
		return false
	}
	n := copy(src[:], b64)
	m, err := base64.StdEncoding.Decode(s.buf[:], src[:n])
	if err != nil {
		return false
	}
	s.n = m
	return true
}

// digester hashes a message head, a body and the final newline without
// building the whole message; pooled because every call signs and verifies.
type digester struct {
	h   hash.Hash
	buf []byte
}

var digesters = sync.Pool{New: func() any {
	return &digester{h: sha256.New(), buf: make([]byte, 0, 256)}
}}

func newDigester() *digester {
	d := digesters.Get().(*digester)
	d.h.Reset()
	d.buf = d.buf[:0]
	return d
}

func (d *digester) release() {
	if cap(d.buf) <= 4096 {
		digesters.Put(d)
	}
}

// sum returns SHA-256(buf ‖ body ‖ "\n").
func (d *digester) sum(body []byte) [sha256.Size]byte {
	d.h.Write(d.buf)
	d.h.Write(body)
	d.buf = append(d.buf[:0], '\n')
	d.h.Write(d.buf)
	var out [sha256.Size]byte
	d.h.Sum(out[:0])
	return out
}

package wxauth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"strconv"
	"sync"
)

// SignatureScheme is the only Authorization scheme and Wechatpay-Signature-Type
// of APIv3 with RSA keys.
const SignatureScheme = "WECHATPAY2-SHA256-RSA2048"

// NonceLength is the length of the nonce_str the client sends.
const NonceLength = 32

// MinKeyBits is the smallest RSA modulus accepted. WeChat Pay issues 2048-bit
// keys; anything shorter is refused rather than silently trusted.
const MinKeyBits = 2048

// RequestMessage returns the message a request signature covers:
//
//	METHOD\nREQUEST-TARGET\nTIMESTAMP\nNONCE\nBODY\n
//
// It is what WeChat Pay echoes as truncated_sign_message in a SIGN_ERROR.
func RequestMessage(method, target string, timestamp int64, nonce string, body []byte) []byte {
	b := AppendRequestHead(nil, method, target, timestamp, nonce)
	b = append(b, body...)
	return append(b, '\n')
}

// AppendRequestHead appends the request message up to, not including, the body.
func AppendRequestHead(b []byte, method, target string, timestamp int64, nonce string) []byte {
	b = append(b, method...)
	b = append(b, '\n')
	b = append(b, target...)
	b = append(b, '\n')
	b = strconv.AppendInt(b, timestamp, 10)
	b = append(b, '\n')
	b = append(b, nonce...)
	return append(b, '\n')
}

// ParseTimestamp accepts decimal Unix seconds only: no sign, no spaces, at
// most 18 digits so the value cannot overflow.
func ParseTimestamp(s string) (int64, error) {
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

// NewNonce returns NonceLength characters of [0-9A-Za-z] from crypto/rand.
func NewNonce() string {
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

// RawSignature holds a decoded signature without a heap allocation.
type RawSignature struct {
	buf [512]byte
	n   int
}

// Bytes returns the decoded signature.
func (s *RawSignature) Bytes() []byte { return s.buf[:s.n] }

// DecodeSignature decodes standard Base64 into s; the copy through a stack
// buffer spares the []byte(string) allocation on every verification.
func DecodeSignature(b64 string, s *RawSignature) bool {
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

// Digester hashes a message head, a body and the final newline without
// building the whole message; pooled because every call signs and verifies.
type Digester struct {
	h   hash.Hash
	Buf []byte // the message head; Sum appends the body and "\n"
}

var digesters = sync.Pool{New: func() any {
	return &Digester{h: sha256.New(), Buf: make([]byte, 0, 256)}
}}

// NewDigester takes a reset Digester from the pool; give it back with Release.
func NewDigester() *Digester {
	d := digesters.Get().(*Digester)
	d.h.Reset()
	d.Buf = d.Buf[:0]
	return d
}

// Release returns d to the pool unless its buffer grew large.
func (d *Digester) Release() {
	if cap(d.Buf) <= 4096 {
		digesters.Put(d)
	}
}

// Sum returns SHA-256(Buf ‖ body ‖ "\n").
func (d *Digester) Sum(body []byte) [sha256.Size]byte {
	d.h.Write(d.Buf)
	d.h.Write(body)
	d.Buf = append(d.Buf[:0], '\n')
	d.h.Write(d.Buf)
	var out [sha256.Size]byte
	d.h.Sum(out[:0])
	return out
}

package wxauth

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
)

// Errors for a request's Authorization header, as a server sees it.
var (
	ErrAuthorizationScheme = errors.New("wxpay: Authorization scheme is not " + SignatureScheme)
	ErrAuthorizationFormat = errors.New("wxpay: malformed Authorization header")
	ErrRequestSignature    = errors.New("wxpay: request signature does not match")
)

// Authorization is a parsed Authorization header of an APIv3 request.
type Authorization struct {
	MchID     string
	NonceStr  string
	Signature string // Base64, as sent
	Timestamp string // as sent; see Unix
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
	if _, err := ParseTimestamp(a.Timestamp); err != nil {
		return a, fmt.Errorf("%w: timestamp %q is not Unix seconds", ErrAuthorizationFormat, a.Timestamp)
	}
	return a, nil
}

// Unix returns the timestamp as Unix seconds.
func (a Authorization) Unix() int64 {
	ts, _ := ParseTimestamp(a.Timestamp)
	return ts
}

// Verify checks the signature against the request as received: its method,
// raw request-target and raw body bytes. It returns an error wrapping
// ErrRequestSignature when they do not match.
func (a Authorization) Verify(pub *rsa.PublicKey, method, target string, body []byte) error {
	var sig RawSignature
	if !DecodeSignature(a.Signature, &sig) {
		return fmt.Errorf("%w: signature is not Base64 (serial_no %s)", ErrRequestSignature, a.SerialNo)
	}
	d := NewDigester()
	defer d.Release()
	d.Buf = AppendRequestHead(d.Buf, method, target, a.Unix(), a.NonceStr)
	sum := d.Sum(body)
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig.Bytes()) != nil {
		return fmt.Errorf("%w (serial_no %s)", ErrRequestSignature, a.SerialNo)
	}
	return nil
}

package wxtest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AuthScheme is the only Authorization scheme the fake accepts, and the value of the
// Wechatpay-Signature-Type header it sends.
const AuthScheme = "WECHATPAY2-SHA256-RSA2048"

// MaxClockSkew is how far a request timestamp may be from the server clock (5 minutes).
const MaxClockSkew = 300 * time.Second

// Errors reported in Request.AuthErr and by VerifyAuthorization; each names the check that failed.
var (
	ErrNoAuthorization = errors.New("wxtest: missing Authorization header")
	ErrAuthScheme      = errors.New("wxtest: Authorization scheme is not " + AuthScheme)
	ErrAuthFormat      = errors.New("wxtest: malformed Authorization header")
	ErrClockSkew       = errors.New("wxtest: Authorization timestamp too far from now")
	ErrMerchantSerial  = errors.New("wxtest: serial_no is not the merchant certificate serial")
	ErrMchID           = errors.New("wxtest: mchid is not the merchant's")
	ErrSignature       = errors.New("wxtest: signature does not verify")
)

// authorization is a parsed Authorization header.
type authorization struct {
	mchid, nonce, signature, serial string
	timestamp                       int64
}

// VerifyAuthorization checks an Authorization header against the request it came with: format,
// clock skew against now, and the RSASSA-PKCS1-v1_5 SHA-256 signature over
// "METHOD\nREQUEST-TARGET\nTIMESTAMP\nNONCE\nBODY\n" with pub. requestTarget must be the target as
// sent on the wire (path plus raw query). It returns the header's mchid and serial_no whenever the
// header parses, even if a later check fails.
func VerifyAuthorization(pub *rsa.PublicKey, method, requestTarget string, header string, body []byte, now time.Time) (mchid, serial string, err error) {
	a, err := parseAuthorization(header)
	if err != nil {
		return "", "", err
	}
	if err := a.checkClock(now); err != nil {
		return a.mchid, a.serial, err
	}
	return a.mchid, a.serial, a.verify(pub, requestMessage(method, requestTarget, a.timestamp, a.nonce, body))
}

// parseAuthorization reads `SCHEME k="v",k="v",...` with exactly the five known keys in any order;
// one optional space after each comma is tolerated.
func parseAuthorization(header string) (authorization, error) {
	var a authorization
	if header == "" {
		return a, ErrNoAuthorization
	}
	scheme, rest, _ := strings.Cut(header, " ")
	if scheme != AuthScheme {
		return a, fmt.Errorf("%w: %q", ErrAuthScheme, scheme)
	}
	seen := map[string]string{}
	for rest != "" {
		key, after, ok := strings.Cut(rest, `="`)
		if !ok {
			return a, fmt.Errorf("%w: expected key=\"value\" at %q", ErrAuthFormat, rest)
		}
		value, after, ok := strings.Cut(after, `"`)
		if !ok {
			return a, fmt.Errorf("%w: unterminated value of %q", ErrAuthFormat, key)
		}
		switch key {
		case "mchid", "nonce_str", "signature", "timestamp", "serial_no":
		default:
			return a, fmt.Errorf("%w: unknown key %q", ErrAuthFormat, key)
		}
		if _, dup := seen[key]; dup {
			return a, fmt.Errorf("%w: duplicate key %q", ErrAuthFormat, key)
		}
		if value == "" {
			return a, fmt.Errorf("%w: empty %s", ErrAuthFormat, key)
		}
		seen[key] = value
		if after == "" {
			break
		}
		if after, ok = strings.CutPrefix(after, ","); !ok || after == "" {
			return a, fmt.Errorf("%w: expected a comma and another pair after %s", ErrAuthFormat, key)
		}
		rest = strings.TrimPrefix(after, " ")
	}
	for _, key := range []string{"mchid", "nonce_str", "signature", "timestamp", "serial_no"} {
		if seen[key] == "" {
			return a, fmt.Errorf("%w: missing %s", ErrAuthFormat, key)
		}
	}
	ts := seen["timestamp"]
	if strings.Trim(ts, "0123456789") != "" {
		return a, fmt.Errorf("%w: timestamp %q is not decimal seconds", ErrAuthFormat, ts)
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return a, fmt.Errorf("%w: timestamp %q: %v", ErrAuthFormat, ts, err)
	}
	return authorization{
		mchid: seen["mchid"], nonce: seen["nonce_str"], signature: seen["signature"],
		serial: seen["serial_no"], timestamp: t,
	}, nil
}

func (a authorization) checkClock(now time.Time) error {
	if skew := now.Unix() - a.timestamp; skew > int64(MaxClockSkew/time.Second) || -skew > int64(MaxClockSkew/time.Second) {
		return fmt.Errorf("%w: timestamp %d, now %d", ErrClockSkew, a.timestamp, now.Unix())
	}
	return nil
}

func (a authorization) verify(pub *rsa.PublicKey, message string) error {
	sig, err := base64.StdEncoding.DecodeString(a.signature)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64: %v", ErrSignature, err)
	}
	sum := sha256.Sum256([]byte(message))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return nil
}

// requestMessage builds the five-line message a request signature covers; every line, the last
// included, ends in "\n".
func requestMessage(method, requestTarget string, timestamp int64, nonce string, body []byte) string {
	return method + "\n" + requestTarget + "\n" + strconv.FormatInt(timestamp, 10) + "\n" + nonce + "\n" + string(body) + "\n"
}

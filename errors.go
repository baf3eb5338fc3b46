package wxpay

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors for the checks applied to every WeChat Pay answer and
// notification. Each failure wraps exactly one of them, so callers can tell
// which check failed with errors.Is.
var (
	// ErrMissingHeader: one of Wechatpay-Timestamp, -Nonce, -Signature or
	// -Serial is absent or empty.
	ErrMissingHeader = errors.New("wxpay: missing Wechatpay signature header")
	// ErrClockSkew: Wechatpay-Timestamp is malformed or too far from our clock.
	ErrClockSkew = errors.New("wxpay: Wechatpay-Timestamp outside the allowed clock skew")
	// ErrUnknownSerial: no key in the key ring has the Wechatpay-Serial given,
	// or the platform certificate with that serial has expired.
	ErrUnknownSerial = errors.New("wxpay: unknown Wechatpay-Serial")
	// ErrBadSignature: the signature does not verify with the key named by
	// Wechatpay-Serial, or Wechatpay-Signature-Type names another algorithm.
	ErrBadSignature = errors.New("wxpay: bad Wechatpay-Signature")
	// ErrProbeSignature: the signature carries the WECHATPAY/SIGNTEST/ prefix
	// WeChat Pay uses to probe that merchants verify. It never verifies; a
	// notification carrying it must be answered with a failure so it is re-sent.
	ErrProbeSignature = errors.New("wxpay: WECHATPAY/SIGNTEST/ probe signature")
	// ErrDecrypt: an AEAD_AES_256_GCM resource or an RSA-OAEP field could not
	// be decrypted (wrong key, tampered ciphertext or associated data).
	ErrDecrypt = errors.New("wxpay: decryption failed")
	// ErrResponseTooLarge: an answer's body is larger than the configured limit.
	ErrResponseTooLarge = errors.New("wxpay: response body too large")
)

// VerificationError reports a failed check of a signed answer or notification.
// It wraps one of the sentinel errors above. For an API answer the request has
// reached WeChat Pay, so its outcome is unknown: reconcile before repeating it.
type VerificationError struct {
	Err        error  // the sentinel: ErrMissingHeader, ErrClockSkew, …
	Reason     string // what exactly was wrong, without secrets
	Serial     string // Wechatpay-Serial as received, if any
	StatusCode int    // HTTP status of the answer, 0 for notifications
	RequestID  string // Request-ID of the answer, if any
}

// Error says which check failed and why, with the answer's status and
// Request-ID when there is one.
func (e *VerificationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	switch {
	case e.StatusCode != 0 && e.RequestID != "":
		fmt.Fprintf(&b, " (HTTP %d, Request-ID %s)", e.StatusCode, e.RequestID)
	case e.StatusCode != 0:
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	case e.RequestID != "":
		fmt.Fprintf(&b, " (Request-ID %s)", e.RequestID)
	}
	return b.String()
}

// Unwrap returns the sentinel, for errors.Is.
func (e *VerificationError) Unwrap() error { return e.Err }

// APIError is WeChat Pay's answer to a request it did not accept: any status
// outside 2xx. Code and Message come from the JSON error body when there is
// one; Detail keeps the body's "detail" object as raw JSON because its shape
// varies from one error to the next.
type APIError struct {
	StatusCode int
	Code       string          // e.g. PARAM_ERROR, SIGN_ERROR, FREQUENCY_LIMITED
	Message    string          // WeChat Pay's human-readable message
	Detail     json.RawMessage // the "detail" member, if any
	RequestID  string          // the answer's Request-ID header
	Body       []byte          // the raw body as received (bounded)
}

// Error is one line: status, code, message and Request-ID.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wxpay: HTTP %d", e.StatusCode)
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	msg := e.Message
	if msg == "" && e.Code == "" && len(e.Body) > 0 {
		msg = string(e.Body)
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
	}
	if msg != "" {
		b.WriteString(": ")
		b.WriteString(strings.Join(strings.Fields(msg), " "))
	}
	if e.RequestID != "" {
		b.WriteString(" (Request-ID ")
		b.WriteString(e.RequestID)
		b.WriteString(")")
	}
	return b.String()
}

// newAPIError builds an APIError from a non-2xx answer. A body that is not
// WeChat Pay's JSON error shape is kept in Body and left out of Code/Message.
func newAPIError(status int, requestID string, body []byte) *APIError {
	e := &APIError{StatusCode: status, RequestID: requestID, Body: body}
	var shape struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if len(body) > 0 && json.Unmarshal(body, &shape) == nil {
		e.Code, e.Message, e.Detail = shape.Code, shape.Message, shape.Detail
	}
	return e
}

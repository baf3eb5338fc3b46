package wxpay

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/seed2ac2593f/wxpay/internal/clip"
)

// Sentinel errors for the checks applied to every WeChat Pay answer and
// notification. Each failure wraps exactly one of them, so callers can tell
// which check failed with errors.Is.
var (
	// ErrMissingHeader: one of Wechatpay-Timestamp, -Nonce, -Signature or
	// -Serial is absent or empty.
	ErrMissingHeader = errors.New("wxpay: missing Wechatpay signature header")
	// ErrMalformedTimestamp: Wechatpay-Timestamp is not decimal Unix seconds.
	// It is checked before the clock, so ErrClockSkew always means a well-formed
	// time too far from ours.
	ErrMalformedTimestamp = errors.New("wxpay: Wechatpay-Timestamp is not Unix seconds")
	// ErrClockSkew: Wechatpay-Timestamp is too far from our clock.
	ErrClockSkew = errors.New("wxpay: Wechatpay-Timestamp outside the allowed clock skew")
	// ErrSignatureType: Wechatpay-Signature-Type is present but is not
	// WECHATPAY2-SHA256-RSA2048 (an empty value included). The header may be
	// absent. Answers and notifications follow the same rule.
	ErrSignatureType = errors.New("wxpay: unsupported Wechatpay-Signature-Type")
	// ErrUnknownSerial: no key in the key ring has the Wechatpay-Serial given,
	// or the platform certificate with that serial has expired.
	ErrUnknownSerial = errors.New("wxpay: unknown Wechatpay-Serial")
	// ErrBadSignature: the signature does not verify with the key named by
	// Wechatpay-Serial, or is not Base64.
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
	// ErrNotProcessed: WeChat Pay answered a signed 202 Accepted, "accepted,
	// not processed yet: repeat the request with the same parameters", to
	// every attempt the retry policy allowed. Repeat the same request later.
	ErrNotProcessed = errors.New("wxpay: WeChat Pay accepted the request but has not processed it (202)")
	// ErrInvalidRequest: the request could not be built (a header name or
	// value net/http would refuse, a path parameter, a body that is not JSON)
	// and nothing was sent. It is never retried; the wxpay command maps it to
	// a usage error.
	ErrInvalidRequest = errors.New("wxpay: invalid request, not sent")
	// ErrUnexpectedStatus: a typed call got a verified 2xx its endpoint does
	// not document (a 200 with a body where 204 is the only success, say).
	// The request reached WeChat Pay and may have taken effect.
	ErrUnexpectedStatus = errors.New("wxpay: unexpected success status")
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
		fmt.Fprintf(&b, " (HTTP %d, Request-ID %s)", e.StatusCode, clip.Text(e.RequestID, 128))
	case e.StatusCode != 0:
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	case e.RequestID != "":
		fmt.Fprintf(&b, " (Request-ID %s)", clip.Text(e.RequestID, 128))
	}
	if e.StatusCode >= 200 && e.StatusCode <= 299 {
		b.WriteString("; the request reached WeChat Pay and may have taken effect: check its outcome before repeating it")
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

// Error is one line of bounded, printable text: status, code, message, the
// detail's field, location and issue when WeChat Pay gave them, and
// the Request-ID. WeChat Pay's message can mislead on its own (a bad
// points_update_time is reported as a problem with the ids), so the detail
// is shown too. Everything the server sent stays whole in the fields and Body.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wxpay: HTTP %d", e.StatusCode)
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(clip.Text(e.Code, maxCodeBytes))
	}
	msg := e.Message
	if msg == "" && e.Code == "" && len(e.Body) > 0 {
		msg = string(e.Body)
	}
	if msg != "" {
		b.WriteString(": ")
		b.WriteString(clip.Text(strings.TrimSpace(msg), maxMessageBytes))
	}
	if d := e.detail(); d != "" {
		b.WriteString(" [")
		b.WriteString(d)
		b.WriteString("]")
	}
	if e.RequestID != "" {
		b.WriteString(" (Request-ID ")
		b.WriteString(clip.Text(e.RequestID, maxCodeBytes))
		b.WriteString(")")
	}
	return b.String()
}

// Bounds of the server's text in APIError.Error.
const (
	maxCodeBytes    = 64
	maxMessageBytes = 256
	maxDetailBytes  = 128
)

// detail renders the documented members of WeChat Pay's detail object
// (docs/protocol.md §4.2): field, location and issue, leaving out the value,
// which is the caller's own (possibly personal) data; for the
// SIGN_ERROR shape, whose issue sits one level down, that inner issue. It is
// empty when detail has none of them.
func (e *APIError) detail() string {
	if len(e.Detail) == 0 {
		return ""
	}
	var d struct {
		Field    string `json:"field"`
		Location string `json:"location"`
		Issue    string `json:"issue"`
		Detail   struct {
			Issue string `json:"issue"`
		} `json:"detail"`
	}
	if json.Unmarshal(e.Detail, &d) != nil {
		return ""
	}
	var parts []string
	add := func(name, v string) {
		if v != "" {
			parts = append(parts, name+" "+clip.Text(v, maxDetailBytes))
		}
	}
	add("field", d.Field)
	add("location", d.Location)
	if d.Issue == "" {
		d.Issue = d.Detail.Issue
	}
	add("issue", d.Issue)
	return strings.Join(parts, ", ")
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

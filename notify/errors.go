package notify

import "errors"

// Sentinel errors of the checks this package adds to the root package's.
// Verification failures are *wxpay.VerificationError (wrapping
// wxpay.ErrMissingHeader, wxpay.ErrSignatureType, wxpay.ErrProbeSignature,
// wxpay.ErrMalformedTimestamp, wxpay.ErrClockSkew, wxpay.ErrUnknownSerial or
// wxpay.ErrBadSignature) and decryption failures
// wrap wxpay.ErrDecrypt; test for all of them with errors.Is.
var (
	// ErrBodyTooLarge: the notification body is larger than the parser's
	// MaxBodyBytes.
	ErrBodyTooLarge = errors.New("notify: body too large")
	// ErrMalformed: the signed body is not a notification envelope (not JSON,
	// or id, event_type or resource missing), or the decrypted resource is
	// not JSON.
	ErrMalformed = errors.New("notify: malformed notification")
	// ErrUnsupportedAlgorithm: resource.algorithm is not AEAD_AES_256_GCM.
	// (A Wechatpay-Signature-Type other than WECHATPAY2-SHA256-RSA2048 is
	// wxpay.ErrSignatureType, as for API answers.)
	ErrUnsupportedAlgorithm = errors.New("notify: unsupported algorithm")
	// ErrWrongMethod: the request is not a POST, the only method WeChat Pay
	// sends notifications with.
	ErrWrongMethod = errors.New("notify: method not allowed")
)

// errConfig marks a parser that cannot work at all (no verifier, an APIv3
// key of the wrong length): the fault is ours, not the sender's.
var errConfig = errors.New("notify: parser misconfigured")

// RefusedError is what a HandlerFunc returns for a notification it will
// never be able to process however often it is delivered: a value out of
// range, a field too long to store. The handler answers Status (a 4xx;
// anything else is answered 400) with Err's message in the FAIL answer,
// instead of the 500 of a failure that may pass, so the sender sees which
// check refused it; keep personal data out of that message. WeChat Pay
// re-sends any non-2xx, so keep a record of the refusal too.
type RefusedError struct {
	Status int
	Err    error
}

func (e *RefusedError) Error() string { return e.Err.Error() }

func (e *RefusedError) Unwrap() error { return e.Err }

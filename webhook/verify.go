package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors, one per check. Every error of Verify and VerifyAt wraps
// exactly one of them (errors.Is), and its text says what was wrong without
// repeating what was received.
var (
	// ErrMissingHeader: Mallpoints-Id, -Timestamp or -Signature is absent or
	// empty. The error names the header.
	ErrMissingHeader = errors.New("webhook: missing header")
	// ErrMalformedHeader: a header is not in its form: Mallpoints-Id or
	// Mallpoints-Timestamp given twice, an id that is not visible ASCII or
	// contains '.', a timestamp that is not decimal Unix seconds, a
	// signature item that is not scheme=value, or a v1 value that is not 64
	// lower-case hex digits. The error names the header.
	ErrMalformedHeader = errors.New("webhook: malformed header")
	// ErrOutsideTolerance: Mallpoints-Timestamp is further from now than the
	// tolerance, either way: a replayed call, or a clock that is off. It is
	// checked before the signature.
	ErrOutsideTolerance = errors.New("webhook: Mallpoints-Timestamp outside the tolerance")
	// ErrBadSignature: no v1 value of Mallpoints-Signature matches any of
	// the secrets (or there is no v1 value): the wrong secret, or an id,
	// timestamp or body that is not what was signed.
	ErrBadSignature = errors.New("webhook: no Mallpoints-Signature v1 value matches a secret")
	// ErrNoSecret: the verifier was given no secret, or an empty one. It is
	// the receiver's configuration at fault, not the call.
	ErrNoSecret = errors.New("webhook: no secret to verify with")
)

// Verify checks h and body against secrets at time.Now with
// DefaultTolerance. body must be the exact bytes received, read before any
// decoding. It returns nil if a v1 value of Mallpoints-Signature matches one
// of the secrets; otherwise an error wrapping one of the sentinel errors.
func Verify(h http.Header, body []byte, secrets ...[]byte) error {
	return VerifyAt(h, body, time.Now(), DefaultTolerance, secrets...)
}

// VerifyAt is Verify at now with a tolerance: a call whose timestamp is more
// than tolerance before or after now is refused (a negative tolerance
// refuses every call). The checks, in order: the secrets
// (ErrNoSecret), the three headers' presence and form (ErrMissingHeader,
// ErrMalformedHeader), the timestamp (ErrOutsideTolerance), the signature
// (ErrBadSignature), compared in constant time.
func VerifyAt(h http.Header, body []byte, now time.Time, tolerance time.Duration, secrets ...[]byte) error {
	if len(secrets) == 0 {
		return ErrNoSecret
	}
	for _, s := range secrets {
		if len(s) == 0 {
			return fmt.Errorf("%w: a secret is empty", ErrNoSecret)
		}
	}
	id, err := single(h, HeaderID)
	if err != nil {
		return err
	}
	if !validID(id) {
		return fmt.Errorf("%w: %s is not visible ASCII without '.'", ErrMalformedHeader, HeaderID)
	}
	ts, err := single(h, HeaderTimestamp)
	if err != nil {
		return err
	}
	sent, ok := parseUnix(ts)
	if !ok {
		return fmt.Errorf("%w: %s is not decimal Unix seconds", ErrMalformedHeader, HeaderTimestamp)
	}
	sigs, err := v1Values(h.Values(HeaderSignature))
	if err != nil {
		return err
	}
	switch d := now.Sub(sent); {
	case d > tolerance:
		return fmt.Errorf("%w: sent %s ago, more than %s", ErrOutsideTolerance, d, tolerance)
	case d < -tolerance:
		return fmt.Errorf("%w: sent %s ahead of now, more than %s", ErrOutsideTolerance, sent.Sub(now), tolerance)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: %s has no v1 value", ErrBadSignature, HeaderSignature)
	}
	for _, secret := range secrets {
		want := signature(hmac.New(sha256.New, secret), ts, id, body)
		for _, sig := range sigs {
			if hmac.Equal(want, sig) {
				return nil
			}
		}
	}
	return ErrBadSignature
}

// single returns the one non-empty value of header name in h.
func single(h http.Header, name string) (string, error) {
	switch v := h.Values(name); {
	case len(v) == 0 || len(v) == 1 && v[0] == "":
		return "", fmt.Errorf("%w %s", ErrMissingHeader, name)
	case len(v) > 1:
		return "", fmt.Errorf("%w: %s given %d times", ErrMalformedHeader, name, len(v))
	default:
		return v[0], nil
	}
}

// validID reports whether id is non-empty visible ASCII without '.': the
// dot is the separator of the signed string, so an id without one leaves a
// single way to split it into timestamp, id and body.
func validID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < '!' || c > '~' || c == '.' {
			return false
		}
	}
	return true
}

// parseUnix parses decimal Unix seconds: ASCII digits only, no sign.
func parseUnix(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// v1Values returns the decoded v1 values of the Mallpoints-Signature field
// lines: comma-separated scheme=value items, with spaces or tabs around
// them; empty items and other schemes are skipped.
func v1Values(lines []string) ([][]byte, error) {
	var sigs [][]byte
	seen := false
	for _, line := range lines {
		for item := range strings.SplitSeq(line, ",") {
			item = strings.Trim(item, " \t")
			if item == "" {
				continue
			}
			seen = true
			scheme, value, ok := strings.Cut(item, "=")
			if !ok || scheme == "" {
				return nil, fmt.Errorf("%w: %s has an item that is not scheme=value", ErrMalformedHeader, HeaderSignature)
			}
			if scheme != "v1" {
				continue
			}
			sig, ok := lowerHex(value, sha256.Size)
			if !ok {
				return nil, fmt.Errorf("%w: %s has a v1 value that is not %d lower-case hex digits", ErrMalformedHeader, HeaderSignature, 2*sha256.Size)
			}
			sigs = append(sigs, sig)
		}
	}
	if !seen {
		return nil, fmt.Errorf("%w %s", ErrMissingHeader, HeaderSignature)
	}
	return sigs, nil
}

// lowerHex decodes s if it is exactly n bytes in lower-case hex.
func lowerHex(s string, n int) ([]byte, bool) {
	if len(s) != 2*n {
		return nil, false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return nil, false
		}
	}
	b, err := hex.DecodeString(s)
	return b, err == nil
}

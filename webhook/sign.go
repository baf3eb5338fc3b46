package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of a signed call, and the verifier's default tolerance.
const (
	// HeaderID is the call's id: the same on every retry of one event or
	// decision, so a receiver can process each id once. It is visible ASCII
	// without '.'.
	HeaderID = "Mallpoints-Id"
	// HeaderTimestamp is when the call was sent, in decimal Unix seconds.
	HeaderTimestamp = "Mallpoints-Timestamp"
	// HeaderSignature holds one "v1=<hex>" per secret the sender holds,
	// comma-separated.
	HeaderSignature = "Mallpoints-Signature"
	// DefaultTolerance is how far Verify lets Mallpoints-Timestamp be from
	// now, either way: an older call is refused as a replay.
	DefaultTolerance = 5 * time.Minute
)

// Sign sets the three headers on h for a call with id, sent at t, carrying
// body, with one v1 signature per secret, in the order given. Each is the
// lower-case hex HMAC-SHA256, keyed with the secret, of the timestamp
// header's text, '.', id, '.' and body. The id must be visible ASCII without
// '.', the rule Verify applies, and each secret non-empty. Sign replaces any
// values the headers had, so h can be signed again for a retry; with no
// secret it removes Mallpoints-Signature.
func Sign(h http.Header, id string, t time.Time, body []byte, secrets ...[]byte) {
	ts := strconv.FormatInt(t.Unix(), 10)
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, ts)
	if len(secrets) == 0 {
		h.Del(HeaderSignature)
		return
	}
	sigs := make([]string, len(secrets))
	for i, secret := range secrets {
		sigs[i] = "v1=" + hex.EncodeToString(signature(hmac.New(sha256.New, secret), ts, id, body))
	}
	h.Set(HeaderSignature, strings.Join(sigs, ","))
}

// signature returns the v1 MAC of a call: mac (a fresh HMAC-SHA256 keyed
// with the secret) over "timestamp.id.body".
func signature(mac hash.Hash, timestamp, id string, body []byte) []byte {
	// A hash.Hash's Write never fails.
	_, _ = io.WriteString(mac, timestamp)
	_, _ = io.WriteString(mac, ".")
	_, _ = io.WriteString(mac, id)
	_, _ = io.WriteString(mac, ".")
	_, _ = mac.Write(body)
	return mac.Sum(nil)
}

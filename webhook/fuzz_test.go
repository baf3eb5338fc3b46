package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/webhook"
)

// FuzzVerify feeds Verify arbitrary headers and bodies. It must never
// panic, must wrap one of its sentinel errors when it refuses, and may
// accept only a call whose signature header holds, as an item, the v1 the
// test computes itself for a well-formed id and a timestamp within the
// tolerance. A call Sign made verifies whenever its id is well-formed.
func FuzzVerify(f *testing.F) {
	f.Add(katID, katTimestamp, "v1="+katV1, []byte(katBody))
	f.Add(katID, katTimestamp, " v2=x , v1="+katV1+" ,", []byte(katBody))
	f.Add("evt.0001", katTimestamp, "v1="+katV1, []byte("."))
	f.Add("", "", "", []byte{})
	f.Add(katID, "-1", "v1=,=,v1", []byte{0xff})
	f.Add(katID, "99999999999999999999", "v1="+strings.ToUpper(katV1), []byte(katBody))
	secret := []byte(katSecret)
	sentinels := []error{webhook.ErrNoSecret, webhook.ErrMissingHeader, webhook.ErrMalformedHeader,
		webhook.ErrOutsideTolerance, webhook.ErrBadSignature}
	f.Fuzz(func(t *testing.T, id, timestamp, signature string, body []byte) {
		h := http.Header{}
		h.Set(webhook.HeaderID, id)
		h.Set(webhook.HeaderTimestamp, timestamp)
		h.Set(webhook.HeaderSignature, signature)
		err := webhook.VerifyAt(h, body, katTime, webhook.DefaultTolerance, secret)
		if err != nil {
			wrapped := 0
			for _, s := range sentinels {
				if errors.Is(err, s) {
					wrapped++
				}
			}
			if wrapped != 1 {
				t.Fatalf("error %q wraps %d sentinels, want 1", err, wrapped)
			}
		} else {
			if !wellFormedID(id) {
				t.Fatalf("verified with id %q", id)
			}
			n, perr := strconv.ParseUint(timestamp, 10, 63)
			if perr != nil || strings.TrimLeft(timestamp, "0123456789") != "" {
				t.Fatalf("verified with timestamp %q", timestamp)
			}
			if d := katTime.Sub(time.Unix(int64(n), 0)); d > webhook.DefaultTolerance || d < -webhook.DefaultTolerance {
				t.Fatalf("verified with timestamp %q, %s from now", timestamp, d)
			}
			mac := hmac.New(sha256.New, secret)
			mac.Write([]byte(timestamp + "." + id + "."))
			mac.Write(body)
			want := "v1=" + hex.EncodeToString(mac.Sum(nil))
			found := false
			for item := range strings.SplitSeq(signature, ",") {
				found = found || strings.Trim(item, " \t") == want
			}
			if !found {
				t.Fatalf("verified %q without the item %s", signature, want)
			}
		}

		signed := http.Header{}
		webhook.Sign(signed, id, katTime, body, secret)
		err = webhook.VerifyAt(signed, body, katTime, webhook.DefaultTolerance, secret)
		if wellFormedID(id) != (err == nil) {
			t.Fatalf("signed with id %q, VerifyAt = %v", id, err)
		}
	})
}

// wellFormedID is the id rule, written apart from the package's: visible
// ASCII without '.'.
func wellFormedID(id string) bool {
	return id != "" && strings.IndexFunc(id, func(r rune) bool { return r < '!' || r > '~' || r == '.' }) < 0
}

package webhook_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/webhook"
)

// The known answer, computed outside Go with
//
//	printf '%s' '1767225600.evt_0001.{"id":"evt_0001"}' | openssl dgst -sha256 -hmac 'whsec-test-secret'
//	printf '%s' '1767225600.evt_0001.{"id":"evt_0001"}' | openssl dgst -sha256 -hmac 'whsec-new-secret'
//
// (docs/signing.md shows the first).
const (
	katSecret    = "whsec-test-secret"
	katNewSecret = "whsec-new-secret"
	katID        = "evt_0001"
	katTimestamp = "1767225600" // 2026-01-01T00:00:00Z
	katBody      = `{"id":"evt_0001"}`
	katV1        = "06d35a934695d70ae2a2e641cf6d8c976d5a8ac5cb035e286c6e4ef98aa4a9b2"
	katV1New     = "70830243a8d4a03d843b5872b13354c6917107e1d4db0f2f392632180cc9ce16"
)

var katTime = time.Unix(1767225600, 0)

func TestSignKnownAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		secrets []string
		want    string
	}{
		{"one secret", []string{katSecret}, "v1=" + katV1},
		{"two secrets, in the order given", []string{katSecret, katNewSecret}, "v1=" + katV1 + ",v1=" + katV1New},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			webhook.Sign(h, katID, katTime, []byte(katBody), secretBytes(tt.secrets)...)
			want := http.Header{
				"Mallpoints-Id":        {katID},
				"Mallpoints-Timestamp": {katTimestamp},
				"Mallpoints-Signature": {tt.want},
			}
			if !equalHeaders(h, want) {
				t.Errorf("Sign set %v, want %v", h, want)
			}
		})
	}
}

func TestSignReplacesEarlierHeaders(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	webhook.Sign(h, katID, katTime.Add(-time.Hour), []byte("first attempt"), []byte(katSecret))
	webhook.Sign(h, katID, katTime, []byte(katBody), []byte(katSecret))
	if got := h.Values(webhook.HeaderSignature); len(got) != 1 || got[0] != "v1="+katV1 {
		t.Errorf("after signing again, %s = %q, want only v1=%s", webhook.HeaderSignature, got, katV1)
	}
	if got := h.Values(webhook.HeaderTimestamp); len(got) != 1 || got[0] != katTimestamp {
		t.Errorf("after signing again, %s = %q, want only %s", webhook.HeaderTimestamp, got, katTimestamp)
	}
	webhook.Sign(h, katID, katTime, []byte(katBody))
	if _, ok := h[webhook.HeaderSignature]; ok {
		t.Errorf("Sign with no secret left %s = %q", webhook.HeaderSignature, h.Values(webhook.HeaderSignature))
	}
}

// TestVerifyRules starts from a call signed by hand with the known answer
// and changes one thing per case.
func TestVerifyRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		edit      func(h http.Header)
		body      []byte    // nil: the known answer's
		now       time.Time // zero: katTime
		tolerance time.Duration
		secrets   []string
		want      error  // nil: verifies
		wantText  string // in the error's text
	}{
		{name: "the known answer verifies"},
		{name: "wrong secret", secrets: []string{"whsec-wrong"}, want: webhook.ErrBadSignature},
		{name: "body changed by one byte", body: []byte(`{"id":"evt_0002"}`), want: webhook.ErrBadSignature},
		{name: "body with a newline added", body: []byte(katBody + "\n"), want: webhook.ErrBadSignature},
		{name: "empty body", body: []byte{}, want: webhook.ErrBadSignature},
		{name: "id changed", edit: set(webhook.HeaderID, "evt_0002"), want: webhook.ErrBadSignature},
		{name: "timestamp changed by a second", edit: set(webhook.HeaderTimestamp, "1767225601"), want: webhook.ErrBadSignature},
		{name: "timestamp with a leading zero is different text", edit: set(webhook.HeaderTimestamp, "01767225600"), want: webhook.ErrBadSignature},
		{name: "secret's case matters", secrets: []string{strings.ToUpper(katSecret)}, want: webhook.ErrBadSignature},

		{name: "5 minutes old verifies", now: katTime.Add(5 * time.Minute)},
		{name: "5 minutes and a second old is refused", now: katTime.Add(5*time.Minute + time.Second), want: webhook.ErrOutsideTolerance, wantText: "ago"},
		{name: "a replay an hour later is refused", now: katTime.Add(time.Hour), want: webhook.ErrOutsideTolerance},
		{name: "5 minutes in the future verifies", now: katTime.Add(-5 * time.Minute)},
		{name: "5 minutes and a second in the future is refused", now: katTime.Add(-5*time.Minute - time.Second), want: webhook.ErrOutsideTolerance, wantText: "ahead"},
		{name: "a timestamp in milliseconds is far in the future", edit: set(webhook.HeaderTimestamp, katTimestamp+"000"), want: webhook.ErrOutsideTolerance},
		{name: "a tolerance of a second", now: katTime.Add(2 * time.Second), tolerance: time.Second, want: webhook.ErrOutsideTolerance},
		{name: "a negative tolerance refuses every call", tolerance: -time.Second, want: webhook.ErrOutsideTolerance},
		{name: "the clock is checked before the signature", now: katTime.Add(time.Hour), secrets: []string{"whsec-wrong"}, want: webhook.ErrOutsideTolerance},

		{name: "rotation: signed with old and new, receiver holds the old", edit: set(webhook.HeaderSignature, "v1="+katV1+",v1="+katV1New)},
		{name: "rotation: signed with old and new, receiver holds the new", edit: set(webhook.HeaderSignature, "v1="+katV1+",v1="+katV1New), secrets: []string{katNewSecret}},
		{name: "rotation: signed with the new, receiver holds old and new", edit: set(webhook.HeaderSignature, "v1="+katV1New), secrets: []string{katSecret, katNewSecret}},
		{name: "rotation: signed with the old, receiver holds new and old", secrets: []string{katNewSecret, katSecret}},
		{name: "rotation: signed with the new, receiver holds only the old", edit: set(webhook.HeaderSignature, "v1="+katV1New), want: webhook.ErrBadSignature},
		{name: "a wrong v1 before the right one", edit: set(webhook.HeaderSignature, "v1="+katV1New+",v1="+katV1)},
		{name: "spaces and tabs around items", edit: set(webhook.HeaderSignature, " v1="+katV1New+" ,\tv1="+katV1+"\t")},
		{name: "empty items are skipped", edit: set(webhook.HeaderSignature, ",v1="+katV1+",,")},
		{name: "v1 values on two header lines", edit: add(webhook.HeaderSignature, "v1="+katV1New)},

		{name: "an unknown scheme is ignored", edit: set(webhook.HeaderSignature, "v2=not-even-hex,v1="+katV1)},
		{name: "only an unknown scheme", edit: set(webhook.HeaderSignature, "v2="+katV1), want: webhook.ErrBadSignature, wantText: "no v1"},
		{name: "a v0 value of the right signature is not v1", edit: set(webhook.HeaderSignature, "v0="+katV1), want: webhook.ErrBadSignature},

		{name: "no id", edit: del(webhook.HeaderID), want: webhook.ErrMissingHeader, wantText: webhook.HeaderID},
		{name: "empty id", edit: set(webhook.HeaderID, ""), want: webhook.ErrMissingHeader, wantText: webhook.HeaderID},
		{name: "no timestamp", edit: del(webhook.HeaderTimestamp), want: webhook.ErrMissingHeader, wantText: webhook.HeaderTimestamp},
		{name: "no signature", edit: del(webhook.HeaderSignature), want: webhook.ErrMissingHeader, wantText: webhook.HeaderSignature},
		{name: "a signature of commas and spaces", edit: set(webhook.HeaderSignature, " , ,"), want: webhook.ErrMissingHeader, wantText: webhook.HeaderSignature},

		{name: "an id with a dot", edit: set(webhook.HeaderID, "evt.0001"), want: webhook.ErrMalformedHeader, wantText: webhook.HeaderID},
		{name: "an id with a space", edit: set(webhook.HeaderID, "evt 0001"), want: webhook.ErrMalformedHeader, wantText: webhook.HeaderID},
		{name: "an id that is not ASCII", edit: set(webhook.HeaderID, "évt_0001"), want: webhook.ErrMalformedHeader, wantText: webhook.HeaderID},
		{name: "the id given twice", edit: add(webhook.HeaderID, katID), want: webhook.ErrMalformedHeader, wantText: webhook.HeaderID},
		{name: "the timestamp given twice", edit: add(webhook.HeaderTimestamp, katTimestamp), want: webhook.ErrMalformedHeader, wantText: webhook.HeaderTimestamp},
		{name: "a timestamp with a plus sign", edit: set(webhook.HeaderTimestamp, "+"+katTimestamp), want: webhook.ErrMalformedHeader, wantText: webhook.HeaderTimestamp},
		{name: "a negative timestamp", edit: set(webhook.HeaderTimestamp, "-1"), want: webhook.ErrMalformedHeader, wantText: webhook.HeaderTimestamp},
		{name: "a timestamp with a fraction", edit: set(webhook.HeaderTimestamp, katTimestamp+".5"), want: webhook.ErrMalformedHeader, wantText: webhook.HeaderTimestamp},
		{name: "a timestamp as a date", edit: set(webhook.HeaderTimestamp, "2026-01-01T00:00:00Z"), want: webhook.ErrMalformedHeader, wantText: webhook.HeaderTimestamp},
		{name: "a timestamp beyond 64 bits", edit: set(webhook.HeaderTimestamp, "99999999999999999999"), want: webhook.ErrMalformedHeader, wantText: webhook.HeaderTimestamp},
		{name: "upper-case hex", edit: set(webhook.HeaderSignature, "v1="+strings.ToUpper(katV1)), want: webhook.ErrMalformedHeader, wantText: webhook.HeaderSignature},
		{name: "a v1 value a digit short", edit: set(webhook.HeaderSignature, "v1="+katV1[1:]), want: webhook.ErrMalformedHeader, wantText: webhook.HeaderSignature},
		{name: "the right v1 in Base64", // openssl dgst -sha256 -hmac whsec-test-secret -binary | base64
			edit: set(webhook.HeaderSignature, "v1=BtNak0aV1wriouZBz22Ml21aisXLA14obG5O+YqkqbI="), want: webhook.ErrMalformedHeader, wantText: webhook.HeaderSignature},
		{name: "a bare signature without a scheme", edit: set(webhook.HeaderSignature, katV1), want: webhook.ErrMalformedHeader, wantText: webhook.HeaderSignature},
		{name: "an item with an empty scheme", edit: set(webhook.HeaderSignature, "="+katV1), want: webhook.ErrMalformedHeader, wantText: webhook.HeaderSignature},

		{name: "an empty secret list", secrets: []string{}, want: webhook.ErrNoSecret},
		{name: "an empty secret", secrets: []string{""}, want: webhook.ErrNoSecret},
		{name: "an empty secret beside the right one", secrets: []string{katSecret, ""}, want: webhook.ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{
				"Mallpoints-Id":        {katID},
				"Mallpoints-Timestamp": {katTimestamp},
				"Mallpoints-Signature": {"v1=" + katV1},
			}
			if tt.edit != nil {
				tt.edit(h)
			}
			body := tt.body
			if body == nil {
				body = []byte(katBody)
			}
			now := tt.now
			if now.IsZero() {
				now = katTime
			}
			tolerance := tt.tolerance
			if tolerance == 0 {
				tolerance = webhook.DefaultTolerance
			}
			secrets := tt.secrets
			if secrets == nil {
				secrets = []string{katSecret}
			}
			err := webhook.VerifyAt(h, body, now, tolerance, secretBytes(secrets)...)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("VerifyAt = %v, want %v", err, tt.want)
			}
			if err == nil {
				return
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %q", err, tt.wantText)
			}
			if strings.Contains(err.Error(), katV1[:16]) || strings.Contains(err.Error(), katSecret) {
				t.Errorf("error %q repeats a signature or the secret", err)
			}
		})
	}
}

func TestVerifyUsesTheClockAndDefaultTolerance(t *testing.T) {
	t.Parallel()
	secret := []byte(katSecret)
	for _, tt := range []struct {
		name string
		sent time.Duration // before now
		want error
	}{
		{"sent now", 0, nil},
		{"sent 4 minutes ago", 4 * time.Minute, nil},
		{"sent 6 minutes ago", 6 * time.Minute, webhook.ErrOutsideTolerance},
		{"sent 6 minutes ahead", -6 * time.Minute, webhook.ErrOutsideTolerance},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			webhook.Sign(h, katID, time.Now().Add(-tt.sent), []byte(katBody), secret)
			if err := webhook.Verify(h, []byte(katBody), secret); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignedCallsVerify(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		id   string
		body string
	}{
		{"a JSON event", "evt_42", `{"id":"evt_42","seq":42,"type":"points.earned"}`},
		{"an empty body", "decide:4200000001", ""},
		{"a body of dots and binary bytes", "x", "..\x00\xff.."},
		{"an id of every allowed punctuation", `!"#$%&'()*+,-/:;<=>?@[\]^_{|}~` + "`", "{}"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			webhook.Sign(h, tt.id, katTime, []byte(tt.body), []byte(katSecret), []byte(katNewSecret))
			for _, secret := range []string{katSecret, katNewSecret} {
				if err := webhook.VerifyAt(h, []byte(tt.body), katTime, webhook.DefaultTolerance, []byte(secret)); err != nil {
					t.Errorf("VerifyAt with %s: %v", secret, err)
				}
			}
		})
	}
}

func secretBytes(secrets []string) [][]byte {
	out := make([][]byte, len(secrets))
	for i, s := range secrets {
		out[i] = []byte(s)
	}
	return out
}

func set(name, value string) func(http.Header) {
	return func(h http.Header) { h.Set(name, value) }
}

func add(name, value string) func(http.Header) {
	return func(h http.Header) { h.Add(name, value) }
}

func del(name string) func(http.Header) {
	return func(h http.Header) { h.Del(name) }
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\n") != strings.Join(b[k], "\n") || len(v) != len(b[k]) {
			return false
		}
	}
	return true
}

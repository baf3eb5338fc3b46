package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// FuzzObjectMembers: for any valid JSON object, the members read are those
// encoding/json sees, in order, with their exact names; a name repeated or
// differing from a documented one only in case is reported; anything else
// is never a panic.
func FuzzObjectMembers(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"openid":"o","OPENID":"x"}`, `{"a":1,"a":2}`, `{"st\u0061te":"IN","state":"OUT"}`,
		`{"a":{"b":[1,{"c":null}]},"d":"\ud83d\ude00"}`, `{"":0,"":0}`, `[1]`, `"x"`, `{"a":1}{"b":2}`, `{"a":`, ` {"a" : true } `,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(strings.TrimSpace(s))
		ms, err := objectMembers(b)
		if !json.Valid(b) {
			return // checkBody refuses invalid JSON before reading members
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) != nil {
			if err == nil {
				t.Fatalf("%q: members read from a value that is not an object", s)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		seen := map[string]bool{}
		dup := false
		for _, mb := range ms {
			if _, ok := m[mb.name]; !ok {
				t.Fatalf("%q: member %q is not one encoding/json sees", s, mb.name)
			}
			dup = dup || seen[mb.name]
			seen[mb.name] = true
		}
		if len(seen) != len(m) {
			t.Fatalf("%q: %d names read, encoding/json sees %d", s, len(seen), len(m))
		}
		if name, issue := ambiguousMember(ms, nil); (issue != "") != dup {
			t.Fatalf("%q: repeated %v, reported %q %q", s, dup, name, issue)
		}
	})
}

// FuzzAdminBody: whatever an admin request carries, decoding it into any
// admin request type never panics, and what is accepted names only fields
// of that type, exactly and once.
func FuzzAdminBody(f *testing.F) {
	for _, s := range []string{
		`{"appid":"wx","openid":"o","amount":1}`, `{"appid":"wx","APPID":"x"}`, `{"amount":1,"amount":2}`,
		`{"endpoints":{"*":{"error_rate":1},"/*":{}}}`, `{"notifications":{"probe_rate":1,"Probe_Rate":0}}`,
		`{"endpoints":{"*":{"latency":"1s","latency":"2s"}}}`, `[]`, `null`, `{"":1}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, v := range []any{&MemberRequest{}, &PaymentRequest{}, &RefundRequest{}, &Faults{}} {
			r, _ := http.NewRequest(http.MethodPost, "/sandbox/x", strings.NewReader(s))
			if err := decodeAdmin(r, v); err != nil {
				continue
			}
			ms, err := objectMembers([]byte(strings.TrimSpace(s)))
			if err != nil {
				t.Fatalf("%T accepted %q, which is not one object", v, s)
			}
			if name, issue := ambiguousMember(ms, nil); issue != "" {
				t.Fatalf("%T accepted %q: member %q %s", v, s, name, issue)
			}
		}
	})
}

package api

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDecodeNamesTheFieldAtFault(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		body, code, field string
	}{
		{`{"points": 5, "reason": "ok"}`, "", ""},
		{`{"pionts": 5}`, "UNKNOWN_FIELD", "pionts"},
		{`{"points": "5"}`, "INVALID_FIELD", "points"},
		{`{"points": 1.5}`, "INVALID_FIELD", "points"},
		{`{"reason": 7}`, "INVALID_FIELD", "reason"},
		{`[1]`, "INVALID_FIELD", ""},
		{``, "INVALID_JSON", ""},
		{`{"points": 5`, "INVALID_JSON", ""},
		{`{"points": 5} x`, "INVALID_JSON", ""},
		{strings.Repeat(" ", maxBody+1), "BODY_TOO_LARGE", ""},
	} {
		var v adjustmentRequest
		err := decode(httptest.NewRequest("POST", "/", strings.NewReader(c.body)), &v)
		var e *Error
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%q: %v", c.body, err)
		case c.code != "" && (!errors.As(err, &e) || e.Code != c.code || e.Field != c.field):
			t.Errorf("%q: %v; want %s field %q", c.body, err, c.code, c.field)
		}
	}
}

// FuzzDecode: whatever the body, decode either fills the request or returns
// an *Error with a code; it never panics.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"points": 5, "reason": "x"}`, `{"pionts": 1}`, `{"points": "1"}`, `[]`, `null`,
		`{"points": 1e400}`, `{"reason": "\u0000"}`, `{"a":{"b":[`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v adjustmentRequest
		err := decode(httptest.NewRequest("POST", "/", strings.NewReader(body)), &v)
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Code == "" || e.Message == "" {
			t.Fatalf("%q: %v is not an *Error with a code and a message", body, err)
		}
	})
}

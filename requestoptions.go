package wxpay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/seed2ac2593f/wxpay/internal/clip"
)

// RequestOption adds a body, query, path parameter or header to one request.
type RequestOption func(*requestSpec)

type requestSpec struct {
	body     []byte
	rawQuery string
	params   map[string]string
	header   http.Header
	err      error
}

// JSON sends v encoded as JSON. The bytes are encoded once and sent, and
// signed, unchanged on every attempt. HTML characters are not escaped.
func JSON(v any) RequestOption {
	return func(r *requestSpec) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			r.err = fmt.Errorf("wxpay: encode JSON body: %w", err)
			return
		}
		r.body = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
}

// RawJSON sends data as the body exactly as given, for JSON already encoded.
func RawJSON(data []byte) RequestOption {
	return func(r *requestSpec) {
		if !json.Valid(data) {
			r.err = fmt.Errorf("wxpay: RawJSON: body is not valid JSON")
			return
		}
		r.body = append([]byte{}, data...)
	}
}

// Query adds key=value to the query string, in the order given.
func Query(key, value string) RequestOption {
	return func(r *requestSpec) {
		r.rawQuery = joinQuery(r.rawQuery, url.QueryEscape(key)+"="+url.QueryEscape(value))
	}
}

// PathParam fills the {name} segment of the path with value, percent-escaped
// as a path segment and otherwise unchanged: an openid keeps its case.
func PathParam(name, value string) RequestOption {
	return func(r *requestSpec) {
		if r.params == nil {
			r.params = map[string]string{}
		}
		r.params[name] = value
	}
}

// Header sets a request header. Authorization is always the signature's;
// Wechatpay-Serial set here replaces the key the client asks answers to be
// signed with (use it with EncryptSensitive's serial). A name that is not an
// HTTP token or a value with a control character (a line break, say) makes
// the call fail with ErrInvalidRequest before anything is sent.
func Header(key, value string) RequestOption {
	return func(r *requestSpec) {
		switch {
		case !validToken(key):
			r.err = fmt.Errorf("header name %s is not an HTTP token", clip.Text(strconv.Quote(key), 80))
			return
		case !validHeaderValue(value):
			r.err = fmt.Errorf("header %s: value has a control character", key)
			return
		}
		if r.header == nil {
			r.header = http.Header{}
		}
		r.header.Set(key, value)
	}
}

// validToken reports whether s is an RFC 9110 token, the form of a header
// name and a method.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// validHeaderValue refuses control characters other than tab: a CR or LF
// would split the header, and net/http would only fail at send time, as a
// network error that looks worth retrying.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

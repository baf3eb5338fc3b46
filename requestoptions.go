package wxpay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
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
// signed with (use it with EncryptSensitive's serial).
func Header(key, value string) RequestOption {
	return func(r *requestSpec) {
		if r.header == nil {
			r.header = http.Header{}
		}
		r.header.Set(key, value)
	}
}

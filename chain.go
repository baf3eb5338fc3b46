package wxpay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Chain is a path below the base URL that reads like the API's own path:
//
//	c.Chain("v3/businesscircle/points/notify").Post(ctx, wxpay.JSON(body))
//	c.Chain("v3/businesscircle").Chain("user-authorizations/{openid}").Get(ctx,
//		wxpay.PathParam("openid", openid), wxpay.Query("appid", appid))
//
// It is the Go counterpart of the PHP SDK's chain('v3/…') and its
// $instance['v3/…'] property style: Go has no index operator on values, so
// the string form serves both. Literal segments are used as written
// (commit_status keeps its underscore); {name} segments are filled by PathParam.
type Chain struct {
	c       *Client
	path    string
	escaped string // the path escaped once, when it has no placeholders
}

// Chain starts a chain at path, relative to the base URL ("v3/…"; a leading
// slash is ignored).
func (c *Client) Chain(path string) *Chain {
	return newChain(c, strings.Trim(path, "/"))
}

// Chain goes one or more segments deeper.
func (ch *Chain) Chain(segment string) *Chain {
	seg := strings.Trim(segment, "/")
	if ch.path == "" {
		return newChain(ch.c, seg)
	}
	return newChain(ch.c, ch.path+"/"+seg)
}

func newChain(c *Client, path string) *Chain {
	ch := &Chain{c: c, path: path}
	if !strings.Contains(path, "{") {
		// An invalid path is reported by the call, with its error.
		ch.escaped, _ = expandPath(path, nil)
	}
	return ch
}

// Path returns the chain's path template, such as
// "v3/businesscircle/user-authorizations/{openid}".
func (ch *Chain) Path() string { return ch.path }

// Do sends one request with any method. Get, Post, Put, Patch and Delete are
// shorthands for it.
func (ch *Chain) Do(ctx context.Context, method string, opts ...RequestOption) (*Response, error) {
	cl, err := ch.c.newCall(method, ch.path, ch.escaped, opts)
	if err != nil {
		return nil, err
	}
	return ch.c.send(ctx, cl, true)
}

// Get sends a GET request.
func (ch *Chain) Get(ctx context.Context, opts ...RequestOption) (*Response, error) {
	return ch.Do(ctx, http.MethodGet, opts...)
}

// Post sends a POST request, usually with a JSON option.
func (ch *Chain) Post(ctx context.Context, opts ...RequestOption) (*Response, error) {
	return ch.Do(ctx, http.MethodPost, opts...)
}

// Put sends a PUT request.
func (ch *Chain) Put(ctx context.Context, opts ...RequestOption) (*Response, error) {
	return ch.Do(ctx, http.MethodPut, opts...)
}

// Patch sends a PATCH request.
func (ch *Chain) Patch(ctx context.Context, opts ...RequestOption) (*Response, error) {
	return ch.Do(ctx, http.MethodPatch, opts...)
}

// Delete sends a DELETE request.
func (ch *Chain) Delete(ctx context.Context, opts ...RequestOption) (*Response, error) {
	return ch.Do(ctx, http.MethodDelete, opts...)
}

// DoAsync sends the request in its own goroutine and returns at once.
// Cancelling ctx stops the call, and with it the future.
func (ch *Chain) DoAsync(ctx context.Context, method string, opts ...RequestOption) *Future {
	return Async(func() (*Response, error) { return ch.Do(ctx, method, opts...) })
}

// GetAsync is Get in its own goroutine.
func (ch *Chain) GetAsync(ctx context.Context, opts ...RequestOption) *Future {
	return ch.DoAsync(ctx, http.MethodGet, opts...)
}

// PostAsync is Post in its own goroutine:
//
//	resp, err := c.Chain("v3/businesscircle/points/notify").
//		PostAsync(ctx, wxpay.JSON(body)).
//		Then(func(r *wxpay.Response) error { log.Print(r.StatusCode == 204); return nil }).
//		Wait()
func (ch *Chain) PostAsync(ctx context.Context, opts ...RequestOption) *Future {
	return ch.DoAsync(ctx, http.MethodPost, opts...)
}

// PutAsync is Put in its own goroutine.
func (ch *Chain) PutAsync(ctx context.Context, opts ...RequestOption) *Future {
	return ch.DoAsync(ctx, http.MethodPut, opts...)
}

// PatchAsync is Patch in its own goroutine.
func (ch *Chain) PatchAsync(ctx context.Context, opts ...RequestOption) *Future {
	return ch.DoAsync(ctx, http.MethodPatch, opts...)
}

// DeleteAsync is Delete in its own goroutine.
func (ch *Chain) DeleteAsync(ctx context.Context, opts ...RequestOption) *Future {
	return ch.DoAsync(ctx, http.MethodDelete, opts...)
}

// Async runs fn in its own goroutine and returns its future, for building
// asynchronous calls on top of synchronous ones (a typed call that validates
// its request first, say).
func Async(fn func() (*Response, error)) *Future {
	f := newFuture()
	go func() { f.complete(fn()) }()
	return f
}

// Future is the result of an asynchronous call, like the promise of the PHP
// and Node.js SDKs. Its goroutine always ends: when the call returns or its
// context is cancelled.
type Future struct {
	done chan struct{}
	resp *Response
	err  error
}

func newFuture() *Future { return &Future{done: make(chan struct{})} }

func (f *Future) complete(resp *Response, err error) {
	f.resp, f.err = resp, err
	close(f.done)
}

// Wait blocks until the call is over and returns its outcome.
func (f *Future) Wait() (*Response, error) {
	<-f.done
	return f.resp, f.err
}

// Done is closed when the call is over, for use in a select.
func (f *Future) Done() <-chan struct{} { return f.done }

// Then returns a future that, once this one succeeds, runs fn with the
// response; fn's error, if any, becomes the new future's error. When this
// future fails, fn is not called and the error is passed on.
func (f *Future) Then(fn func(*Response) error) *Future {
	next := newFuture()
	go func() {
		resp, err := f.Wait()
		if err == nil {
			err = fn(resp)
		}
		next.complete(resp, err)
	}()
	return next
}

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

// expandPath escapes the literal parts of a path template and fills its
// {name} placeholders. Anything after '?' is kept as a raw query.
func expandPath(path string, params map[string]string) (string, error) {
	query := ""
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, query = path[:i], path[i:]
	}
	used := 0
	var b strings.Builder
	for i, seg := range strings.Split(path, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		if seg == "" {
			return "", fmt.Errorf("wxpay: path %q has an empty segment", path)
		}
		for seg != "" {
			open := strings.IndexByte(seg, '{')
			if open < 0 {
				b.WriteString(url.PathEscape(seg))
				break
			}
			end := strings.IndexByte(seg[open:], '}')
			if end < 0 {
				return "", fmt.Errorf("wxpay: path %q: unclosed '{'", path)
			}
			b.WriteString(url.PathEscape(seg[:open]))
			name := seg[open+1 : open+end]
			value, ok := params[name]
			switch {
			case !ok:
				return "", fmt.Errorf("wxpay: path %q: no PathParam(%q, …) given", path, name)
			case value == "" || value == "." || value == "..":
				return "", fmt.Errorf("wxpay: path parameter %s = %q is not a usable path segment", name, value)
			}
			used++
			b.WriteString(url.PathEscape(value))
			seg = seg[open+end+1:]
		}
	}
	if used < len(params) {
		for name := range params {
			if !strings.Contains(path, "{"+name+"}") {
				return "", fmt.Errorf("wxpay: PathParam(%q, …) has no {%s} in path %q", name, name, path)
			}
		}
	}
	return b.String() + query, nil
}

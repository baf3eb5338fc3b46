package wxpay

import (
	"context"
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

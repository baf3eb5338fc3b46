package wxpay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/seed2ac2593f/wxpay/internal/clip"
	"github.com/seed2ac2593f/wxpay/internal/wxauth"
)

// Response is a verified 2xx answer. Body holds the exact bytes whose
// signature was checked (empty for 204); the embedded http.Response's own
// Body (resp.Response.Body) reads those same bytes, so code written for
// net/http sees what was verified, never more.
type Response struct {
	*http.Response
	Body   []byte // the verified body
	Serial string // the key that verified it; empty when verification is off
}

// RequestID returns the answer's Request-ID, which WeChat Pay support asks for.
func (r *Response) RequestID() string { return requestID(r.Header) }

// DecodeJSON unmarshals the verified body into v.
func (r *Response) DecodeJSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("wxpay: decode answer (Request-ID %s): %w", clip.Text(r.RequestID(), 128), err)
	}
	return nil
}

func requestID(h http.Header) string {
	if id := h.Get("Request-Id"); id != "" {
		return id
	}
	return h.Get("Request-ID")
}

// call is one API call: everything needed to send (and re-send) it.
type call struct {
	method string
	target string // escaped path and query, as signed
	url    string
	body   []byte
	header http.Header
}

// send signs and sends cl, retrying as the policy says, and returns the
// answer with its body read. Only a 2xx answer comes back without an error;
// its signature is checked unless verify is false.
func (c *Client) send(ctx context.Context, cl *call, verify bool) (*Response, error) {
	for attempt := 0; ; attempt++ {
		resp, status, err := c.attempt(ctx, cl, verify)
		if err == nil {
			return resp, nil
		}
		if attempt >= c.retry.MaxRetries || !c.retry.checkRetry(status, err) {
			if errors.Is(err, ErrNotProcessed) && attempt > 0 {
				err = fmt.Errorf("%w (the answer to all %d attempts)", err, attempt+1)
			}
			return nil, err
		}
		retryAfter := ""
		if resp != nil {
			retryAfter = resp.Header.Get("Retry-After")
		}
		now := c.now()
		wait := c.retry.backoff(attempt+1, retryAfter, now, rand.Float64())
		asked, hasAsked := parseRetryAfter(retryAfter, now)
		if hasAsked {
			if c.retry.MaxWait > 0 && asked > c.retry.MaxWait {
				return nil, fmt.Errorf("%w (no retry: WeChat Pay asked to wait %s, longer than the retry policy's MaxWait of %s)",
					err, describeWait(asked, retryAfter), c.retry.MaxWait)
			}
			wait = max(wait, asked) // never sooner than asked, whatever Backoff says
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			if hasAsked && time.Until(dl) < asked {
				return nil, fmt.Errorf("%w (no retry: WeChat Pay asked to wait %s, past the context deadline)", err, describeWait(asked, retryAfter))
			}
			return nil, fmt.Errorf("%w (no retry: the context deadline comes before the next attempt)", err)
		}
		c.log.DebugContext(ctx, "wxpay: retrying", "method", cl.method, "target", cl.target,
			"attempt", attempt+2, "status", status, "wait", wait, "error", err)
		if serr := sleep(ctx, wait); serr != nil {
			return nil, fmt.Errorf("wxpay: %w while waiting to retry after: %w", serr, err)
		}
	}
}

// describeWait says how long a Retry-After asked for, quoting the header
// (bounded) when it was a date or too large to be a duration.
func describeWait(d time.Duration, header string) string {
	if d == math.MaxInt64 || !isDigits(header) {
		return fmt.Sprintf("%s (Retry-After: %s)", d.Round(time.Second), clip.Text(header, 64))
	}
	return d.String()
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// attempt sends cl once with a fresh timestamp, nonce and signature. On a
// non-2xx answer it returns the response (for Retry-After) with an *APIError.
func (c *Client) attempt(ctx context.Context, cl *call, verify bool) (*Response, int, error) {
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, cl.url, body)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: build request: %w", ErrInvalidRequest, err)
	}
	// The fixed header values are shared, read-only slices made once per client.
	req.Header["Accept"] = c.hdr.accept
	req.Header["User-Agent"] = c.hdr.userAgent
	if cl.body != nil {
		req.Header["Content-Type"] = c.hdr.contentType
	}
	for k, v := range cl.header {
		req.Header[k] = v
	}
	if req.Header.Get("Wechatpay-Serial") == "" {
		if serial, ok := c.preferredSerial(); ok {
			req.Header["Wechatpay-Serial"] = serial
		}
	}
	// Sign exactly the request-target net/http writes on the wire.
	target := req.URL.RequestURI()
	auth, err := c.signer.AuthorizationContext(ctx, cl.method, target, cl.body, c.now().Unix(), wxauth.NewNonce())
	if err != nil {
		return nil, 0, err
	}
	req.Header["Authorization"] = []string{auth}

	hr, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("wxpay: %s %s: %w", cl.method, cl.target, err)
	}
	data, err := readBounded(hr, c.maxBody)
	if err != nil {
		return nil, hr.StatusCode, fmt.Errorf("wxpay: %s %s: read answer (HTTP %d): %w", cl.method, cl.target, hr.StatusCode, err)
	}
	// resp.Response.Body reads the bytes that were verified, not the spent stream.
	if len(data) == 0 {
		hr.Body = http.NoBody
	} else {
		hr.Body = io.NopCloser(bytes.NewReader(data))
	}
	resp := &Response{Response: hr, Body: data}
	if hr.StatusCode < 200 || hr.StatusCode > 299 {
		return resp, hr.StatusCode, newAPIError(hr.StatusCode, requestID(hr.Header), data)
	}
	if verify && !c.skipVerify {
		serial, err := c.verifier.Verify(hr.Header, data)
		if err != nil {
			var ve *VerificationError
			if errors.As(err, &ve) {
				ve.StatusCode, ve.RequestID = hr.StatusCode, resp.RequestID()
			}
			return nil, hr.StatusCode, err
		}
		resp.Serial = serial
	}
	if hr.StatusCode == http.StatusAccepted {
		// 202: accepted but not processed; WeChat Pay asks for the same request
		// again (docs/protocol.md §4.1), so it is not a success.
		return resp, hr.StatusCode, fmt.Errorf("%w: %s %s answered 202 Accepted (Request-ID %s)",
			ErrNotProcessed, cl.method, cl.target, clip.Text(resp.RequestID(), 128))
	}
	return resp, hr.StatusCode, nil
}

// readBounded reads and closes the body, failing past limit bytes.
func readBounded(hr *http.Response, limit int64) ([]byte, error) {
	defer hr.Body.Close()
	if hr.ContentLength > limit {
		return nil, fmt.Errorf("%w: Content-Length %d exceeds %d", ErrResponseTooLarge, hr.ContentLength, limit)
	}
	if hr.ContentLength == 0 {
		// A 204 (or an empty 200) has nothing to read; drain for connection
		// reuse, unless net/http already gave it no body at all.
		if hr.Body != http.NoBody {
			io.Copy(io.Discard, io.LimitReader(hr.Body, 1))
		}
		return []byte{}, nil
	}
	var buf []byte
	if hr.ContentLength > 0 {
		buf = make([]byte, 0, hr.ContentLength+1)
	}
	b := bytes.NewBuffer(buf)
	n, err := b.ReadFrom(io.LimitReader(hr.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, limit)
	}
	return b.Bytes(), nil
}

// newCall resolves the chain's path and the request options into a call.
// A path without placeholders arrives already escaped, from Chain.
func (c *Client) newCall(method, path string, escaped string, opts []RequestOption) (*call, error) {
	var r requestSpec
	for _, o := range opts {
		o(&r)
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRequest, r.err)
	}
	if escaped == "" || r.params != nil {
		var err error
		if escaped, err = expandPath(path, r.params); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
		}
	}
	if !validToken(method) {
		return nil, fmt.Errorf("%w: method %s is not an HTTP token", ErrInvalidRequest, clip.Text(method, 64))
	}
	query := r.rawQuery
	if i := strings.IndexByte(escaped, '?'); i >= 0 {
		escaped, query = escaped[:i], joinQuery(escaped[i+1:], query)
	}
	target := c.basePath + "/" + escaped
	if query != "" {
		target += "?" + query
	}
	cl := &call{
		method: strings.ToUpper(method),
		target: target,
		url:    c.origin + target,
		body:   r.body,
		header: r.header,
	}
	return cl, nil
}

func joinQuery(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "&" + b
}

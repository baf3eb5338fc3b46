// Package crm makes the calls mallpointsd makes to a mall's own systems:
// the decision calls of the rules key decide, signed as package
// github.com/seed2ac2593f/wxpay/webhook describes (docs/signing.md), so the
// CRM knows the call came from this service and was not replayed.
package crm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/webhook"
)

// MaxAnswer bounds the body of a CRM's answer that is read: a decision is a
// few dozen bytes.
const MaxAnswer = 64 << 10

// Client calls the malls' CRMs.
type Client struct {
	// HTTP sends the calls; nil means a client that follows no redirects
	// (a signed call goes only where the rules say).
	HTTP *http.Client
	// Now is the clock of the Mallpoints-Timestamp header; nil: time.Now.
	Now func() time.Time
}

// StatusError is a CRM's answer other than 2xx.
type StatusError struct {
	Status int
	Body   string // the first bytes of the answer, for the dashboard
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("crm: answered %d: %q", e.Status, e.Body)
}

// ErrNoSecret: the rules were parsed, not loaded, so no secret was read:
// an uploaded rules file never calls its URLs.
var ErrNoSecret = errors.New("crm: the decide section has no secret read (the rules were not loaded from the service's file)")

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Call POSTs body as JSON to d's URL, signed with d's secret under id, with
// d's timeout, and returns the body of a 2xx answer. Anything else is an
// error: a status other than 2xx (a redirect included), a network error, a
// timeout.
func (c *Client) Call(ctx context.Context, d *rules.Decide, id string, body []byte) ([]byte, error) {
	if d.Secrets() == nil {
		return nil, ErrNoSecret
	}
	return c.Post(ctx, d.URL, d.Secrets(), d.Timeout, id, body)
}

// Post POSTs body as JSON to url, signed with each of secrets under id,
// within timeout, and returns the body of a 2xx answer: a decide call or a
// webhook delivery. Anything else is an error, as for Call.
func (c *Client) Post(ctx context.Context, url string, secrets [][]byte, timeout time.Duration, id string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("crm: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mallpointsd")
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	webhook.Sign(req.Header, id, now(), body, secrets...)
	hc := c.HTTP
	if hc == nil {
		hc = noRedirects
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("crm: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("crm: reading the answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &StatusError{Status: resp.StatusCode, Body: string(answer[:min(len(answer), 200)])}
	}
	if len(answer) > MaxAnswer {
		return nil, fmt.Errorf("crm: the answer is longer than %d bytes", MaxAnswer)
	}
	return answer, nil
}

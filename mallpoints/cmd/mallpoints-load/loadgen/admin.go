// Package loadgen drives a WeChat Pay sandbox with payments through its
// admin API and measures what happens to them: when each payment's points
// sync arrived, how long the service took to answer each notification, and
// the throughput and latency percentiles of a run.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Admin calls a sandbox's admin API (under /sandbox/).
type Admin struct {
	URL  string // the sandbox's base URL, e.g. http://127.0.0.1:8090/
	HTTP *http.Client
}

func (a *Admin) client() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return http.DefaultClient
}

// do sends a JSON request and decodes a 2xx answer into out.
func (a *Admin) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(a.URL, "/")+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &StatusError{Method: method, Path: path, Status: resp.StatusCode, Body: string(raw)}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// StatusError is a non-2xx answer of the admin API.
type StatusError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, strings.TrimSpace(e.Body))
}

// Mall is where a member pays: a direct merchant's own mall (MchID), or a
// service provider's sub-merchant (SubMchID, with the provider's MchID). An
// empty MchID is the sandbox's first merchant; the zero Mall is its own mall.
type Mall struct {
	MchID    string `json:"mchid,omitempty"`
	SubMchID string `json:"sub_mchid,omitempty"`
}

// ID is the mall's mchid as the service names it: the sub-merchant's, else
// the merchant's ("" for the sandbox's first merchant's own mall).
func (m Mall) ID() string {
	if m.SubMchID != "" {
		return m.SubMchID
	}
	return m.MchID
}

// Authorize makes openid an AUTHORIZED member of mall, so that its payments
// there are notified.
func (a *Admin) Authorize(ctx context.Context, appid, openid string, mall Mall) error {
	body := struct {
		Mall
		AppID  string `json:"appid"`
		OpenID string `json:"openid"`
	}{mall, appid, openid}
	return a.do(ctx, http.MethodPost, "/sandbox/authorizations", body, nil)
}

// PaymentRequest is the body of POST /sandbox/transactions.
type PaymentRequest struct {
	Mall
	AppID      string `json:"appid"`
	OpenID     string `json:"openid"`
	Amount     int64  `json:"amount"`
	ShopNumber string `json:"shop_number,omitempty"`
}

// Paid is the sandbox's answer to a payment.
type Paid struct {
	TransactionID  string `json:"transaction_id"`
	NotificationID string `json:"notification_id"`
}

// Pay makes a payment, which the sandbox notifies.
func (a *Admin) Pay(ctx context.Context, p PaymentRequest) (Paid, error) {
	var out Paid
	err := a.do(ctx, http.MethodPost, "/sandbox/transactions", p, &out)
	return out, err
}

// PointsSync is the sandbox's record of the points syncs of a transaction.
type PointsSync struct {
	TransactionID string          `json:"transaction_id"`
	SyncCount     int             `json:"sync_count"`
	LastSync      json.RawMessage `json:"last_sync"`
}

// SyncBody is the part of a points sync's body the checks read.
type SyncBody struct {
	TransactionID   string `json:"transaction_id"`
	OpenID          string `json:"openid"`
	EarnPoints      bool   `json:"earn_points"`
	IncreasedPoints int64  `json:"increased_points"`
	TotalPoints     int64  `json:"total_points"`
	NoPointsRemarks string `json:"no_points_remarks"`
}

// Body decodes the last sync received.
func (p PointsSync) Body() (SyncBody, error) {
	var b SyncBody
	err := json.Unmarshal(p.LastSync, &b)
	return b, err
}

// Points reads the sandbox's record of transaction id's syncs.
func (a *Admin) Points(ctx context.Context, id string) (PointsSync, error) {
	var out PointsSync
	err := a.do(ctx, http.MethodGet, "/sandbox/points/"+url.PathEscape(id), nil, &out)
	return out, err
}

// Delivery is one notification and its delivery attempts.
type Delivery struct {
	ID        string    `json:"id"`
	EventType string    `json:"event_type"`
	State     string    `json:"state"`
	Attempts  []Attempt `json:"attempts"`
}

// Attempt is one delivery attempt as the sandbox saw it.
type Attempt struct {
	At       time.Time     `json:"at"`
	Status   int           `json:"status"`
	Error    string        `json:"error"`
	Duration time.Duration `json:"duration_ns"`
}

// Deliveries lists every notification the sandbox keeps.
func (a *Admin) Deliveries(ctx context.Context) ([]Delivery, error) {
	var out struct {
		Deliveries []Delivery `json:"deliveries"`
	}
	err := a.do(ctx, http.MethodGet, "/sandbox/deliveries", nil, &out)
	return out.Deliveries, err
}

// SetFaults replaces the sandbox's injected faults (PUT /sandbox/faults);
// faults is the JSON document the sandbox documents, {} for none.
func (a *Admin) SetFaults(ctx context.Context, faults any) error {
	return a.do(ctx, http.MethodPut, "/sandbox/faults", faults, nil)
}

package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"reflect"
	"strings"
)

// maxAdminBytes bounds an admin request body.
const maxAdminBytes = 64 << 10

// adminHandler serves the admin API: JSON in and out, no signature. Bad
// input is 400 {"error": …, "field": …}.
//
//	POST /sandbox/authorizations      MemberRequest  → 201 (new) or 200 Member; MALL_AUTH.ACTIVATE_CARD sent
//	POST /sandbox/authorizations/{openid}/revoke {appid, sub_mchid?, mchid?} → 200 Member (DEAUTHORIZED)
//	POST /sandbox/members/{openid}/commit        {appid, sub_mchid?, mchid?} → 200 Submission; MALL_TRANSACTION.SUCCESS sent with commit_tag
//	POST /sandbox/transactions        PaymentRequest (transaction_id, time_end optional) → 201 Payment; MALL_TRANSACTION.SUCCESS sent to members
//	POST /sandbox/refunds             RefundRequest  → 201 Refund; MALL_REFUND.SUCCESS sent if points were synced
//	GET  /sandbox/points/{transaction_id}[?mchid=]   → 200 PointsSync, or 404
//	GET  /sandbox/parkings                           → 200 {"parkings": [Parking…]}
//	GET  /sandbox/deliveries[?mchid=]                → 200 {"deliveries": [Delivery…]}, of one merchant if named
//	GET  /sandbox/faults, PUT /sandbox/faults        → 200 Faults
//
// The admin API has no authentication, so it refuses what a web page could
// make a browser send (a page the developer opens must not create payments
// that notify their own receiver): a cross-origin browser request (by
// Sec-Fetch-Site or Origin, http.CrossOriginProtection) is 403, and a POST or
// PUT whose Content-Type is not application/json is 415, since only the
// simple types (text/plain, forms) cross origins without a CORS preflight,
// which the sandbox never grants. A known path with another method is 405
// with Allow.
func (s *Sandbox) adminHandler() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, fn func(*http.Request) (int, any, error)) {
		method, _, _ := strings.Cut(pattern, " ")
		changes := method == http.MethodPost || method == http.MethodPut
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			var status int
			var v any
			var err error
			if changes && !isJSON(r.Header.Get("Content-Type")) {
				status, v = http.StatusUnsupportedMediaType, adminError{Field: "Content-Type",
					Error: "must be application/json (send -H 'Content-Type: application/json')"}
			} else {
				status, v, err = fn(r)
			}
			if err != nil {
				status, v = http.StatusInternalServerError, adminError{Error: err.Error()}
				if ie, ok := errors.AsType[*InputError](err); ok {
					status, v = http.StatusBadRequest, adminError{Error: ie.Message, Field: ie.Field}
				}
			}
			writeAdmin(s, w, r, status, v)
		})
	}
	handle("POST /sandbox/authorizations", func(r *http.Request) (int, any, error) {
		var req MemberRequest
		if err := decodeAdmin(r, &req); err != nil {
			return 0, nil, err
		}
		mb, created, err := s.Authorize(req)
		if created {
			return http.StatusCreated, mb, err
		}
		return http.StatusOK, mb, err
	})
	handle("POST /sandbox/authorizations/{openid}/revoke", func(r *http.Request) (int, any, error) {
		req, err := decodeMemberPath(r)
		if err != nil {
			return 0, nil, err
		}
		mb, err := s.Deauthorize(req)
		return http.StatusOK, mb, err
	})
	handle("POST /sandbox/members/{openid}/commit", func(r *http.Request) (int, any, error) {
		req, err := decodeMemberPath(r)
		if err != nil {
			return 0, nil, err
		}
		sub, err := s.Commit(req)
		return http.StatusOK, sub, err
	})
	handle("POST /sandbox/transactions", func(r *http.Request) (int, any, error) {
		var req PaymentRequest
		if err := decodeAdmin(r, &req); err != nil {
			return 0, nil, err
		}
		p, err := s.Pay(req)
		return http.StatusCreated, p, err
	})
	handle("POST /sandbox/refunds", func(r *http.Request) (int, any, error) {
		var req RefundRequest
		if err := decodeAdmin(r, &req); err != nil {
			return 0, nil, err
		}
		rf, err := s.Refund(req)
		return http.StatusCreated, rf, err
	})
	handle("GET /sandbox/points/{transaction_id}", func(r *http.Request) (int, any, error) {
		m, err := s.merchantQuery(r)
		if err != nil {
			return 0, nil, err
		}
		id := r.PathValue("transaction_id")
		p, ok := s.Points(id)
		if !ok || (m != nil && s.state.account(id) != m.MchID) {
			return http.StatusNotFound, adminError{Error: "no such transaction", Field: "transaction_id"}, nil
		}
		return http.StatusOK, p, nil
	})
	handle("GET /sandbox/parkings", func(*http.Request) (int, any, error) {
		return http.StatusOK, struct {
			Parkings []Parking `json:"parkings"`
		}{s.Parkings()}, nil
	})
	handle("GET /sandbox/deliveries", func(r *http.Request) (int, any, error) {
		m, err := s.merchantQuery(r)
		if err != nil {
			return 0, nil, err
		}
		list := []Delivery{}
		for _, r := range s.queue.Records() {
			if m == nil || r.Owner == m.MchID {
				list = append(list, fromRecord(r))
			}
		}
		return http.StatusOK, struct {
			Deliveries []Delivery `json:"deliveries"`
		}{list}, nil
	})
	handle("GET /sandbox/faults", func(*http.Request) (int, any, error) {
		return http.StatusOK, s.Faults(), nil
	})
	handle("PUT /sandbox/faults", func(r *http.Request) (int, any, error) {
		var f Faults
		if err := decodeAdmin(r, &f); err != nil {
			return 0, nil, err
		}
		if err := s.SetFaults(f); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, s.Faults(), nil
	})
	mux.HandleFunc("/sandbox/", func(w http.ResponseWriter, r *http.Request) {
		if allow := allowedMethods(mux, r); allow != "" {
			w.Header().Set("Allow", allow)
			writeAdmin(s, w, r, http.StatusMethodNotAllowed, adminError{Error: "method " + r.Method + " not allowed here; use " + allow})
			return
		}
		writeAdmin(s, w, r, http.StatusNotFound, adminError{Error: "no admin endpoint " + r.Method + " " + truncateUTF8(r.URL.Path, 128) +
			"; see the documentation of package sandbox"})
	})
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := cop.Check(r); err != nil {
			writeAdmin(s, w, r, http.StatusForbidden, adminError{Field: "Origin",
				Error: "cross-origin browser requests to the admin API are refused: " + err.Error()})
			return
		}
		if rebound(r) {
			writeAdmin(s, w, r, http.StatusForbidden, adminError{Field: "Host",
				Error: "a request on loopback must name localhost or an IP address in Host"})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// rebound reports what DNS rebinding looks like: a request that came in on
// a loopback address under a Host that is a DNS name other than localhost.
// A web page whose name was re-pointed at 127.0.0.1 is same-origin to the
// browser, so only the Host it sends gives it away.
func rebound(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false // not from a listener (a handler called in process)
	}
	ap, err := netip.ParseAddrPort(local.String())
	if err != nil || !ap.Addr().IsLoopback() {
		return false
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return false
	}
	return host != "localhost" && !strings.HasSuffix(host, ".localhost")
}

// writeAdmin writes one admin answer as JSON and logs it.
func writeAdmin(s *Sandbox, w http.ResponseWriter, r *http.Request, status int, v any) {
	s.log.Info("sandbox: admin", "method", r.Method, "path", truncateUTF8(r.URL.Path, 256), "status", status)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(marshal(v), '\n'))
}

// adminMethods are the methods the admin routes use.
var adminMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut}

// allowedMethods lists the methods that have a route for r's path, other
// than the catch-all; "" when the path has none.
func allowedMethods(mux *http.ServeMux, r *http.Request) string {
	var allow []string
	for _, m := range adminMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "/sandbox/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	return strings.Join(allow, ", ")
}

// isJSON reports whether a Content-Type is application/json, with any
// parameters (charset).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// merchantQuery is the merchant named by the query parameter mchid, which
// narrows what GET requests list; nil when none is named.
func (s *Sandbox) merchantQuery(r *http.Request) (*merchant, error) {
	mchid := r.URL.Query().Get("mchid")
	if mchid == "" {
		return nil, nil
	}
	return s.merchantFor(mchid, "")
}

type adminError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// decodeAdmin reads one JSON object into v, refusing unknown fields so that a
// typo is an error rather than a silent default, and members that repeat a
// name or differ from a field's name only in case, which encoding/json would
// resolve silently.
func decodeAdmin(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxAdminBytes+1))
	if err != nil {
		return &InputError{Field: "body", Message: "could not be read: " + err.Error()}
	}
	if len(b) > maxAdminBytes {
		return &InputError{Field: "body", Message: "is larger than 64 KiB"}
	}
	if json.Valid(b) {
		if t := bytes.TrimSpace(b); t[0] != '{' { // null would decode as an empty request
			return &InputError{Field: "body", Message: "is not a JSON object"}
		}
		if err := checkAdminMembers(b, reflect.TypeOf(v), ""); err != nil {
			return err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			field := te.Field
			if field == "" {
				field = "body"
			}
			return &InputError{Field: field, Message: "must be " + jsonKind(te.Type)}
		}
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return &InputError{Field: strings.Trim(name, `"`), Message: "is not a field of this request"}
		}
		return &InputError{Field: "body", Message: "is not a JSON object: " + err.Error()}
	}
	if dec.More() {
		return &InputError{Field: "body", Message: "holds more than one JSON value"}
	}
	return nil
}

// memberPath is the body of the admin calls that name the member in their
// path: /sandbox/authorizations/{openid}/revoke, /sandbox/members/{openid}/commit.
type memberPath struct {
	MchID    string `json:"mchid,omitempty"`
	SubMchID string `json:"sub_mchid,omitempty"`
	AppID    string `json:"appid"`
}

// decodeMemberPath reads a memberPath body and the path's openid.
func decodeMemberPath(r *http.Request) (MemberRequest, error) {
	var b memberPath
	if err := decodeAdmin(r, &b); err != nil {
		return MemberRequest{}, err
	}
	return MemberRequest{MchID: b.MchID, SubMchID: b.SubMchID, AppID: b.AppID, OpenID: r.PathValue("openid")}, nil
}

// jsonKind says in words what JSON a Go type wants.
func jsonKind(t reflect.Type) string {
	if t == reflect.TypeFor[Duration]() {
		return `a duration string such as "250ms"`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "an array"
	}
	return "an object"
}

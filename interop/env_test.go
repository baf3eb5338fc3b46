package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// The member every scenario works with.
const (
	appID  = "wxd678efh567hg6787"
	openID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
)

// env is one sandbox for one scenario of one peer: the sandbox handler
// behind a request log, on a loopback port, with a notification receiver
// that parses with the peer's own code.
type env struct {
	t    *testing.T
	sb   *sandbox.Sandbox
	URL  string
	mode sandbox.KeyMode
	log  requestLog
	// pinned, when not zero, is the sandbox clock in Unix seconds.
	pinned atomic.Int64

	parse    atomic.Pointer[func(*http.Request, []byte) outcome]
	received chan notice
}

// notice is one notification attempt as the peer's receiver saw it.
type notice struct {
	outcome
	EventType string
	Resource  map[string]any
}

// newEnv starts a sandbox with WeChat Pay's keys of mode and a fast retry
// schedule (one retry after 10 ms), and a receiver that answers 204 when
// the peer's parse accepted a notification and 500 otherwise.
func newEnv(t *testing.T, mode sandbox.KeyMode) *env {
	t.Helper()
	e := &env{t: t, mode: mode, received: make(chan notice, 64)}
	receiver := httptest.NewServer(http.HandlerFunc(e.receive))
	t.Cleanup(receiver.Close)

	cfg := testKeys.Config()
	switch mode {
	case sandbox.PublicKeyMode:
		cfg.PlatformCertificates = nil
	case sandbox.PlatformCertificateMode:
		cfg.PublicKey = nil
	}
	cfg.Merchants[0].NotifyURL = receiver.URL
	cfg.NotifyRetrySchedule = []time.Duration{10 * time.Millisecond}
	cfg.Now = e.now
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.sb = sb
	srv := httptest.NewServer(e.logged(sb))
	e.URL = srv.URL
	t.Cleanup(func() {
		sb.Close()
		srv.Close()
	})
	return e
}

// now is the sandbox clock: the real one unless pinned.
func (e *env) now() time.Time {
	if p := e.pinned.Load(); p != 0 {
		return time.Unix(p, 0)
	}
	return time.Now()
}

// pinClock stops the sandbox clock at a Unix time, so that answers are
// stamped with exactly that time (shifted by a clock-skew fault).
func (e *env) pinClock(unix int64) { e.pinned.Store(unix) }

// receive is the merchant's notification URL: it hands the request to the
// peer's parser and answers as WeChat Pay expects (200/204 received, else a
// failure that makes it send again).
func (e *env) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	parse := e.parse.Load()
	var o outcome
	if parse == nil {
		o = outcome{Check: "no-receiver", Detail: "the peer had not been connected yet"}
	} else {
		r.Body = io.NopCloser(bytes.NewReader(body))
		o = (*parse)(r, body)
	}
	n := notice{outcome: o}
	n.EventType, _ = o.Data["event_type"].(string)
	n.Resource, _ = o.Data["resource"].(map[string]any)
	select {
	case e.received <- n:
	default:
	}
	if !o.Accepted {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"code":"FAIL","message":%q}`, o.Check)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// setReceiver makes parse the receiver's notification code.
func (e *env) setReceiver(parse func(*http.Request, []byte) outcome) { e.parse.Store(&parse) }

// admin calls the sandbox's admin API and decodes the JSON answer into v.
func (e *env) admin(method, path string, in, v any) int {
	e.t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotFound {
		e.t.Fatalf("admin %s %s: %s %s", method, path, resp.Status, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			e.t.Fatalf("admin %s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// authorize makes the member AUTHORIZED (POST /sandbox/authorizations) and
// waits for its MALL_AUTH.ACTIVATE_CARD to be delivered or given up.
func (e *env) authorize() {
	e.t.Helper()
	var m sandbox.Member
	e.admin(http.MethodPost, "/sandbox/authorizations", sandbox.MemberRequest{AppID: appID, OpenID: openID}, &m)
	if m.AuthorizeState != "AUTHORIZED" {
		e.t.Fatalf("member after POST /sandbox/authorizations: %+v", m)
	}
	if m.NotificationID != "" {
		e.waitDelivery(m.NotificationID)
		e.drain()
	}
}

// pay records a payment of the member (POST /sandbox/transactions).
func (e *env) pay(amount int64) sandbox.Payment {
	e.t.Helper()
	var p sandbox.Payment
	e.admin(http.MethodPost, "/sandbox/transactions", sandbox.PaymentRequest{AppID: appID, OpenID: openID, Amount: amount}, &p)
	if p.TransactionID == "" {
		e.t.Fatalf("POST /sandbox/transactions answered %+v", p)
	}
	return p
}

// points is GET /sandbox/points/{transaction_id}.
func (e *env) points(txID string) sandbox.PointsSync {
	e.t.Helper()
	var p sandbox.PointsSync
	if st := e.admin(http.MethodGet, "/sandbox/points/"+txID, nil, &p); st != http.StatusOK {
		e.t.Fatalf("GET /sandbox/points/%s: %d", txID, st)
	}
	return p
}

// setFaults is PUT /sandbox/faults.
func (e *env) setFaults(f sandbox.Faults) {
	e.t.Helper()
	e.admin(http.MethodPut, "/sandbox/faults", f, nil)
}

// waitDelivery waits until the notification is delivered or given up.
func (e *env) waitDelivery(id string) sandbox.Delivery {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := e.sb.WaitDelivery(ctx, id, nil)
	if err != nil {
		e.t.Fatalf("notification %s: %v (%+v)", id, err, d)
	}
	return d
}

// drain forgets the notices received so far.
func (e *env) drain() {
	for {
		select {
		case <-e.received:
		default:
			return
		}
	}
}

// notices returns the notices received so far.
func (e *env) notices() []notice {
	var out []notice
	for {
		select {
		case n := <-e.received:
			out = append(out, n)
		default:
			return out
		}
	}
}

// captured is one request as it reached the sandbox.
type captured struct {
	Method string      `json:"method"`
	Target string      `json:"target"` // the request-target as sent: path and raw query
	Header http.Header `json:"-"`
	Body   string      `json:"body"`
	// Authorization is copied here for the Node.js verifier.
	Authorization string `json:"authorization"`
}

// requestLog records every /v3/ request the sandbox received.
type requestLog struct {
	mu   sync.Mutex
	reqs []captured
}

// logged records every /v3/ request in the log before the sandbox answers it.
func (e *env) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v3/") {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			e.log.add(r, body)
		}
		next.ServeHTTP(w, r)
	})
}

func (l *requestLog) add(r *http.Request, body []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, captured{
		Method: r.Method, Target: r.RequestURI, Header: r.Header.Clone(), Body: string(body),
		Authorization: r.Header.Get("Authorization"),
	})
}

// all returns the requests recorded so far.
func (l *requestLog) all() []captured {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]captured(nil), l.reqs...)
}

// count returns how many requests had path path.
func (l *requestLog) count(path string) int {
	n := 0
	for _, c := range l.all() {
		if p, _, _ := strings.Cut(c.Target, "?"); p == path {
			n++
		}
	}
	return n
}

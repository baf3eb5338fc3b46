package wxpay

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

// memTransport answers in memory, without sockets, so a test can run inside a
// testing/synctest bubble where sleeps and timers take no real time.
type memTransport struct {
	mu       sync.Mutex
	answers  []memAnswer // given in turn; then answer's, or a signed 204
	answer   func() memAnswer
	requests []memRequest
}

// memAnswer is one answer; signed answers carry WeChat Pay's headers.
type memAnswer struct {
	status   int
	header   http.Header
	body     string
	signed   bool
	platform bool // sign with the platform certificate rather than the public key
	forged   bool // sign with a key nobody trusts
}

// memRequest is one request as received, with the (fake) time it arrived.
type memRequest struct {
	at            time.Time
	authorization string
	body          []byte
}

func (m *memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
	}
	m.mu.Lock()
	m.requests = append(m.requests, memRequest{time.Now(), r.Header.Get("Authorization"), body})
	a := memAnswer{status: http.StatusNoContent, signed: true}
	switch {
	case len(m.answers) > 0:
		a, m.answers = m.answers[0], m.answers[1:]
	case m.answer != nil:
		a = m.answer()
	}
	m.mu.Unlock()
	h := http.Header{}
	if a.signed {
		k := wxtest.SharedKeys()
		key, serial := k.WechatPayKey, k.PublicKeyID
		if a.platform {
			key, serial = k.PlatformKey, k.PlatformSerial
		}
		if a.forged {
			key = foreignKey()
		}
		h = wxtest.SignResponse(key, serial, time.Now().Unix(), "0123456789abcdef0123456789abcdef", []byte(a.body))
	}
	for k, v := range a.header {
		h[k] = v
	}
	h.Set("Request-ID", fmt.Sprintf("mem-%d", len(m.requests)))
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(strings.NewReader(a.body)),
		ContentLength: int64(len(a.body)), Request: r}, nil
}

func (m *memTransport) got() []memRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]memRequest(nil), m.requests...)
}

// newMemClient returns a client of wxtest's merchant whose answers come from m.
func newMemClient(t testing.TB, m *memTransport, opts ...Option) *Client {
	t.Helper()
	return newTestClient(t, &wxtest.Server{URL: "http://127.0.0.1:9"},
		append([]Option{WithHTTPClient(&http.Client{Transport: m})}, opts...)...)
}

// errorAnswer is an unsigned WeChat Pay error answer.
func errorAnswer(status int, header http.Header) memAnswer {
	return memAnswer{status: status, header: header, body: fmt.Sprintf(`{"code":"SYSTEM_ERROR","message":"status %d"}`, status)}
}

// sameBodies reports whether every request carried the same body.
func sameBodies(reqs []memRequest) bool {
	for _, r := range reqs {
		if !bytes.Equal(r.body, reqs[0].body) {
			return false
		}
	}
	return true
}

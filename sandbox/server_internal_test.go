package sandbox

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/notify"
)

// The servers NewServer starts (the sandbox and the notification receiver)
// have every timeout set.
func TestServersHaveTimeouts(t *testing.T) {
	t.Parallel()
	srv := NewServer(WithNotifyFunc(func(context.Context, *notify.Notification) error { return nil }))
	defer srv.Close()
	for name, s := range map[string]*http.Server{"sandbox": srv.http.Config, "receiver": srv.receiver.Config} {
		if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= maxLatency || s.IdleTimeout <= 0 {
			t.Errorf("%s: timeouts %v %v %v %v, want all set, write above the longest injected latency",
				name, s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout)
		}
	}
}

// A client sending its body at a trickle, or keeping a connection idle, is
// cut off by the server rather than holding the connection.
func TestSlowAndIdleClientsAreCutOff(t *testing.T) {
	t.Parallel()
	short := timeouts{readHeader: 200 * time.Millisecond, read: 200 * time.Millisecond, write: time.Second, idle: 200 * time.Millisecond}
	s := startServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}), short)
	t.Cleanup(s.Close)
	addr := strings.TrimPrefix(s.URL, "http://")

	t.Run("a body that never finishes", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr)
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
		waitClosed(t, c)
	})
	t.Run("an idle keep-alive", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("first request: %v %v", resp, err)
		}
		waitClosedReader(t, c, br)
	})
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitClosed reads until the server closes the connection. The deadline
// only keeps a broken server from hanging the test: the server's timeouts
// are far shorter.
func waitClosed(t *testing.T, c net.Conn) { waitClosedReader(t, c, c) }

func waitClosedReader(t *testing.T, c net.Conn, r io.Reader) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatalf("the server kept the connection: %v", err)
	}
}

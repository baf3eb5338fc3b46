package notify_test

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/notify"
)

// TestNewServerCutsOffSlowAndIdleClients: a server configured as NewServer
// documents ends a connection whose body trickles in or that sits idle, and
// bounds headers to far less than a hostile 900 KiB value. The timeouts are scaled down from the
// documented ones so the test is quick; they are the same fields.
func TestNewServerCutsOffSlowAndIdleClients(t *testing.T) {
	t.Parallel()
	h := notify.NewHandler(newParser(t, publicKeyRing(t)), (&recorder{}).handle)
	srv := notify.NewServer("", h)
	if srv.ReadHeaderTimeout == 0 || srv.ReadTimeout == 0 || srv.WriteTimeout == 0 || srv.IdleTimeout == 0 || srv.MaxHeaderBytes == 0 {
		t.Fatalf("NewServer leaves a limit unset: %+v", srv)
	}
	if srv.ReadTimeout > 30*time.Second || srv.WriteTimeout > 30*time.Second {
		t.Fatalf("timeouts %v/%v hold a connection longer than a delivery needs", srv.ReadTimeout, srv.WriteTimeout)
	}
	if srv.MaxHeaderBytes > 64<<10 {
		t.Fatalf("MaxHeaderBytes %d lets a 900 KiB Wechatpay-Serial in", srv.MaxHeaderBytes)
	}
	srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout = 100*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	t.Run("a body at one byte per 50 ms", func(t *testing.T) {
		conn := dial(t, ln.Addr().String())
		fmt.Fprintf(conn, "POST /wechatpay/notify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
		stop := make(chan struct{})
		defer close(stop)
		go func() { // would take 50 s to send the body
			for range 1000 {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := conn.Write([]byte("{")); err != nil {
					return
				}
			}
		}()
		if _, err := io.ReadAll(conn); err != nil && !isReset(err) {
			t.Fatalf("the server did not end the connection: %v", err)
		}
	})
	t.Run("an idle keep-alive connection", func(t *testing.T) {
		conn := dial(t, ln.Addr().String())
		if _, err := io.ReadAll(conn); err != nil && !isReset(err) {
			t.Fatalf("the server did not end the idle connection: %v", err)
		}
	})
}

// dial connects with a generous read deadline, so that a server that never
// ends the connection fails the test instead of hanging it.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	return conn
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset")
}

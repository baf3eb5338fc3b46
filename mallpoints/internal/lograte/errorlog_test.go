package lograte_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/lograte"
)

func TestAFloodOfServerErrorsFromManyAddressesIsLimitedAsOneMessage(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	dropped := map[string]int{}
	h := lograte.New(slog.NewTextHandler(&buf, nil), lograte.Config{Window: time.Minute, Burst: 3, MinLevel: slog.LevelWarn,
		Dropped: func(m string) { dropped[m]++ }})
	l := lograte.ErrorLog(h, slog.LevelWarn)
	for i := range 100 {
		l.Printf("http: TLS handshake error from 203.0.113.%d:%d: EOF", i%250, 40000+i)
	}
	if n := strings.Count(buf.String(), "\n"); n != 3 {
		t.Errorf("%d lines written, want the burst of 3:\n%s", n, buf.String())
	}
	if dropped["http: TLS handshake error"] != 97 || len(dropped) != 1 {
		t.Errorf("dropped %v, want 97 under one message", dropped)
	}
	if !strings.Contains(buf.String(), `detail="http: TLS handshake error from 203.0.113.0:40000: EOF"`) {
		t.Errorf("the line is not kept as its detail:\n%s", buf.String())
	}
}

func TestTheMessageOfAServerErrorLeavesOutAddressesAndNumbers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ line, want string }{
		{"http: TLS handshake error from 203.0.113.9:51234: EOF", "http: TLS handshake error"},
		{"http: TLS handshake error from [2001:db8::1]:443: remote error: tls: bad certificate", "http: TLS handshake error"},
		{"http: Accept error: accept tcp 127.0.0.1:8080: too many open files; retrying in 5ms", "http: Accept error"},
		{"http: panic serving 10.0.0.1:1234: runtime error", "http: panic serving"},
		{"http2: server: error reading preface from client 10.0.0.1:1: EOF", "http2: server"},
		{"something else entirely", "something else entirely"},
		{"http: " + strings.Repeat("x", 200), "http: " + strings.Repeat("x", 58)},
	} {
		var buf bytes.Buffer
		lograte.ErrorLog(slog.NewTextHandler(&buf, nil), slog.LevelWarn).Print(tc.line)
		if want := fmt.Sprintf("msg=%q", tc.want); !strings.Contains(buf.String(), want) && !strings.Contains(buf.String(), "msg="+tc.want+" ") {
			t.Errorf("%q: logged %s; want %s", tc.line, buf.String(), want)
		}
	}
}

package crm_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/crm"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/webhook"
)

var secret = strings.Repeat("k", 40)

// decideAt loads rules whose default section's CRM is url, with a timeout.
func decideAt(t *testing.T, url, timeout string) *rules.Decide {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "s"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rules.yaml")
	yaml := "default:\n  decide: {url: \"" + url + "\", secret_file: \"" + filepath.Join(dir, "s") + "\", timeout: " + timeout + "}\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := rules.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return set.Mall("1").Decide
}

func TestACallIsSignedAndOnlyA2xxAnswerIsTaken(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		handler http.HandlerFunc
		timeout string
		want    string // "" a 2xx answer "ok"; else in the error
	}{
		{"2xx", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }, "2s", ""},
		{"5xx", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }, "2s", "answered 503"},
		{"a redirect is not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example/", http.StatusTemporaryRedirect)
		}, "2s", "answered 307"},
		{"an answer too long", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, strings.Repeat("x", crm.MaxAnswer+1))
		}, "2s", "longer than"},
		{"a CRM slower than the timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, "100ms", "deadline exceeded"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if err := webhook.Verify(r.Header, body, []byte(secret)); err != nil || r.Header.Get(webhook.HeaderID) != "payment:1:42" ||
					string(body) != `{"a":1}` || r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("the call: %v, headers %v, body %s", err, r.Header, body)
				}
				c.handler(w, r)
			}))
			defer srv.Close()
			got, err := (&crm.Client{}).Call(context.Background(), decideAt(t, srv.URL, c.timeout), "payment:1:42", []byte(`{"a":1}`))
			switch {
			case c.want == "" && (err != nil || string(got) != "ok"):
				t.Errorf("answer %q, %v; want ok", got, err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// Rules parsed from an upload carry no secret: a call is refused before
// anything is sent.
func TestRulesWithoutTheirSecretCallNothing(t *testing.T) {
	t.Parallel()
	called := false
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	defer srv.Close()
	set, err := rules.Parse([]byte("default:\n  decide: {url: \"" + srv.URL + "\", secret_env: X}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&crm.Client{}).Call(context.Background(), set.Mall("1").Decide, "payment:1:42", nil); !errors.Is(err, crm.ErrNoSecret) || called {
		t.Errorf("error %v, called %v; want ErrNoSecret and no call", err, called)
	}
}

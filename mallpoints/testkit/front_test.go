package testkit

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The front sends each request to the next replica in turn, its path
// untouched (the per-merchant notification URLs), counts each replica's 2xx
// answers, and answers 502 while no replica is set.
func TestTheFrontTakesTurnsKeepsThePathAndAnswers502WithoutReplicas(t *testing.T) {
	t.Parallel()
	f, err := NewFront()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	post := func() (int, string) {
		t.Helper()
		resp, err := http.Post(f.URL()+"/wechatpay/notify/1900000109", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, _ := post(); status != http.StatusBadGateway {
		t.Errorf("no replica set: %d, want 502", status)
	}
	var backends []*Backend
	for _, name := range []string{"a", "b"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, name+" "+r.URL.Path)
		}))
		defer srv.Close()
		b, err := NewBackend(name, srv.URL+"/wechatpay/notify")
		if err != nil {
			t.Fatal(err)
		}
		backends = append(backends, b)
	}
	f.Set(backends...)
	seen := map[string]int{}
	for range 4 {
		status, body := post()
		if status != http.StatusOK {
			t.Fatalf("status %d, want 200", status)
		}
		seen[body]++
	}
	for _, b := range backends {
		if want := b.Name + " /wechatpay/notify/1900000109"; seen[want] != 2 || b.Answered.Load() != 2 {
			t.Errorf("%s answered %d of 4 (%q seen %d times), want every other request at its path", b.Name, b.Answered.Load(), want, seen[want])
		}
	}
}

package wxpay

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

func TestPostAsyncThenWait(t *testing.T) {
	t.Parallel()
	srv := wxtest.NewServer(wxtest.SharedKeys())
	defer srv.Close()
	c := newTestClient(t, srv)
	var status int
	resp, err := c.Chain("v3/businesscircle/points/notify").PostAsync(context.Background(), JSON(pointsBody)).
		Then(func(r *Response) error { status = r.StatusCode; return nil }).
		Wait()
	if err != nil || resp.StatusCode != 204 || status != 204 {
		t.Fatalf("got %v, %v, status seen by Then %d", resp, err, status)
	}
}

func TestThenErrorBecomesTheFuturesError(t *testing.T) {
	t.Parallel()
	srv := wxtest.NewServer(wxtest.SharedKeys())
	defer srv.Close()
	c := newTestClient(t, srv)
	boom := errors.New("points ledger unavailable")
	second := false
	_, err := c.Chain("v3/businesscircle/points/notify").PostAsync(context.Background(), JSON(pointsBody)).
		Then(func(*Response) error { return boom }).
		Then(func(*Response) error { second = true; return nil }).
		Wait()
	if !errors.Is(err, boom) || second {
		t.Fatalf("err = %v, second Then called = %v", err, second)
	}
}

func TestAsyncFailureSkipsThen(t *testing.T) {
	t.Parallel()
	srv := wxtest.NewServer(wxtest.SharedKeys(), wxtest.WithFault(wxtest.FaultProbe))
	defer srv.Close()
	c := newTestClient(t, srv)
	called := false
	f := c.Chain("v3/businesscircle/points/notify").PostAsync(context.Background(), JSON(pointsBody)).
		Then(func(*Response) error { called = true; return nil })
	<-f.Done()
	if _, err := f.Wait(); !errors.Is(err, ErrProbeSignature) || called {
		t.Fatalf("err = %v, Then called = %v", err, called)
	}
}

func TestCancellingTheContextEndsTheFuture(t *testing.T) {
	t.Parallel()
	srv := wxtest.NewServer(wxtest.SharedKeys())
	defer srv.Close()
	block := make(chan struct{})
	defer close(block)
	srv.Handle("GET", "/v3/slow", func(*wxtest.Request) (int, []byte) { <-block; return 200, []byte("{}") })
	c := newTestClient(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	f := c.Chain("v3/slow").GetAsync(ctx)
	cancel()
	select {
	case <-f.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("future did not finish after cancel")
	}
	if _, err := f.Wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestEveryMethodHasAnAsyncForm(t *testing.T) {
	t.Parallel()
	srv := wxtest.NewServer(wxtest.SharedKeys())
	defer srv.Close()
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		srv.Handle(m, "/v3/echo", func(r *wxtest.Request) (int, []byte) { return 200, []byte(`{"method":"` + r.Method + `"}`) })
	}
	c := newTestClient(t, srv)
	ch, ctx := c.Chain("v3/echo"), context.Background()
	for m, f := range map[string]*Future{
		"GET": ch.GetAsync(ctx), "POST": ch.PostAsync(ctx, JSON(1)), "PUT": ch.PutAsync(ctx, JSON(1)),
		"PATCH": ch.PatchAsync(ctx, JSON(1)), "DELETE": ch.DeleteAsync(ctx),
	} {
		resp, err := f.Wait()
		if err != nil || string(resp.Body) != `{"method":"`+m+`"}` {
			t.Errorf("%s: %v, %v", m, resp, err)
		}
	}
	for m, call := range map[string]func(context.Context, ...RequestOption) (*Response, error){
		"GET": ch.Get, "POST": ch.Post, "PUT": ch.Put, "PATCH": ch.Patch, "DELETE": ch.Delete,
	} {
		resp, err := call(ctx)
		if err != nil || string(resp.Body) != `{"method":"`+m+`"}` {
			t.Errorf("%s: %v, %v", m, resp, err)
		}
		var v struct{ Method string }
		if err := resp.DecodeJSON(&v); err != nil || v.Method != m {
			t.Errorf("%s: DecodeJSON = %+v, %v", m, v, err)
		}
	}
}

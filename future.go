package wxpay

import (
	"context"
	"net/http"
)

// DoAsync sends the request in its own goroutine and returns at once.
// Cancelling ctx stops the call, and with it the future.
func (ch *Chain) DoAsync(ctx context.Context, method string, opts ...RequestOption) *Future {
	return Async(func() (*Response, error) { return ch.Do(ctx, method, opts...) })
}

// GetAsync is Get in its own goroutine.
func (ch *Chain) GetAsync(ctx context.Context, opts ...RequestOption) *Future {
	return ch.DoAsync(ctx, http.MethodGet, opts...)
}

// PostAsync is Post in its own goroutine:
//
//	resp, err := c.Chain("v3/businesscircle/points/notify").
//		PostAsync(ctx, wxpay.JSON(body)).
//		Then(func(r *wxpay.Response) error { log.Print(r.StatusCode == 204); return nil }).
//		Wait()
func (ch *Chain) PostAsync(ctx context.Context, opts ...RequestOption) *Future {
	return ch.DoAsync(ctx, http.MethodPost, opts...)
}

// PutAsync is Put in its own goroutine.
func (ch *Chain) PutAsync(ctx context.Context, opts ...RequestOption) *Future {
	return ch.DoAsync(ctx, http.MethodPut, opts...)
}

// PatchAsync is Patch in its own goroutine.
func (ch *Chain) PatchAsync(ctx context.Context, opts ...RequestOption) *Future {
	return ch.DoAsync(ctx, http.MethodPatch, opts...)
}

// DeleteAsync is Delete in its own goroutine.
func (ch *Chain) DeleteAsync(ctx context.Context, opts ...RequestOption) *Future {
	return ch.DoAsync(ctx, http.MethodDelete, opts...)
}

// Async runs fn in its own goroutine and returns its future, for building
// asynchronous calls on top of synchronous ones (a typed call that validates
// its request first, say).
func Async(fn func() (*Response, error)) *Future {
	f := newFuture()
	go func() { f.complete(fn()) }()
	return f
}

// Future is the result of an asynchronous call, like the promise of the PHP
// and Node.js SDKs. Its goroutine always ends: when the call returns or its
// context is cancelled.
type Future struct {
	done chan struct{}
	resp *Response
	err  error
}

func newFuture() *Future { return &Future{done: make(chan struct{})} }

func (f *Future) complete(resp *Response, err error) {
	f.resp, f.err = resp, err
	close(f.done)
}

// Wait blocks until the call is over and returns its outcome.
func (f *Future) Wait() (*Response, error) {
	<-f.done
	return f.resp, f.err
}

// Done is closed when the call is over, for use in a select.
func (f *Future) Done() <-chan struct{} { return f.done }

// Then returns a future that, once this one succeeds, runs fn with the
// response; fn's error, if any, becomes the new future's error. When this
// future fails, fn is not called and the error is passed on.
func (f *Future) Then(fn func(*Response) error) *Future {
	next := newFuture()
	go func() {
		resp, err := f.Wait()
		if err == nil {
			err = fn(resp)
		}
		next.complete(resp, err)
	}()
	return next
}

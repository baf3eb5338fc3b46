package main

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"
)

// front forwards the sandbox's notifications to the service, whose address
// is known only after the sandbox has started.
type front struct {
	srv    *http.Server
	ln     net.Listener
	target atomic.Pointer[url.URL]
}

func newFront() (*front, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &front{ln: ln}
	// Like a load balancer in front of the service (nginx's upstream
	// keepalive, any cloud balancer), the front keeps its connections to the
	// service open: net/http's default transport would keep two, and with
	// dozens of notifications in flight the service would accept a new
	// connection for most of them.
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 256
	rp := &httputil.ReverseProxy{Transport: t, Rewrite: func(r *httputil.ProxyRequest) {
		if t := f.target.Load(); t != nil {
			r.SetURL(t)
			r.Out.URL.Path = t.Path
		}
	}}
	f.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.target.Load() == nil {
			http.Error(w, "the service is starting", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}),
		// Bounded like every server the project starts, though only the
		// sandbox on loopback calls it.
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	go f.srv.Serve(ln)
	return f, nil
}

// URL is where the sandbox sends notifications.
func (f *front) URL() string { return "http://" + f.ln.Addr().String() + "/wechatpay/notify" }

// Set points the front at the service's notification URL.
func (f *front) Set(notifyURL string) error {
	u, err := url.Parse(notifyURL)
	if err != nil {
		return err
	}
	f.target.Store(u)
	return nil
}

func (f *front) Close() error { return f.srv.Close() }

package testkit

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Front is the load balancer before the replicas: WeChat Pay's
// notifications reach it (the sandbox is given URL), and it forwards each to
// the next replica in turn, path and all, so that the per-merchant URLs
// /wechatpay/notify/{mchid} reach the service as they were sent. With no
// replica set it answers 502, which WeChat Pay retries.
type Front struct {
	srv      *http.Server
	ln       net.Listener
	mu       sync.Mutex
	backends []*Backend
	next     atomic.Uint64
}

// Backend is one replica behind a Front.
type Backend struct {
	Name     string
	proxy    *httputil.ReverseProxy
	Answered atomic.Int64 // notifications it answered 2xx
}

// frontTransport keeps its connections to the replicas open, as a load
// balancer's upstream keepalive does (nginx's, any cloud balancer's): with
// dozens of notifications in flight and net/http's default of two idle
// connections per host, a replica would accept a new connection for most of
// them.
var frontTransport = sync.OnceValue(func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 256
	return t
})

// NewBackend is the replica whose notification URL (or any URL of its public
// listener) is notifyURL.
func NewBackend(name, notifyURL string) (*Backend, error) {
	u, err := url.Parse(notifyURL)
	if err != nil {
		return nil, err
	}
	return &Backend{Name: name, proxy: &httputil.ReverseProxy{
		Transport: frontTransport(),
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(&url.URL{Scheme: u.Scheme, Host: u.Host}) },
		// A replica that is down answers 502: WeChat Pay retries.
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) },
	}}, nil
}

// NewFront listens on a free loopback port.
func NewFront() (*Front, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &Front{ln: ln}
	f.srv = &http.Server{Handler: http.HandlerFunc(f.serve),
		// Bounded like every server the project starts, though only the
		// sandbox on loopback calls it.
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	go f.srv.Serve(ln)
	return f, nil
}

// URL is the front's base URL, without a trailing slash: the sandbox
// notifies URL + "/wechatpay/notify" (or + "/wechatpay/notify/{mchid}").
func (f *Front) URL() string { return "http://" + f.ln.Addr().String() }

// Set replaces the replicas the front forwards to.
func (f *Front) Set(backends ...*Backend) {
	f.mu.Lock()
	f.backends = backends
	f.mu.Unlock()
}

// Close stops the front.
func (f *Front) Close() error { return f.srv.Close() }

func (f *Front) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	list := f.backends
	f.mu.Unlock()
	if len(list) == 0 {
		http.Error(w, "no replica up", http.StatusBadGateway)
		return
	}
	b := list[f.next.Add(1)%uint64(len(list))]
	rec := &statusRecorder{ResponseWriter: w}
	b.proxy.ServeHTTP(rec, r)
	if rec.status/100 == 2 {
		b.Answered.Add(1)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

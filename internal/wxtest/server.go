package wxtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Mode says which WeChat Pay key signs an answer when the request does not choose one.
type Mode int

const (
	// PublicKeyMode signs with Keys.WechatPayKey under Keys.PublicKeyID (微信支付公钥).
	PublicKeyMode Mode = iota
	// PlatformCertMode signs with Keys.PlatformKey under Keys.PlatformSerial (平台证书).
	PlatformCertMode
)

// Option configures a Server.
type Option func(*config)

type config struct {
	mode       Mode
	fault      Fault
	now        func() time.Time
	signErrors bool
}

// WithDefaultMode sets the signing key used when the request's Wechatpay-Serial names neither
// Keys.PublicKeyID nor Keys.PlatformSerial. The default is PublicKeyMode.
func WithDefaultMode(m Mode) Option { return func(c *config) { c.mode = m } }

// WithFault makes the server sign its 2xx answers with fault f (see also Server.SetFault).
func WithFault(f Fault) Option { return func(c *config) { c.fault = f } }

// WithClock replaces time.Now for checking request timestamps and stamping answers.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithSignedErrors signs 4xx and 5xx answers too, except 401 (WeChat Pay leaves SIGN_ERROR
// unsigned). By default only 2xx answers are signed.
func WithSignedErrors() Option { return func(c *config) { c.signErrors = true } }

// Request is one request as the server received it.
type Request struct {
	Method        string
	RequestTarget string // as on the wire: escaped path plus "?" and the raw query, if any
	Header        http.Header
	Body          []byte
	// AuthErr is nil when the Authorization header verified with Keys.MerchantCert's public key
	// and named Keys.MchID and Keys.MerchantSerial; otherwise it wraps one of the Err* values.
	AuthErr error
	// SignedMessage is the message the server reconstructed and verified, or "" if the
	// Authorization header did not parse.
	SignedMessage string
}

func (r Request) clone() Request {
	r.Header = r.Header.Clone()
	r.Body = bytes.Clone(r.Body)
	return r
}

// route is a handler plus, for /v3/certificates, the signing mode it always uses.
type route struct {
	fn        func(*Request) (int, []byte)
	forceMode bool
	mode      Mode
}

// Server is an httptest-style WeChat Pay fake listening on loopback. Each request runs one linear
// pipeline: record → check headers → verify Authorization → route → sign → respond.
type Server struct {
	URL string // base URL, e.g. http://127.0.0.1:PORT

	keys  *Keys
	cfg   config
	fault atomic.Int64
	http  *httptest.Server

	conns atomic.Int64 // connections accepted

	mu       sync.Mutex
	routes   map[string]route // "METHOD /path"
	requests []Request
}

// NewServer starts a fake for the merchant and WeChat Pay keys in k. Besides the routes added with
// Handle it answers POST /v3/businesscircle/points/notify with 204 and GET /v3/certificates with
// the platform certificate; anything else is 404 RESOURCE_NOT_EXISTS.
func NewServer(k *Keys, opts ...Option) *Server {
	s := &Server{keys: k, cfg: config{now: time.Now}, routes: map[string]route{}}
	for _, o := range opts {
		o(&s.cfg)
	}
	s.fault.Store(int64(s.cfg.fault))
	s.routes["POST /v3/businesscircle/points/notify"] = route{fn: func(*Request) (int, []byte) { return http.StatusNoContent, nil }}
	s.routes["GET /v3/certificates"] = route{fn: s.certificatesAnswer, forceMode: true, mode: PlatformCertMode}
	s.http = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.http.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.http.Start()
	s.URL = s.http.URL
	return s
}

// Close shuts the server down and waits for outstanding requests.
func (s *Server) Close() { s.http.Close() }

// Connections is how many connections the server has accepted so far.
func (s *Server) Connections() int64 { return s.conns.Load() }

// Client returns an *http.Client for the server (plain HTTP on loopback).
func (s *Server) Client() *http.Client { return s.http.Client() }

// SetFault changes the signing fault for later answers; it is safe to call while serving.
func (s *Server) SetFault(f Fault) { s.fault.Store(int64(f)) }

// Handle routes method and exact path (no query; matched against the unescaped path) to fn,
// replacing any default route. fn runs only for requests whose headers and Authorization passed;
// it gets the recorded request and returns the status and body to send, which the server signs.
func (s *Server) Handle(method, path string, fn func(r *Request) (status int, body []byte)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[method+" "+path] = route{fn: fn}
}

// Requests returns a copy of every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = r.clone()
	}
	return out
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := &Request{Method: r.Method, RequestTarget: r.RequestURI, Header: r.Header.Clone(), Body: body}
	req.SignedMessage, req.AuthErr = s.authenticate(req)

	s.mu.Lock()
	s.requests = append(s.requests, req.clone())
	rt, found := s.routes[r.Method+" "+r.URL.Path]
	s.mu.Unlock()

	var status int
	switch {
	case r.Header.Get("Accept") == "" || r.Header.Get("User-Agent") == "":
		status, body = errorAnswer(http.StatusBadRequest, "INVALID_REQUEST", "Http头缺少Accept或User-Agent", nil)
	case req.AuthErr != nil:
		status, body = signError(req)
	case !found:
		status, body = errorAnswer(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "请求的资源不存在", nil)
	default:
		c := req.clone()
		status, body = rt.fn(&c)
	}

	h := w.Header()
	h.Set("Request-ID", randomString(44, "0123456789ABCDEF")+"-0")
	if len(body) > 0 {
		h.Set("Content-Type", "application/json")
	}
	if status/100 == 2 || (s.cfg.signErrors && status >= 400 && status != http.StatusUnauthorized) {
		mode := s.cfg.mode
		switch sn := r.Header.Get(HeaderSerial); {
		case rt.forceMode:
			mode = rt.mode
		case sn == s.keys.PublicKeyID:
			mode = PublicKeyMode
		case sn == s.keys.PlatformSerial:
			mode = PlatformCertMode
		}
		key, serial := s.keys.WechatPayKey, s.keys.PublicKeyID
		if mode == PlatformCertMode {
			key, serial = s.keys.PlatformKey, s.keys.PlatformSerial
		}
		for k, v := range signFaulty(Fault(s.fault.Load()), key, serial, s.cfg.now().Unix(), body) {
			h[k] = v
		}
	}
	w.WriteHeader(status)
	w.Write(body)
}

// authenticate checks the Authorization header the way WeChat Pay reports it: format, clock,
// merchant serial, mchid, then the signature. It returns the reconstructed message if the header
// parsed.
func (s *Server) authenticate(r *Request) (string, error) {
	a, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return "", err
	}
	msg := requestMessage(r.Method, r.RequestTarget, a.timestamp, a.nonce, r.Body)
	if err := a.checkClock(s.cfg.now()); err != nil {
		return msg, err
	}
	if a.serial != s.keys.MerchantSerial {
		return msg, ErrMerchantSerial
	}
	if a.mchid != s.keys.MchID {
		return msg, ErrMchID
	}
	return msg, a.verify(&s.keys.MerchantKey.PublicKey, msg)
}

// signError maps an authentication failure to the 401 SIGN_ERROR answer WeChat Pay gives for it.
func signError(r *Request) (int, []byte) {
	msg := "Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》"
	var detail any
	switch err := r.AuthErr; {
	case errors.Is(err, ErrAuthScheme):
		msg = "Http头Authorization认证类型不正确"
	case errors.Is(err, ErrClockSkew):
		msg = "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟"
	case errors.Is(err, ErrMerchantSerial):
		msg = "商户证书序列号有误。请使用签名私钥匹配的证书序列号"
	case errors.Is(err, ErrMchID):
		msg = "Http头Authorization中的mchid与商户证书不匹配"
	case errors.Is(err, ErrSignature):
		msg = "错误的签名，验签失败"
		detail = map[string]any{
			"field": "signature", "location": "authorization",
			"detail": map[string]string{"issue": "sign not match"},
			"sign_information": map[string]any{
				"method": r.Method, "url": r.RequestTarget,
				"sign_message_length":    len(r.SignedMessage),
				"truncated_sign_message": truncate(r.SignedMessage, 256),
			},
		}
	}
	return errorAnswer(http.StatusUnauthorized, "SIGN_ERROR", msg, detail)
}

// errorAnswer returns status and a WeChat Pay error body {"code","message"[,"detail"]}.
func errorAnswer(status int, code, message string, detail any) (int, []byte) {
	return status, jsonBody(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Detail  any    `json:"detail,omitempty"`
	}{code, message, detail})
}

// jsonBody marshals v without HTML escaping and without a trailing newline.
func jsonBody(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("wxtest: " + err.Error())
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

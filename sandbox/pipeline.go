package sandbox

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/internal/wxauth"
)

// maxRequestBytes bounds a request body; business-circle bodies are under
// 1 KiB.
const maxRequestBytes = 1 << 20

// maxRequestSkew is how far a request's timestamp may be from the sandbox
// clock: "不得超过5分钟", so 300 s passes and 301 s does not.
const maxRequestSkew = 300

// exchange is one API request on its way through the pipeline; each step
// reads what the steps before it found.
type exchange struct {
	r         *http.Request
	requestID string
	start     time.Time
	target    string // the raw request-target, as signed
	body      []byte
	auth      wxauth.Authorization
	merchant  *merchant
	endpoint  *endpoint
	openid    string // the {openid} path segment, unescaped
	query     url.Values
	members   map[string]json.RawMessage // the checked body members, by exact name
	signing   signingFaults              // how to sign a 2xx answer wrongly, if at all
	drop      bool                       // close the connection instead of answering
}

// answer is what the pipeline decided: a status and body, or an error.
type answer struct {
	status int
	body   []byte
	err    *apiError
}

// step is one check of the pipeline; a non-nil error ends the request.
type step struct {
	name string
	run  func(*exchange) *apiError
}

// serveAPI runs the pipeline of docs/protocol.md §9.2 (headers →
// Authorization → clock → merchant → signature → route → rate limit →
// faults → parameters → business checks and action) and answers.
func (s *Sandbox) serveAPI(w http.ResponseWriter, r *http.Request) {
	x := &exchange{r: r, requestID: newRequestID(), start: time.Now(), target: signedTarget(r)}
	s.respond(w, x, s.pipeline(x))
}

// signedTarget is the request-target as the protocol signs it: the path and
// query exactly as sent (docs/protocol.md §2.1). A target in absolute form
// (GET http://host/v3/… HTTP/1.1, which servers must accept) is signed
// without its scheme and host.
func signedTarget(r *http.Request) string {
	t := r.RequestURI
	if t == "" { // a request built in process, not read from the wire
		return r.URL.RequestURI()
	}
	if t[0] == '/' || t == "*" {
		return t
	}
	if i := strings.Index(t, "://"); i > 0 {
		rest := t[i+3:]
		j := strings.IndexAny(rest, "/?")
		switch {
		case j < 0:
			return "/"
		case rest[j] == '?':
			return "/" + rest[j:]
		}
		return rest[j:]
	}
	return t
}

func (s *Sandbox) pipeline(x *exchange) answer {
	steps := [...]step{
		{"body", s.readBody},
		{"headers", s.checkHeaders},
		{"authorization", s.parseAuthorization},
		{"timestamp", s.checkTimestamp},
		{"merchant", s.identifyMerchant},
		{"signature", s.verifySignature},
		{"route", s.route},
		{"rate", s.limitRate},
		{"fault", s.injectFaults},
		{"params", s.checkParams},
	}
	for _, st := range steps {
		if e := st.run(x); e != nil {
			e.check = st.name
			return answer{err: e}
		}
	}
	status, body, e := x.endpoint.act(x)
	if e != nil {
		e.check = "business"
		return answer{err: e}
	}
	return answer{status: status, body: body}
}

// readBody reads the exact bytes the signature covers.
func (s *Sandbox) readBody(x *exchange) *apiError {
	if x.r.Body == nil {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(x.r.Body, maxRequestBytes+1))
	if err != nil {
		return invalidRequest(msgInvalidRequest, "reading the body failed: "+err.Error())
	}
	if len(b) > maxRequestBytes {
		return invalidRequest(msgInvalidRequest, "body larger than 1 MiB")
	}
	x.body = b
	return nil
}

// checkHeaders wants Accept and User-Agent (any value: wechatpay-go sends
// */*) and an Authorization header.
func (s *Sandbox) checkHeaders(x *exchange) *apiError {
	h := x.r.Header
	if h.Get("Accept") == "" || h.Get("User-Agent") == "" {
		return invalidRequest(msgMissingAcceptOrUA, "Accept or User-Agent missing")
	}
	if h.Get("Authorization") == "" {
		return signError(msgAuthFormat, "Authorization missing")
	}
	return nil
}

// parseAuthorization reads the five pairs, in any order.
func (s *Sandbox) parseAuthorization(x *exchange) *apiError {
	h := x.r.Header.Get("Authorization")
	a, err := wxauth.ParseAuthorization(h)
	if err != nil {
		scheme, _, _ := strings.Cut(h, " ")
		if errors.Is(err, wxauth.ErrAuthorizationScheme) && scheme != wxpay.SignatureScheme {
			return signError(msgAuthScheme, "scheme is not "+wxpay.SignatureScheme)
		}
		return signError(msgAuthFormat, err.Error())
	}
	x.auth = a
	return nil
}

func (s *Sandbox) checkTimestamp(x *exchange) *apiError {
	if d := s.now().Unix() - x.auth.Unix(); d > maxRequestSkew || d < -maxRequestSkew {
		return signError(msgAuthTimestamp, "timestamp more than 300 s from the sandbox clock")
	}
	return nil
}

// identifyMerchant finds the merchant by mchid and wants the serial of its
// certificate. An unknown mchid gets the same answer as a wrong serial: the
// certificate is not registered for that merchant.
func (s *Sandbox) identifyMerchant(x *exchange) *apiError {
	m := s.merchants[x.auth.MchID]
	if m == nil {
		return signError(msgMerchantSerial, "unknown mchid")
	}
	if !strings.EqualFold(x.auth.SerialNo, m.CertSerial) {
		return signError(msgMerchantSerial, "serial_no is not the merchant certificate's")
	}
	x.merchant = m
	return nil
}

// verifySignature checks the signature over exactly what the protocol signs:
// the method, the request-target as sent, the timestamp and nonce as the
// Authorization header writes them (a timestamp of 0179… is signed as
// 0179…, not re-formatted from its value), and the raw body bytes, so that a
// trailing newline or HTML-escaped JSON is signed as sent.
func (s *Sandbox) verifySignature(x *exchange) *apiError {
	msg := requestMessage(x.r.Method, x.target, x.auth.Timestamp, x.auth.NonceStr, x.body)
	sig, err := base64.StdEncoding.DecodeString(x.auth.Signature)
	sum := sha256.Sum256(msg)
	if err != nil || rsa.VerifyPKCS1v15(x.merchant.key, crypto.SHA256, sum[:], sig) != nil {
		return signatureMismatch(x.r.Method, x.target, msg)
	}
	return nil
}

// requestMessage is the signed message of a request (docs/protocol.md
// §2.1): five lines, each ending in a newline.
func requestMessage(method, target, timestamp, nonce string, body []byte) []byte {
	msg := make([]byte, 0, len(method)+len(target)+len(timestamp)+len(nonce)+len(body)+5)
	for _, part := range [][]byte{[]byte(method), []byte(target), []byte(timestamp), []byte(nonce), body} {
		msg = append(append(msg, part...), '\n')
	}
	return msg
}

// route finds the endpoint; a known path with another method is 405.
func (s *Sandbox) route(x *exchange) *apiError {
	segs := strings.Split(strings.TrimPrefix(x.r.URL.EscapedPath(), "/"), "/")
	var allowed []string
	for _, ep := range s.endpoints {
		openid, ok := ep.match(segs)
		if !ok {
			continue
		}
		if ep.method != x.r.Method {
			allowed = append(allowed, ep.method)
			continue
		}
		x.endpoint, x.openid = ep, openid
		return nil
	}
	if allowed != nil {
		e := newError(http.StatusMethodNotAllowed, "INVALID_REQUEST", msgInvalidRequest,
			"method "+x.r.Method+" not allowed, use "+strings.Join(allowed, ", "))
		e.Detail = map[string]string{"issue": "method not allowed", "location": "method"}
		e.allow = strings.Join(allowed, ", ")
		return e
	}
	return newError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", msgNotFound, "no such endpoint")
}

// checkParams checks the path, query and body against the endpoint's rules.
func (s *Sandbox) checkParams(x *exchange) *apiError {
	ep := x.endpoint
	if ep.pathRule != nil {
		if e := ep.pathRule.checkText(ep.pathRule.param("path"), x.openid); e != nil {
			return e
		}
	}
	q, e := checkQuery(x.r.URL.RawQuery, ep.query)
	if e != nil {
		return e
	}
	x.query = q
	if ep.body != nil {
		x.members, e = checkBody(x.body, ep.body)
	}
	return e
}

// respond writes the answer: Request-ID always, WeChat Pay's signature on
// every 2xx (and on other errors than 401 when configured), or nothing at all
// when the connection is to be dropped.
func (s *Sandbox) respond(w http.ResponseWriter, x *exchange, a answer) {
	status, body := a.status, a.body
	if a.err != nil {
		status, body = a.err.status, a.err.body()
	}
	s.logRequest(x, status, a.err)
	if x.drop {
		dropConnection(w)
		return
	}
	h := w.Header()
	h.Set("Request-ID", x.requestID)
	if len(body) > 0 {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	if a.err != nil && a.err.allow != "" {
		h.Set("Allow", a.err.allow)
	}
	success := status >= 200 && status <= 299
	if success || (s.cfg.SignErrorAnswers && status != http.StatusUnauthorized) {
		var f signingFaults
		if success {
			f = x.signing
		}
		k := s.keys.forAnswer(x.r.Header.Get("Wechatpay-Serial"))
		for name, v := range s.sign(k, body, f) {
			h[name] = v
		}
	}
	w.WriteHeader(status)
	w.Write(body)
}

// dropConnection closes the connection without an answer, as a network
// failure after the request arrived would.
func dropConnection(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
		return
	}
	panic(http.ErrAbortHandler) // HTTP/2 and recorders: net/http resets the stream
}

// logRequest writes one record per request: what was asked, the answer and,
// for a rejection, the check that failed. Never the Authorization header,
// the body or a key.
func (s *Sandbox) logRequest(x *exchange, status int, e *apiError) {
	path := truncateUTF8(x.r.URL.Path, 256)
	if x.endpoint != nil {
		path = "/" + x.endpoint.name // the template: no openid in the log
	}
	attrs := []slog.Attr{
		slog.String("method", x.r.Method),
		slog.String("path", path),
		slog.Int("status", status),
		slog.String("request_id", x.requestID),
		slog.Duration("duration", time.Since(x.start)),
	}
	if x.merchant != nil {
		attrs = append(attrs, slog.String("mchid", x.merchant.MchID))
	}
	if x.drop {
		attrs = append(attrs, slog.Bool("dropped", true))
	}
	level := slog.LevelInfo
	if e != nil {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("check", e.check), slog.String("code", e.Code), slog.String("reason", e.reason))
	}
	s.log.LogAttrs(context.Background(), level, "sandbox: request", attrs...)
}

// newRequestID makes a Request-ID shaped like WeChat Pay's.
func newRequestID() string { return randomString(44, upperHex) + "-0" }

package sandbox_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// fixedNow is the clock of the tests that need one: a Monday noon in Beijing.
var fixedNow = time.Date(2025, 5, 19, 12, 0, 0, 0, time.FixedZone("CST", 8*3600))

func fixedClock() time.Time { return fixedNow }

// Values used throughout.
const (
	appID  = "wxd678efh567hg6787"
	openID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
	subMch = "1900000999"
)

// newServer starts a sandbox with the fixed clock, closed with the test.
func newServer(t testing.TB, opts ...sandbox.ServerOption) *sandbox.Server {
	t.Helper()
	srv := sandbox.NewServer(append([]sandbox.ServerOption{sandbox.WithClock(fixedClock)}, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

// --- an independent raw signer, written from the protocol text (docs/protocol.md §2) ---

// Orders in which peer clients write the Authorization pairs
// (the peer clients of interop/ and the official example).
var (
	orderWechatpayGo = []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"}
	orderAxios       = []string{"mchid", "serial_no", "timestamp", "nonce_str", "signature"}
	orderOfficial    = []string{"mchid", "nonce_str", "signature", "timestamp", "serial_no"}
)

// raw is a request built byte by byte; zero fields get valid values from
// send: the server's merchant, key and clock, a fresh nonce, the
// wechatpay-go pair order.
type raw struct {
	method, target string
	body           string
	header         map[string]string // set as given; "" removes Accept or User-Agent
	mchid, serial  string
	key            *rsa.PrivateKey
	ts             int64
	tsText         string // the timestamp as written and signed, when not ts in decimal
	absoluteForm   bool   // send the request-target in absolute form: GET http://host/v3/…
	nonce          string
	order          []string
	sep            string            // between pairs; default ","
	authorization  *string           // replaces the computed header
	signedBody     *string           // signs this instead of body (tampering)
	noAuth         bool              // no Authorization header at all
	extraPairs     map[string]string // replaces pair values as written
}

// signRaw returns Base64(RSASSA-PKCS1-v1_5(SHA-256(message))).
func signRaw(key *rsa.PrivateKey, message string) string {
	sum := sha256.Sum256([]byte(message))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// answer is what came back.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// apiErr decodes an error body.
func (a answer) apiErr(t testing.TB) (code, message string, detail map[string]any) {
	t.Helper()
	var e struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Detail  map[string]any `json:"detail"`
	}
	if err := json.Unmarshal(a.body, &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", a.body, err)
	}
	return e.Code, e.Message, e.Detail
}

func send(t testing.TB, srv *sandbox.Server, r raw) answer {
	t.Helper()
	a, err := trySend(srv, r)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func trySend(srv *sandbox.Server, r raw) (answer, error) {
	k := srv.Keys
	if r.method == "" {
		r.method = http.MethodPost
	}
	if r.mchid == "" {
		r.mchid = k.MchID
	}
	if r.serial == "" {
		r.serial = k.MerchantSerial
	}
	if r.key == nil {
		r.key = k.MerchantKey
	}
	if r.ts == 0 {
		r.ts = fixedNow.Unix()
	}
	if r.nonce == "" {
		r.nonce = "593BEC0C930BF1AFEB40B4A08C8FB242"
	}
	if r.order == nil {
		r.order = orderWechatpayGo
	}
	if r.sep == "" {
		r.sep = ","
	}
	signed := r.body
	if r.signedBody != nil {
		signed = *r.signedBody
	}
	if r.tsText == "" {
		r.tsText = strconv.FormatInt(r.ts, 10)
	}
	msg := r.method + "\n" + r.target + "\n" + r.tsText + "\n" + r.nonce + "\n" + signed + "\n"
	pairs := map[string]string{
		"mchid": r.mchid, "nonce_str": r.nonce, "timestamp": r.tsText,
		"serial_no": r.serial, "signature": signRaw(r.key, msg),
	}
	for k, v := range r.extraPairs {
		pairs[k] = v
	}
	parts := make([]string, len(r.order))
	for i, name := range r.order {
		parts[i] = name + `="` + pairs[name] + `"`
	}
	auth := "WECHATPAY2-SHA256-RSA2048 " + strings.Join(parts, r.sep)
	if r.authorization != nil {
		auth = *r.authorization
	}

	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, srv.URL+r.target, body)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "sandbox-test/1.0")
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if !r.noAuth {
		req.Header.Set("Authorization", auth)
	}
	for k, v := range r.header {
		req.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	if got := req.URL.RequestURI(); got != r.target {
		panic("test bug: target " + r.target + " would be sent as " + got)
	}
	if r.absoluteForm { // net/http writes an Opaque of "//host/…" as "http://host/…"
		path, _, _ := strings.Cut(r.target, "?")
		req.URL.Opaque = "//" + req.URL.Host + path
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, err
}

// verifyAnswer checks an answer's signature independently, with the public
// half of the key named serial: "timestamp\nnonce\nbody\n".
func verifyAnswer(t testing.TB, k *sandbox.Keys, a answer) (serial string) {
	t.Helper()
	h := a.header
	serial = h.Get("Wechatpay-Serial")
	var pub *rsa.PublicKey
	switch serial {
	case k.PublicKeyID:
		pub = &k.WechatPayKey.PublicKey
	case k.PlatformSerial:
		pub = &k.PlatformKey.PublicKey
	default:
		t.Fatalf("answer signed with unknown serial %q", serial)
	}
	sig, err := base64.StdEncoding.DecodeString(h.Get("Wechatpay-Signature"))
	if err != nil {
		t.Fatalf("signature is not Base64: %v", err)
	}
	msg := h.Get("Wechatpay-Timestamp") + "\n" + h.Get("Wechatpay-Nonce") + "\n" + string(a.body) + "\n"
	sum := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("answer signature does not verify with %s: %v", serial, err)
	}
	if got := h.Get("Wechatpay-Signature-Type"); got != "WECHATPAY2-SHA256-RSA2048" {
		t.Errorf("Wechatpay-Signature-Type = %q", got)
	}
	return serial
}

// pointsBody is a valid points sync of transaction id.
func pointsBody(id string) string {
	return `{"transaction_id":"` + id + `","appid":"` + appID + `","openid":"` + openID +
		`","earn_points":true,"increased_points":100,"points_update_time":"2025-05-19T12:00:00+08:00"}`
}

// pay makes openid an authorised member (unless member is false) and records
// a payment, returning its transaction id.
func pay(t testing.TB, s *sandbox.Sandbox, sub string, member bool) string {
	t.Helper()
	if member {
		if _, _, err := s.Authorize(sandbox.MemberRequest{SubMchID: sub, AppID: appID, OpenID: openID}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.Pay(sandbox.PaymentRequest{SubMchID: sub, AppID: appID, OpenID: openID, Amount: 8800})
	if err != nil {
		t.Fatal(err)
	}
	return p.TransactionID
}

// adminDo calls the admin API and decodes the JSON answer into out (if not nil).
func adminDo(t testing.TB, srv *sandbox.Server, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %q: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

func ptr[T any](v T) *T { return &v }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

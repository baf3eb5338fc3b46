package wxtest_test

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

// now is the fixed server clock of most tests.
var now = time.Unix(1795435200, 0)

// --- an independent mini signer and answer verifier, written from the protocol text ---

// signMessage returns base64(RSASSA-PKCS1-v1_5(SHA-256(msg))).
func signMessage(key *rsa.PrivateKey, msg string) string {
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// call describes one request to send; the zero fields are filled with valid values by send.
type call struct {
	method, target, body string
	header               http.Header // sent as is; Accept and User-Agent are preset
	mchid, serial, nonce string
	ts                   int64
	key                  *rsa.PrivateKey
	signTarget, signBody *string // what the signature covers, if not what is sent
	auth                 *string // Authorization header verbatim, if set ("" omits it)
}

func (c *call) fill(k *wxtest.Keys) {
	if c.method == "" {
		c.method = "POST"
	}
	if c.target == "" {
		c.target = "/v3/businesscircle/points/notify"
		if c.body == "" && c.method == "POST" {
			c.body = `{"transaction_id":"1217752501201407033233368018","earn_points":true}`
		}
	}
	if c.header == nil {
		c.header = http.Header{"Accept": {"application/json"}, "User-Agent": {"wxtest-test/1.0"}}
	}
	if c.mchid == "" {
		c.mchid = k.MchID
	}
	if c.serial == "" {
		c.serial = k.MerchantSerial
	}
	if c.nonce == "" {
		c.nonce = "593BEC0C930BF1AFEB40B4A08C8FB242"
	}
	if c.ts == 0 {
		c.ts = now.Unix()
	}
	if c.key == nil {
		c.key = k.MerchantKey
	}
}

func (c *call) authorization() string {
	if c.auth != nil {
		return *c.auth
	}
	target, body := c.target, c.body
	if c.signTarget != nil {
		target = *c.signTarget
	}
	if c.signBody != nil {
		body = *c.signBody
	}
	msg := fmt.Sprintf("%s\n%s\n%d\n%s\n%s\n", c.method, target, c.ts, c.nonce, body)
	return fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="%s",signature="%s",timestamp="%d",serial_no="%s"`,
		c.mchid, c.nonce, signMessage(c.key, msg), c.ts, c.serial)
}

func send(t *testing.T, srv *wxtest.Server, k *wxtest.Keys, c call) (*http.Response, []byte) {
	t.Helper()
	c.fill(k)
	req, err := http.NewRequest(c.method, srv.URL+c.target, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if got := req.URL.RequestURI(); got != c.target {
		t.Fatalf("request target would go out as %q, not %q", got, c.target)
	}
	req.Header = c.header.Clone()
	if a := c.authorization(); a != "" {
		req.Header.Set("Authorization", a)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// verifyAnswer checks a signed answer against the trusted keys, by Wechatpay-Serial.
func verifyAnswer(h http.Header, body []byte, trusted map[string]*rsa.PublicKey, now time.Time) error {
	for _, name := range []string{"Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial"} {
		if h.Get(name) == "" {
			return fmt.Errorf("missing %s", name)
		}
	}
	ts, err := strconv.ParseInt(h.Get("Wechatpay-Timestamp"), 10, 64)
	if err != nil {
		return err
	}
	if d := now.Unix() - ts; d > 300 || d < -300 {
		return fmt.Errorf("timestamp %d is %d s from now", ts, d)
	}
	pub := trusted[h.Get("Wechatpay-Serial")]
	if pub == nil {
		return fmt.Errorf("unknown serial %q", h.Get("Wechatpay-Serial"))
	}
	sig, err := base64.StdEncoding.DecodeString(h.Get("Wechatpay-Signature"))
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(h.Get("Wechatpay-Timestamp") + "\n" + h.Get("Wechatpay-Nonce") + "\n" + string(body) + "\n"))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
}

func trusted(k *wxtest.Keys) map[string]*rsa.PublicKey {
	return map[string]*rsa.PublicKey{k.PublicKeyID: &k.WechatPayKey.PublicKey, k.PlatformSerial: &k.PlatformKey.PublicKey}
}

func ptr(s string) *string { return &s }

// --- server pipeline ---

func TestServer(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	const (
		unsigned = iota
		byPublicKey
		byPlatform
	)
	tests := []struct {
		name       string
		opts       []wxtest.Option
		c          call
		wantStatus int
		wantCode   string
		wantErr    error
		wantSigner int
	}{
		{name: "valid request gets 204 signed with the public key", c: call{}, wantStatus: 204, wantSigner: byPublicKey},
		{name: "request Wechatpay-Serial selects the platform certificate",
			c:          call{header: http.Header{"Accept": {"*/*"}, "User-Agent": {"x"}, "Wechatpay-Serial": {k.PlatformSerial}}},
			wantStatus: 204, wantSigner: byPlatform},
		{name: "default mode signs when Wechatpay-Serial is absent",
			opts: []wxtest.Option{wxtest.WithDefaultMode(wxtest.PlatformCertMode)}, c: call{}, wantStatus: 204, wantSigner: byPlatform},
		{name: "request Wechatpay-Serial overrides the default mode",
			opts:       []wxtest.Option{wxtest.WithDefaultMode(wxtest.PlatformCertMode)},
			c:          call{header: http.Header{"Accept": {"*/*"}, "User-Agent": {"x"}, "Wechatpay-Serial": {k.PublicKeyID}}},
			wantStatus: 204, wantSigner: byPublicKey},
		{name: "body with a trailing newline is signed as sent", c: call{body: "{}\n"}, wantStatus: 204, wantSigner: byPublicKey},
		{name: "space after comma is tolerated",
			c: func() call {
				c := call{}
				c.fill(k)
				c.auth = ptr(strings.ReplaceAll(c.authorization(), `",`, `", `))
				return c
			}(), wantStatus: 204, wantSigner: byPublicKey},
		{name: "timestamp 300 s old is accepted", c: call{ts: now.Unix() - 300}, wantStatus: 204, wantSigner: byPublicKey},
		{name: "raw query and escaped path are verified as sent",
			c:          call{method: "GET", target: "/v3/businesscircle/user-authorizations/oUp%2DF8?appid=wx1&x=%E4%B8%AD+b"},
			wantStatus: 404, wantCode: "RESOURCE_NOT_EXISTS"},
		{name: "missing Accept is 400", c: call{header: http.Header{"User-Agent": {"x"}}},
			wantStatus: 400, wantCode: "INVALID_REQUEST"},
		{name: "missing User-Agent is 400", c: call{header: http.Header{"Accept": {"*/*"}, "User-Agent": {""}}}, // "" stops Go's default
			wantStatus: 400, wantCode: "INVALID_REQUEST"},
		{name: "missing Authorization is 401", c: call{auth: ptr("")},
			wantStatus: 401, wantCode: "SIGN_ERROR", wantErr: wxtest.ErrNoAuthorization},
		{name: "other scheme is 401", c: call{auth: ptr(`WECHATPAY2-SM2-WITH-SM3 mchid="1"`)},
			wantStatus: 401, wantCode: "SIGN_ERROR", wantErr: wxtest.ErrAuthScheme},
		{name: "duplicate pair is 401",
			c:          call{auth: ptr(`WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="1",nonce_str="n",signature="s",timestamp="1",serial_no="s"`)},
			wantStatus: 401, wantCode: "SIGN_ERROR", wantErr: wxtest.ErrAuthFormat},
		{name: "timestamp 301 s old is 401", c: call{ts: now.Unix() - 301},
			wantStatus: 401, wantCode: "SIGN_ERROR", wantErr: wxtest.ErrClockSkew},
		{name: "millisecond timestamp is 401", c: call{ts: now.UnixMilli()},
			wantStatus: 401, wantCode: "SIGN_ERROR", wantErr: wxtest.ErrClockSkew},
		{name: "serial of another certificate is 401", c: call{serial: k.PlatformSerial},
			wantStatus: 401, wantCode: "SIGN_ERROR", wantErr: wxtest.ErrMerchantSerial},
		{name: "another mchid is 401", c: call{mchid: "1230000109"},
			wantStatus: 401, wantCode: "SIGN_ERROR", wantErr: wxtest.ErrMchID},
		{name: "signature by another key is 401", c: call{key: k.PlatformKey},
			wantStatus: 401, wantCode: "SIGN_ERROR", wantErr: wxtest.ErrSignature},
		{name: "body changed after signing is 401", c: call{signBody: ptr(`{"earn_points":false}`)},
			wantStatus: 401, wantCode: "SIGN_ERROR", wantErr: wxtest.ErrSignature},
		{name: "re-encoded request target is 401",
			c:          call{method: "GET", target: "/v3/certificates?a=%2F", signTarget: ptr("/v3/certificates?a=/")},
			wantStatus: 401, wantCode: "SIGN_ERROR", wantErr: wxtest.ErrSignature},
		{name: "unknown route is 404", c: call{method: "DELETE", target: "/v3/businesscircle/parkings"},
			wantStatus: 404, wantCode: "RESOURCE_NOT_EXISTS"},
		{name: "errors may be signed on request",
			opts: []wxtest.Option{wxtest.WithSignedErrors()}, c: call{method: "GET", target: "/v3/nothing"},
			wantStatus: 404, wantCode: "RESOURCE_NOT_EXISTS", wantSigner: byPublicKey},
		{name: "401 is never signed", opts: []wxtest.Option{wxtest.WithSignedErrors()}, c: call{key: k.PlatformKey},
			wantStatus: 401, wantCode: "SIGN_ERROR", wantErr: wxtest.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := wxtest.NewServer(k, append([]wxtest.Option{wxtest.WithClock(func() time.Time { return now })}, tt.opts...)...)
			defer srv.Close()
			resp, body := send(t, srv, k, tt.c)

			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if resp.Header.Get("Request-ID") == "" {
				t.Error("no Request-ID")
			}
			var e struct{ Code, Message string }
			if tt.wantCode != "" {
				if err := json.Unmarshal(body, &e); err != nil || e.Code != tt.wantCode || e.Message == "" {
					t.Errorf("body %s, want code %s (%v)", body, tt.wantCode, err)
				}
			}
			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests recorded, want 1", len(reqs))
			}
			if err := reqs[0].AuthErr; !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("AuthErr = %v, want %v", err, tt.wantErr)
			}
			if got, want := reqs[0].RequestTarget, tt.c.target; want != "" && got != want {
				t.Errorf("RequestTarget = %q, want %q", got, want)
			}

			serial := resp.Header.Get("Wechatpay-Serial")
			switch tt.wantSigner {
			case unsigned:
				for name := range resp.Header {
					if strings.HasPrefix(name, "Wechatpay-") {
						t.Errorf("unsigned answer has %s", name)
					}
				}
			case byPublicKey, byPlatform:
				want := map[int]string{byPublicKey: k.PublicKeyID, byPlatform: k.PlatformSerial}[tt.wantSigner]
				if serial != want {
					t.Errorf("Wechatpay-Serial %q, want %q", serial, want)
				}
				if err := verifyAnswer(resp.Header, body, trusted(k), now); err != nil {
					t.Errorf("answer does not verify: %v", err)
				}
				if got := resp.Header.Get("Wechatpay-Signature-Type"); got != "WECHATPAY2-SHA256-RSA2048" {
					t.Errorf("Wechatpay-Signature-Type %q", got)
				}
				if n := resp.Header.Get("Wechatpay-Nonce"); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(n) {
					t.Errorf("Wechatpay-Nonce %q is not 32 lower-case hex", n)
				}
			}
		})
	}
}

func TestSignErrorExplainsTheMessage(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	srv := wxtest.NewServer(k, wxtest.WithClock(func() time.Time { return now }))
	defer srv.Close()
	_, body := send(t, srv, k, call{method: "GET", target: "/v3/certificates?algorithm_type=RSA", key: k.PlatformKey})
	var e struct {
		Code, Message string
		Detail        struct {
			SignInformation struct {
				URL                  string `json:"url"`
				TruncatedSignMessage string `json:"truncated_sign_message"`
			} `json:"sign_information"`
		}
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	want := "GET\n/v3/certificates?algorithm_type=RSA\n1795435200\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"
	if e.Message != "错误的签名，验签失败" || e.Detail.SignInformation.URL != "/v3/certificates?algorithm_type=RSA" ||
		e.Detail.SignInformation.TruncatedSignMessage != want {
		t.Errorf("body %s", body)
	}
	if got := srv.Requests()[0].SignedMessage; got != want {
		t.Errorf("SignedMessage %q, want %q", got, want)
	}
}

func TestHandle(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	srv := wxtest.NewServer(k)
	defer srv.Close()
	var got []byte
	srv.Handle("POST", "/v3/businesscircle/parkings", func(r *wxtest.Request) (int, []byte) {
		got = r.Body
		return 200, []byte(`{"plate_number":"粤B888888"}`)
	})
	body := `{"sub_mchid":"1900000109","plate_number":"粤B888888"}`
	c := call{method: "POST", target: "/v3/businesscircle/parkings", body: body, ts: time.Now().Unix()}
	resp, answer := send(t, srv, k, c)
	if resp.StatusCode != 200 || string(answer) != `{"plate_number":"粤B888888"}` || string(got) != body {
		t.Fatalf("status %d body %s, handler saw %s", resp.StatusCode, answer, got)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if err := verifyAnswer(resp.Header, answer, trusted(k), time.Now()); err != nil {
		t.Error(err)
	}
	send(t, srv, k, call{ts: time.Now().Unix()})
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[0].RequestTarget != c.target || reqs[1].RequestTarget != "/v3/businesscircle/points/notify" {
		t.Fatalf("requests %+v", reqs)
	}
	wantMsg := fmt.Sprintf("POST\n/v3/businesscircle/parkings\n%d\n593BEC0C930BF1AFEB40B4A08C8FB242\n%s\n", c.ts, body)
	if reqs[0].AuthErr != nil || reqs[0].SignedMessage != wantMsg || string(reqs[0].Body) != body {
		t.Errorf("recorded %+v", reqs[0])
	}
	reqs[0].Body[0] = 'X' // Requests returns copies
	if srv.Requests()[0].Body[0] != '{' {
		t.Error("Requests shares its body with the server")
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	tests := []struct {
		fault wxtest.Fault
		check func(h http.Header) error // extra check beyond "does not verify"
	}{
		{wxtest.FaultBadSignature, nil},
		{wxtest.FaultTamperedBody, nil},
		{wxtest.FaultUnknownSerial, func(h http.Header) error {
			if h.Get("Wechatpay-Serial") != wxtest.UnknownSerial {
				return errors.New("serial is not UnknownSerial")
			}
			return nil
		}},
		{wxtest.FaultStaleTimestamp, func(h http.Header) error {
			if h.Get("Wechatpay-Timestamp") != strconv.FormatInt(now.Unix()-600, 10) {
				return errors.New("timestamp is not 600 s old")
			}
			return nil
		}},
		{wxtest.FaultProbe, func(h http.Header) error {
			if !strings.HasPrefix(h.Get("Wechatpay-Signature"), "WECHATPAY/SIGNTEST/") {
				return errors.New("no probe prefix")
			}
			return nil
		}},
		{wxtest.FaultNoSignature, func(h http.Header) error {
			for name := range h {
				if strings.HasPrefix(name, "Wechatpay-") {
					return errors.New("has " + name)
				}
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			t.Parallel()
			srv := wxtest.NewServer(k, wxtest.WithFault(tt.fault), wxtest.WithClock(func() time.Time { return now }))
			defer srv.Close()
			srv.Handle("GET", "/v3/ping", func(*wxtest.Request) (int, []byte) { return 200, []byte(`{"ok":true}`) })
			for _, c := range []call{{}, {method: "GET", target: "/v3/ping"}, {method: "GET", target: "/v3/certificates"}} {
				resp, body := send(t, srv, k, c)
				if resp.StatusCode/100 != 2 {
					t.Fatalf("%s: status %d", c.target, resp.StatusCode)
				}
				if err := verifyAnswer(resp.Header, body, trusted(k), now); err == nil {
					t.Errorf("%s: answer verifies", c.target)
				}
				if tt.check != nil {
					if err := tt.check(resp.Header); err != nil {
						t.Errorf("%s: %v", c.target, err)
					}
				}
			}
			if tt.fault == wxtest.FaultStaleTimestamp { // correctly signed for its own time
				resp, body := send(t, srv, k, call{})
				if err := verifyAnswer(resp.Header, body, trusted(k), now.Add(-600*time.Second)); err != nil {
					t.Errorf("stale answer is not signed for its timestamp: %v", err)
				}
			}
			srv.SetFault(wxtest.NoFault)
			resp, body := send(t, srv, k, call{})
			if err := verifyAnswer(resp.Header, body, trusted(k), now); err != nil {
				t.Errorf("after SetFault(NoFault): %v", err)
			}
		})
	}
}

func TestCertificates(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	srv := wxtest.NewServer(k, wxtest.WithClock(func() time.Time { return now }))
	defer srv.Close()
	// Even when the client asks for public-key signing, this route signs with the platform key.
	c := call{method: "GET", target: "/v3/certificates?algorithm_type=RSA",
		header: http.Header{"Accept": {"application/json"}, "User-Agent": {"x"}, "Wechatpay-Serial": {k.PublicKeyID}}}
	resp, body := send(t, srv, k, c)
	if resp.StatusCode != 200 || resp.Header.Get("Wechatpay-Serial") != k.PlatformSerial {
		t.Fatalf("status %d serial %q", resp.StatusCode, resp.Header.Get("Wechatpay-Serial"))
	}
	if err := verifyAnswer(resp.Header, body, trusted(k), now); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Data []struct {
			SerialNo           string `json:"serial_no"`
			EffectiveTime      string `json:"effective_time"`
			ExpireTime         string `json:"expire_time"`
			EncryptCertificate struct {
				Algorithm      string `json:"algorithm"`
				Nonce          string `json:"nonce"`
				AssociatedData string `json:"associated_data"`
				Ciphertext     string `json:"ciphertext"`
			} `json:"encrypt_certificate"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil || len(out.Data) != 1 {
		t.Fatalf("body %s: %v", body, err)
	}
	d := out.Data[0]
	e := d.EncryptCertificate
	if d.SerialNo != k.PlatformSerial || e.Algorithm != "AEAD_AES_256_GCM" || e.AssociatedData != "certificate" ||
		!regexp.MustCompile(`^[0-9A-Za-z]{12}$`).MatchString(e.Nonce) {
		t.Errorf("entry %+v", d)
	}
	for _, ts := range []string{d.EffectiveTime, d.ExpireTime} {
		if _, err := time.Parse(time.RFC3339, ts); err != nil || !strings.HasSuffix(ts, "+08:00") {
			t.Errorf("time %q: %v", ts, err)
		}
	}
	ct, _ := base64.StdEncoding.DecodeString(e.Ciphertext)
	block, _ := aes.NewCipher([]byte(k.APIv3Key))
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, []byte(e.Nonce), ct, []byte(e.AssociatedData))
	if err != nil {
		t.Fatal(err)
	}
	if string(plain) != string(wxtest.EncodeCertPEM(k.PlatformCert)) {
		t.Errorf("decrypted %q", plain)
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	hex40 := regexp.MustCompile(`^[0-9A-F]{40}$`)
	for _, c := range []struct {
		serial string
		cert   *x509.Certificate
		key    *rsa.PrivateKey
	}{{k.MerchantSerial, k.MerchantCert, k.MerchantKey}, {k.PlatformSerial, k.PlatformCert, k.PlatformKey}} {
		if !hex40.MatchString(c.serial) || c.cert.SerialNumber.Text(16) != strings.ToLower(c.serial) {
			t.Errorf("serial %q, certificate %X", c.serial, c.cert.SerialNumber)
		}
		if !c.key.PublicKey.Equal(c.cert.PublicKey) || c.key.N.BitLen() != 2048 {
			t.Error("certificate does not hold its 2048-bit key")
		}
	}
	if k.MchID != "1900000109" || !regexp.MustCompile(`^PUB_KEY_ID_[0-9]{34}$`).MatchString(k.PublicKeyID) ||
		!regexp.MustCompile(`^[\x21-\x7e]{32}$`).MatchString(k.APIv3Key) {
		t.Errorf("keys %q %q %q", k.MchID, k.PublicKeyID, k.APIv3Key)
	}

	block, _ := pem.Decode(wxtest.EncodePrivateKeyPEM(k.MerchantKey))
	if priv, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil || !k.MerchantKey.Equal(priv) || block.Type != "PRIVATE KEY" {
		t.Errorf("private key PEM: %v", err)
	}
	block, _ = pem.Decode(wxtest.EncodePublicKeyPEM(&k.WechatPayKey.PublicKey))
	if pub, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil || !k.WechatPayKey.PublicKey.Equal(pub) || block.Type != "PUBLIC KEY" {
		t.Errorf("public key PEM: %v", err)
	}
	block, _ = pem.Decode(wxtest.EncodeCertPEM(k.PlatformCert))
	if cert, err := x509.ParseCertificate(block.Bytes); err != nil || !cert.Equal(k.PlatformCert) || block.Type != "CERTIFICATE" {
		t.Errorf("certificate PEM: %v", err)
	}
}

// --- VerifyAuthorization: known-answer vectors and rules ---

type vectorFile struct {
	Merchant struct {
		MchID    string `json:"mchid"`
		SerialNo string `json:"serial_no"`
	} `json:"merchant"`
	RequestSignatures []struct {
		Method        string `json:"method"`
		RequestTarget string `json:"request_target"`
		Timestamp     int64  `json:"timestamp"`
		Nonce         string `json:"nonce"`
		Body          string `json:"body"`
		Message       string `json:"message"`
		Signature     string `json:"signature"`
		Authorization string `json:"authorization"`
	} `json:"request_signatures"`
	AuthorizationParsing []struct {
		Header string `json:"header"`
		Valid  bool   `json:"valid"`
		Reason string `json:"reason"`
	} `json:"authorization_parsing"`
}

func loadVectors(t *testing.T) (v vectorFile, key *rsa.PrivateKey, cert *x509.Certificate) {
	t.Helper()
	const dir = "../../testdata/vectors/"
	read := func(name string) []byte {
		b, err := os.ReadFile(dir + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if err := json.Unmarshal(read("vectors.json"), &v); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(read("keys/test_merchant_key.pem"))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	block, _ = pem.Decode(read("keys/test_merchant_cert.pem"))
	if cert, err = x509.ParseCertificate(block.Bytes); err != nil {
		t.Fatal(err)
	}
	return v, k.(*rsa.PrivateKey), cert
}

func TestRequestSignatureVectors(t *testing.T) {
	t.Parallel()
	v, key, cert := loadVectors(t)
	for i, tt := range v.RequestSignatures {
		t.Run(fmt.Sprintf("%d_%s", i, tt.Method), func(t *testing.T) {
			t.Parallel()
			// The mini signer of these tests reproduces the vector byte for byte...
			msg := fmt.Sprintf("%s\n%s\n%d\n%s\n%s\n", tt.Method, tt.RequestTarget, tt.Timestamp, tt.Nonce, tt.Body)
			if msg != tt.Message {
				t.Errorf("message %q, want %q", msg, tt.Message)
			}
			if sig := signMessage(key, msg); sig != tt.Signature {
				t.Errorf("signature %s, want %s", sig, tt.Signature)
			}
			// ...and the independent verifier accepts the vector's header.
			mchid, serial, err := wxtest.VerifyAuthorization(cert.PublicKey.(*rsa.PublicKey), tt.Method, tt.RequestTarget,
				tt.Authorization, []byte(tt.Body), time.Unix(tt.Timestamp, 0))
			if err != nil || mchid != v.Merchant.MchID || serial != v.Merchant.SerialNo {
				t.Errorf("VerifyAuthorization = %q, %q, %v", mchid, serial, err)
			}
			if _, _, err := wxtest.VerifyAuthorization(cert.PublicKey.(*rsa.PublicKey), tt.Method, tt.RequestTarget+"&x=1",
				tt.Authorization, []byte(tt.Body), time.Unix(tt.Timestamp, 0)); !errors.Is(err, wxtest.ErrSignature) {
				t.Errorf("another target: err = %v, want ErrSignature", err)
			}
		})
	}
}

func TestAuthorizationParsingVectors(t *testing.T) {
	t.Parallel()
	v, _, cert := loadVectors(t)
	req := v.RequestSignatures[0] // the request the parsing vectors were signed for
	reasons := map[string]error{
		"scheme":                   wxtest.ErrAuthScheme,
		"missing serial_no":        wxtest.ErrAuthFormat,
		"signature does not match": wxtest.ErrSignature,
	}
	for i, tt := range v.AuthorizationParsing {
		name := tt.Reason
		if tt.Valid {
			name = "valid"
		}
		t.Run(fmt.Sprintf("%d_%s", i, name), func(t *testing.T) {
			t.Parallel()
			_, _, err := wxtest.VerifyAuthorization(cert.PublicKey.(*rsa.PublicKey), req.Method, req.RequestTarget,
				tt.Header, []byte(req.Body), time.Unix(req.Timestamp, 0))
			switch want := reasons[tt.Reason]; {
			case tt.Valid && err != nil:
				t.Errorf("rejected: %v", err)
			case !tt.Valid && err == nil:
				t.Errorf("accepted, want rejection for %s", tt.Reason)
			case want != nil && !errors.Is(err, want):
				t.Errorf("err = %v, want %v", err, want)
			}
		})
	}
}

func TestVerifyAuthorizationRules(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	c := call{method: "GET", target: "/v3/certificates"}
	c.fill(k)
	good := c.authorization()
	sig := good[strings.Index(good, `signature="`)+11:]
	sig = sig[:strings.IndexByte(sig, '"')]
	pairs := fmt.Sprintf(`mchid="%s",nonce_str="%s",signature="%s",timestamp="%d",serial_no="%s"`, k.MchID, c.nonce, sig, c.ts, k.MerchantSerial)
	tests := []struct {
		name   string
		header string
		now    time.Time
		want   error
	}{
		{"canonical header", good, now, nil},
		{"space after each comma", "WECHATPAY2-SHA256-RSA2048 " + strings.ReplaceAll(pairs, `",`, `", `), now, nil},
		{"299 s in the future", good, now.Add(-299 * time.Second), nil},
		{"301 s in the past", good, now.Add(301 * time.Second), wxtest.ErrClockSkew},
		{"301 s in the future", good, now.Add(-301 * time.Second), wxtest.ErrClockSkew},
		{"empty header", "", now, wxtest.ErrNoAuthorization},
		{"scheme in lower case", "wechatpay2-sha256-rsa2048 " + pairs, now, wxtest.ErrAuthScheme},
		{"two spaces after the scheme", "WECHATPAY2-SHA256-RSA2048  " + pairs, now, wxtest.ErrAuthFormat},
		{"duplicate nonce", good + `,nonce_str="x"`, now, wxtest.ErrAuthFormat},
		{"unknown key", good + `,foo="x"`, now, wxtest.ErrAuthFormat},
		{"trailing comma", good + ",", now, wxtest.ErrAuthFormat},
		{"unquoted value", strings.Replace(good, `mchid="`+k.MchID+`"`, "mchid="+k.MchID, 1), now, wxtest.ErrAuthFormat},
		{"empty nonce", strings.Replace(good, `nonce_str="`+c.nonce+`"`, `nonce_str=""`, 1), now, wxtest.ErrAuthFormat},
		{"signed timestamp", strings.Replace(good, fmt.Sprintf(`"%d"`, c.ts), fmt.Sprintf(`"+%d"`, c.ts), 1), now, wxtest.ErrAuthFormat},
		{"signature not base64", strings.Replace(good, sig, "not base64!", 1), now, wxtest.ErrSignature},
		{"other nonce than signed", strings.Replace(good, c.nonce, "0"+c.nonce[1:], 1), now, wxtest.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := wxtest.VerifyAuthorization(&k.MerchantKey.PublicKey, c.method, c.target, tt.header, nil, tt.now)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzVerifyAuthorization(f *testing.F) {
	f.Add(`WECHATPAY2-SHA256-RSA2048 mchid="1900000109",nonce_str="n",signature="c2ln",timestamp="1795435200",serial_no="AB"`)
	f.Add(`WECHATPAY2-SHA256-RSA2048 mchid="1", nonce_str="n",mchid="`)
	f.Add(`WECHATPAY2-SHA256-RSA2048 timestamp="99999999999999999999"`)
	k := wxtest.SharedKeys()
	f.Fuzz(func(t *testing.T, header string) {
		mchid, serial, err := wxtest.VerifyAuthorization(&k.MerchantKey.PublicKey, "GET", "/", header, nil, now)
		if err == nil {
			t.Fatalf("forged header accepted: %q (%s, %s)", header, mchid, serial)
		}
	})
}

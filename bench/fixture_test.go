package bench

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// notifyPath is the points sync (商圈积分同步) every client calls.
const notifyPath = "/v3/businesscircle/points/notify"

// pointsBody is the seed's points sync. Every client sends it: wxpay and the
// floor as bytes encoded once, the peers as a map they encode on each call.
var pointsBody = map[string]any{
	"sub_mchid":          "1234567890",
	"transaction_id":     "1217752501201407033233368018",
	"appid":              "wx1234567890abcdef",
	"openid":             "oWmnN4xxxxxxxxxxe92NHIGf1xd8",
	"earn_points":        true,
	"increased_points":   100,
	"points_update_time": "2020-05-20T13:29:35.120+08:00",
	"no_points_remarks":  "商品不参与积分活动",
	"total_points":       888888,
}

// fixture is what every benchmark in the binary shares: one key set and one
// static server, made on first use.
type fixture struct {
	keys    *sandbox.Keys
	privPEM []byte // the merchant key, PKCS#8, for gopay
	pubPEM  []byte // the WeChat Pay public key, SPKI, for gopay
	body    []byte // pointsBody as JSON (keys sorted, as every client here sends it)
	srv     *staticServer
}

var (
	fixtureOnce sync.Once
	shared      *fixture
	sharedErr   error
)

// sharedFixture returns the binary's fixture; TestMain closes its server.
func sharedFixture(tb testing.TB) *fixture {
	tb.Helper()
	fixtureOnce.Do(func() { shared, sharedErr = newFixture() })
	if sharedErr != nil {
		tb.Fatal(sharedErr)
	}
	return shared
}

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		// A configuration line: benchstat can split results by it (-col crypto).
		fmt.Printf("crypto: %s\n", cryptoBackend)
	}
	code := m.Run()
	if shared != nil {
		shared.srv.Close()
	}
	os.Exit(code)
}

func newFixture() (*fixture, error) {
	k, err := sandbox.GenerateKeys()
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.MerchantKey)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&k.WechatPayKey.PublicKey)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(pointsBody)
	if err != nil {
		return nil, err
	}
	return &fixture{
		keys:    k,
		privPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		pubPEM:  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}),
		body:    body,
		srv:     newStaticServer(k, nil),
	}, nil
}

// answerNonce is the Wechatpay-Nonce of every answer.
const answerNonce = "d824f2e086d3c1df967785d13fcd22ef"

// signedAnswer returns the headers of an answer with body signed in
// public-key mode, as WeChat Pay signs it: Base64 of RSASSA-PKCS1-v1_5
// SHA-256 over "timestamp\nnonce\nbody\n", under the PUB_KEY_ID_ id.
func signedAnswer(k *sandbox.Keys, ts int64, body []byte) http.Header {
	msg := strconv.FormatInt(ts, 10) + "\n" + answerNonce + "\n" + string(body) + "\n"
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.WechatPayKey, crypto.SHA256, sum[:])
	if err != nil {
		panic(err) // only for a broken key, which GenerateKeys never makes
	}
	h := http.Header{}
	h.Set("Request-ID", "08F5B8C2B506102C18FDDFEEA30620BE821E28EDC405-0")
	h.Set("Wechatpay-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("Wechatpay-Nonce", answerNonce)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("Wechatpay-Serial", k.PublicKeyID)
	h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
	return h
}

// staticServer answers every request with one 204 signed ahead of time, so
// the server costs the same whichever client calls it.
type staticServer struct {
	*httptest.Server
	keys   *sandbox.Keys
	answer atomic.Pointer[answer]
}

type answer struct {
	header http.Header
	signed time.Time
}

// newStaticServer starts the server. check, when not nil, sees each request
// and its body first and turns the answer into a 400 if it returns an error;
// the correctness tests use it, the benchmarks do not.
func newStaticServer(k *sandbox.Keys, check func(*http.Request, []byte) error) *staticServer {
	s := &staticServer{keys: k}
	s.sign()
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil && check != nil {
			err = check(r, body)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for k, v := range s.answer.Load().header {
			w.Header()[k] = v
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	return s
}

func (s *staticServer) sign() {
	now := time.Now()
	s.answer.Store(&answer{header: signedAnswer(s.keys, now.Unix(), nil), signed: now})
}

// freshen signs the answer again if it is four minutes old, so a long run
// stays inside the five minutes of clock skew the clients allow. It is
// called before a benchmark starts timing, never inside the loop; a run of
// the README's command takes about 90 seconds and never triggers it.
func (s *staticServer) freshen() {
	if time.Since(s.answer.Load().signed) > 4*time.Minute {
		s.sign()
	}
}

// current returns the answer's headers now being sent.
func (s *staticServer) current() http.Header { return s.answer.Load().header }

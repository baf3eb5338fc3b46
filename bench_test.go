package wxpay

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/internal/wxauth"
	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

// The cost of a call is one RSA-2048 signature plus one verification. These
// benchmarks compare a full points sync over loopback with a floor made of
// exactly that work done bare plus a plain net/http round trip to the same
// server:
//
//	go test -run='^$' -bench=PointsSync -count=10 . > bench.txt
//	benchstat -col /impl bench.txt
//
// On a noisy machine the interleaved benchmark's wxpay/floor metric is the
// steadier figure.

var benchBody, _ = json.Marshal(pointsBody)

// staticServer answers every request with one pre-signed 204, so the server
// costs the same for the SDK call and for the floor.
func staticServer(b *testing.B) *httptest.Server {
	k := wxtest.SharedKeys()
	h := wxtest.SignResponse(k.WechatPayKey, k.PublicKeyID, time.Now().Unix(), "d824f2e086d3c1df967785d13fcd22ef", nil)
	h.Set("Request-ID", "08F5B8C2B506102C18FDDFEEA30620BE821E28EDC405-0")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	return srv
}

func BenchmarkSign(b *testing.B) {
	k := wxtest.SharedKeys()
	s := Signer{MchID: k.MchID, Serial: k.MerchantSerial, Key: k.MerchantKey}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Authorization("POST", "/v3/businesscircle/points/notify", benchBody, 1795435200, "593BEC0C930BF1AFEB40B4A08C8FB242"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	k := wxtest.SharedKeys()
	ring := NewKeyRing()
	ring.AddPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey)
	v := &Verifier{Keys: ring}
	body := []byte(`{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o","authorize_state":"AUTHORIZED","authorize_time":"2020-05-20T13:29:35+08:00"}`)
	h := wxtest.SignResponse(k.WechatPayKey, k.PublicKeyID, time.Now().Unix(), "d824f2e086d3c1df967785d13fcd22ef", body)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(h, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPointsSync(b *testing.B) {
	srv := staticServer(b)
	// Warm both paths (connections, pools, CPU) so the first one measured is not penalised.
	for _, impl := range []string{"floor", "wxpay"} {
		b.Run("impl="+impl, func(b *testing.B) {
			op := callOp(b, srv)
			if impl == "floor" {
				op = floorOp(b, srv)
			}
			op() // warm the connection and pools
			b.ReportAllocs()
			for b.Loop() {
				op()
			}
		})
	}
}

// callOp returns one full points sync: build, sign, send, read, verify.
func callOp(b *testing.B, srv *httptest.Server) func() {
	k := wxtest.SharedKeys()
	c, err := NewClient(WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey),
		WithWechatPayPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey), WithBaseURL(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	ch, ctx := c.Chain("v3/businesscircle/points/notify"), context.Background()
	return func() {
		resp, err := ch.Post(ctx, RawJSON(benchBody))
		if err != nil || resp.StatusCode != 204 {
			b.Fatal(resp, err)
		}
	}
}

// floorOp returns the least any verifying client must do per call: one bare
// RSA-2048 signature, one bare verification and one plain net/http POST.
func floorOp(b *testing.B, srv *httptest.Server) func() {
	k := wxtest.SharedKeys()
	hc := &http.Client{Timeout: 30 * time.Second} // the same timeout as the client's default
	msg := wxauth.RequestMessage("POST", "/v3/businesscircle/points/notify", 1795435200, "593BEC0C930BF1AFEB40B4A08C8FB242", benchBody)
	ans := wxtest.SignResponse(k.WechatPayKey, k.PublicKeyID, time.Now().Unix(), "d824f2e086d3c1df967785d13fcd22ef", nil)
	ansMsg := []byte(ans.Get("Wechatpay-Timestamp") + "\nd824f2e086d3c1df967785d13fcd22ef\n\n")
	sig := decodeForBench(b, ans.Get("Wechatpay-Signature"))
	return func() {
		sum := sha256.Sum256(msg)
		if _, err := rsa.SignPKCS1v15(nil, k.MerchantKey, crypto.SHA256, sum[:]); err != nil {
			b.Fatal(err)
		}
		resp, err := hc.Post(srv.URL+"/v3/businesscircle/points/notify", "application/json", bytes.NewReader(benchBody))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		sum = sha256.Sum256(ansMsg)
		if err := rsa.VerifyPKCS1v15(&k.WechatPayKey.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPointsSyncInterleaved alternates the floor and the full call in
// one loop, so machine noise and drift hit both alike, and reports each
// one's time per call and their ratio.
func BenchmarkPointsSyncInterleaved(b *testing.B) {
	srv := staticServer(b)
	call, floor := callOp(b, srv), floorOp(b, srv)
	call()
	floor()
	var tCall, tFloor time.Duration
	for b.Loop() {
		t0 := time.Now()
		floor()
		t1 := time.Now()
		call()
		t2 := time.Now()
		tFloor += t1.Sub(t0)
		tCall += t2.Sub(t1)
	}
	b.ReportMetric(float64(tFloor.Nanoseconds())/float64(b.N), "floor-ns/call")
	b.ReportMetric(float64(tCall.Nanoseconds())/float64(b.N), "wxpay-ns/call")
	b.ReportMetric(float64(tCall)/float64(tFloor), "wxpay/floor")
}

func decodeForBench(b *testing.B, s string) []byte {
	var sig wxauth.RawSignature
	if !wxauth.DecodeSignature(s, &sig) {
		b.Fatal("bad signature")
	}
	return sig.Bytes()
}

// BenchmarkClientOverhead is the SDK's own work per call, without RSA and
// without sockets: build the request, hash the message, write the
// Authorization header, go through net/http's Client (not its Transport),
// read the answer. The key returns a signature made ahead of time, the
// transport answers a 204 in memory and the answer is not verified (its
// RSA is what BenchmarkVerify times).
func BenchmarkClientOverhead(b *testing.B) {
	k := wxtest.SharedKeys()
	sum := sha256.Sum256(benchBody)
	sig, err := rsa.SignPKCS1v15(nil, k.MerchantKey, crypto.SHA256, sum[:])
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewClient(WithMerchantSigner(k.MchID, k.MerchantSerial, presigned{k.MerchantKey, sig}),
		WithWechatPayPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey),
		WithBaseURL("http://127.0.0.1:1"),
		WithHTTPClient(&http.Client{Transport: answer204{}}),
		WithInsecureSkipResponseVerification())
	if err != nil {
		b.Fatal(err)
	}
	ch, ctx := c.Chain("v3/businesscircle/points/notify"), context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ch.Post(ctx, RawJSON(benchBody)); err != nil {
			b.Fatal(err)
		}
	}
}

// presigned is a merchant key that returns one signature made ahead of time.
type presigned struct {
	*rsa.PrivateKey
	sig []byte
}

func (p presigned) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { return p.sig, nil }

// answer204 answers every request with an empty 204, as net/http's
// transport returns one (no body: http.NoBody).
type answer204 struct{}

func (answer204) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusNoContent, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/sandbox"

	"github.com/seed2ac2593f/wxpay/mallpoints/testkit"
)

// writeTLSPair writes a self-signed certificate for 127.0.0.1 and its key.
func writeTLSPair(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mallpointsd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestWithPlatformCertificatesAndTLSThePaymentLoopRunsOverHTTPS runs the
// service with credentials in platform-certificate mode (the certificate
// refresher downloads them at start) and --tls-cert/--tls-key, against a
// sandbox that notifies over https and trusts only the test certificate.
func TestWithPlatformCertificatesAndTLSThePaymentLoopRunsOverHTTPS(t *testing.T) {
	t.Parallel()
	keys, err := sandbox.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kd := filepath.Join(dir, "keys")
	if err := keys.WriteDir(kd); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, pool := writeTLSPair(t, dir)
	pubAddr := freeAddr(t)

	cfg := keys.Config()
	cfg.PublicKey = nil // platform-certificate mode only
	cfg.Merchants[0].NotifyURL = "https://" + pubAddr + "/wechatpay/notify"
	cfg.NotifyRetrySchedule = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
		time.Second, time.Second, 2 * time.Second, 2 * time.Second, 5 * time.Second}
	cfg.NotifyClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	sbHTTP := httptest.NewServer(sb)
	defer sbHTTP.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var out, logs testkit.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"--listen", pubAddr, "--admin-listen", "127.0.0.1:0",
			"--db", filepath.Join(dir, "mallpoints.db"), "--tls-cert", certFile, "--tls-key", keyFile,
			"--base-url", sbHTTP.URL, "--mchid", keys.MchID,
			"--private-key", filepath.Join(kd, sandbox.FileMerchantKey), "--merchant-cert", filepath.Join(kd, sandbox.FileMerchantCert),
			"--platform-cert", filepath.Join(kd, sandbox.FilePlatformCert), "--apiv3-key", keys.APIv3Key},
			func(string) string { return "" }, nil, &out, &logs)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d:\n%s", code, logs.String())
		}
	}()
	admin := printed(t, &out, &logs, regexp.MustCompile(`admin API at (http://[^ ]+)/api/`))[1]

	// Plain http on the public listener gets nowhere; https does.
	if resp, err := http.Get("http://" + pubAddr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain http on the TLS listener: %s, want 400", resp.Status)
		}
	}
	httpsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := httpsClient.Get("https://" + pubAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("https /healthz: %s", resp.Status)
	}

	// A flood of failed handshakes is logged as a burst and counted past it.
	for range 40 {
		conn, err := net.Dial("tcp", pubAddr)
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
	droppedRE := regexp.MustCompile(`mallpoints_log_records_dropped_total\{message="http: TLS handshake error"\} (\d+)`)
	// The metric is read from another goroutine's count, which sends no signal: poll it.
	for deadline := time.Now().Add(time.Minute); ; {
		resp, err := http.Get(admin + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if droppedRE.Match(body) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dropped handshake errors counted:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), `msg="http: TLS handshake error"`); n > 20 || n == 0 {
		t.Errorf("%d handshake errors logged; want the burst, at most 20", n)
	}

	if _, _, err := sb.Authorize(sandbox.MemberRequest{AppID: demoAppID, OpenID: "oTLS0001"}); err != nil {
		t.Fatal(err)
	}
	paid, err := sb.Pay(sandbox.PaymentRequest{AppID: demoAppID, OpenID: "oTLS0001", Amount: 25600})
	if err != nil {
		t.Fatal(err)
	}
	printed(t, &logs, &out, syncedLine)
	var got struct {
		Transaction struct {
			Points int64
			Sync   struct{ State string }
		}
	}
	resp, err = http.Get(admin + "/api/transactions/" + keys.MchID + "/" + paid.TransactionID)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if got.Transaction.Sync.State != "synced" || got.Transaction.Points != 256 {
		t.Errorf("after its sync was logged the payment is %+v, want synced with 256 points", got.Transaction)
	}
	if p, _ := sb.Points(paid.TransactionID); p.SyncCount != 1 {
		t.Errorf("sandbox sync count %d, want 1", p.SyncCount)
	}

	// Each certificate's time left, and the public listener's answers.
	resp, err = http.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`mallpoints_certificate_expiry_seconds\{kind="tls",merchant="",serial="[0-9a-f]+"\} \d`),
		regexp.MustCompile(`mallpoints_certificate_expiry_seconds\{kind="merchant",merchant="` + keys.MchID + `",serial="` + keys.MerchantSerial + `"\} \d`),
		regexp.MustCompile(`mallpoints_certificate_expiry_seconds\{kind="platform",merchant="` + keys.MchID + `",serial="` + wxpay.CertificateSerial(keys.PlatformCert) + `"\} \d`),
		regexp.MustCompile(`mallpoints_public_responses_total\{code="200",route="GET /healthz"\} 1\n`),
		regexp.MustCompile(`mallpoints_public_responses_total\{code="204",route="POST /wechatpay/notify"\} [1-9]`),
	} {
		if !want.Match(body) {
			t.Errorf("/metrics has no line matching %s", want)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// syncBuffer is a bytes.Buffer safe to read while the sandbox writes logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startSandbox runs `wxpay sandbox args…` until the test ends and returns
// its base URL and its stderr.
func startSandbox(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	stderr := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	c := &cli{stdin: strings.NewReader(""), stdout: &syncBuffer{}, stderr: stderr, getenv: func(string) string { return "" }, newKeys: demoKeys}
	exit := make(chan int, 1)
	go func() { exit <- c.run(ctx, append([]string{"sandbox", "--listen", "127.0.0.1:0"}, args...)) }()
	t.Cleanup(func() {
		cancel()
		if code := <-exit; code != 0 {
			t.Errorf("wxpay sandbox exited %d:\n%s", code, stderr)
		}
	})
	re := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+/)`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			return m[1], stderr
		}
		select {
		case code := <-exit:
			t.Fatalf("wxpay sandbox exited %d:\n%s", code, stderr)
		default:
		}
	}
	t.Fatalf("wxpay sandbox did not start:\n%s", stderr)
	return "", nil
}

// waitForOutput waits until the command has written want to stderr (it
// prints its instructions after the "listening on" line that startSandbox
// waits for) and returns everything written so far.
func waitForOutput(t *testing.T, stderr *syncBuffer, want string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if out := stderr.String(); strings.Contains(out, want) {
			return out
		}
	}
	t.Fatalf("wxpay sandbox never printed %q:\n%s", want, stderr)
	return ""
}

func TestSandboxMakesKeysAndPrintsAWorkingCallLine(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	base, stderr := startSandbox(t, "--keys-dir", dir)
	out := waitForOutput(t, stderr, "sandbox/transactions") // the last line of the instructions
	if !strings.Contains(out, "made new keys in "+dir) || !strings.Contains(out, "wxpay call GET") {
		t.Fatalf("stderr lacks the keys and the call line:\n%s", out)
	}
	// Follow the printed instructions: its environment and its call line.
	callWithPrintedEnv(t, out, base)
	// And the one-line form, taken word for word from the output.
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "wxpay call GET") && strings.Contains(l, "--base-url") {
			line = strings.TrimSpace(l)
		}
	}
	words := strings.Fields(strings.ReplaceAll(line, "'", ""))
	if len(words) < 3 || words[0] != "wxpay" {
		t.Fatalf("no one-line call in the output:\n%s", out)
	}
	if r := wxpayCLI(t, "", nil, words[1:]...); r.code != 0 || !strings.Contains(r.stdout, `"UNAUTHORIZED"`) {
		t.Fatalf("the printed one-line call: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	// The admin API takes only JSON, so every printed curl line must say so.
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "curl ") && strings.Contains(l, " -d ") && !strings.Contains(l, "-H 'Content-Type: application/json'") {
			t.Errorf("printed curl line sends no JSON content type: %s", l)
		}
	}
	if !strings.Contains(stderr.String(), "/v3/businesscircle/user-authorizations/") {
		t.Errorf("the sandbox did not log the request:\n%s", stderr)
	}
}

func TestSandboxWithGivenKeysAndNotifications(t *testing.T) {
	t.Parallel()
	k, dir := demoKeysDir(t)
	got := make(chan string, 4)
	recv := newReceiver(t, got)
	p := func(name string) string { return filepath.Join(dir, name) }
	base, _ := startSandbox(t, "--mchid", k.MchID, "--merchant-cert", p(sandbox.FileMerchantCert), "--apiv3-key", k.APIv3Key,
		"--wechatpay-private-key", p(sandbox.FileWechatPayKey), "--wechatpay-public-key-id", k.PublicKeyID,
		"--platform-key", p(sandbox.FilePlatformKey), "--platform-cert", p(sandbox.FilePlatformCert),
		"--notify-url", recv, "--notify-retry-schedule", "10ms,10ms")
	resp, err := httpPost(base+"sandbox/authorizations", `{"appid":"wx1","openid":"o1"}`)
	if err != nil || resp != 201 {
		t.Fatalf("POST /sandbox/authorizations: %d, %v", resp, err)
	}
	select {
	case body := <-got:
		if !strings.Contains(body, `"event_type":"MALL_AUTH.ACTIVATE_CARD"`) {
			t.Fatalf("notification %s", body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
	}
	// Platform-certificate mode works through the same sandbox: download, then call.
	out := t.TempDir()
	r := wxpayCLI(t, "", map[string]string{"WXPAY_APIV3_KEY": k.APIv3Key}, "certificates", "download", "--out", out,
		"--base-url", base, "--mchid", k.MchID, "--private-key", p(sandbox.FileMerchantKey), "--merchant-cert", p(sandbox.FileMerchantCert))
	var list []map[string]string
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &list) != nil || len(list) != 1 || list[0]["serial_no"] != k.PlatformSerial {
		t.Fatalf("certificates download: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestSandboxUsageErrors(t *testing.T) {
	t.Parallel()
	// No case may get as far as making keys: they would land in the working directory.
	noKeys := filepath.Join(t.TempDir(), "must-stay-empty")
	defer func() {
		if _, err := os.Stat(noKeys); err == nil {
			t.Error("a usage error made keys")
		}
	}()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--mchid", "1"}, "give the merchant"},
		{[]string{"--wechatpay-private-key", "x"}, "give the merchant"},
		{[]string{"--apiv3-key", "0123456789abcdef0123456789abcdef"}, "needs the keys it goes with"},
		{[]string{"--notify-retry-schedule", "1s,x"}, "--notify-retry-schedule"},
		{[]string{"--notify-public-key-share", "1.5"}, "--notify-public-key-share 1.5 is not between 0 and 1"},
		{[]string{"--config", "/nonexistent.json"}, "--config /nonexistent.json"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		r := wxpayCLI(t, "", nil, append([]string{"sandbox", "--listen", "127.0.0.1:0", "--keys-dir", noKeys}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// newReceiver starts a notification receiver that answers 204 and passes each
// body on.
func newReceiver(t *testing.T, got chan<- string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func httpPost(url, body string) (int, error) {
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestSandboxConfigFileWithSeveralMerchants(t *testing.T) {
	t.Parallel()
	k, dir := demoKeysDir(t)
	// The same merchant key serves two merchants here: a mall, and a service provider for mall 1900000200.
	cfg := fmt.Sprintf(`{
  "wechatpay-private-key": %q, "wechatpay-public-key-id": %q,
  "merchants": [
    {"mchid": %q, "merchant-cert": %q, "apiv3-key": %q},
    {"mchid": "1900000100", "merchant-public-key": %q, "merchant-serial": %q, "apiv3-key": %q,
     "sub-mchids": ["1900000200"], "brands": {"1000": ["wx1"]}}
  ]
}`, sandbox.FileWechatPayKey, k.PublicKeyID, k.MchID, sandbox.FileMerchantCert, k.APIv3Key,
		sandbox.FilePublicKey+"-merchant", k.MerchantSerial, k.APIv3Key)
	// The provider verifies with the merchant key's public half, written beside the config.
	if err := os.WriteFile(filepath.Join(dir, sandbox.FilePublicKey+"-merchant"), encodePublicKey(t, k), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "sandbox.json")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	base, _ := startSandbox(t, "--config", path)
	flags := func(mchid string) []string {
		return []string{"--base-url", base, "--mchid", mchid, "--private-key", filepath.Join(dir, sandbox.FileMerchantKey),
			"--merchant-cert", filepath.Join(dir, sandbox.FileMerchantCert),
			"--wechatpay-public-key", filepath.Join(dir, sandbox.FilePublicKey), "--wechatpay-public-key-id", k.PublicKeyID}
	}
	r := wxpayCLI(t, "", nil, append([]string{"call", "GET", "v3/businesscircle/user-authorizations/o1", "--query", "appid=wx1"}, flags(k.MchID)...)...)
	if r.code != 0 {
		t.Fatalf("the mall: exit %d, %s", r.code, r.stderr)
	}
	r = wxpayCLI(t, "", nil, append([]string{"call", "GET", "v3/businesscircle/users/o1/points/commit_status",
		"--query", "sub_mchid=1900000200", "--query", "brandid=1000", "--query", "appid=wx1"}, flags("1900000100")...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "FINISHED") {
		t.Fatalf("the provider for its mall: exit %d, %s %s", r.code, r.stdout, r.stderr)
	}
	r = wxpayCLI(t, "", nil, append([]string{"call", "GET", "v3/businesscircle/users/o1/points/commit_status",
		"--query", "sub_mchid=1900000200", "--query", "brandid=1000", "--query", "appid=wx2"}, flags("1900000100")...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "PARAM_ERROR") {
		t.Fatalf("an appid not bound to the brand: exit %d, %s", r.code, r.stderr)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"merchants":[{"mchid":"1","password":"x"}]}`), 0o600)
	if r := wxpayCLI(t, "", nil, "sandbox", "--listen", "127.0.0.1:0", "--config", bad); r.code != 2 || !strings.Contains(r.stderr, `unknown field "password"`) {
		t.Errorf("unknown key: exit %d, %s", r.code, r.stderr)
	}
}

func encodePublicKey(t *testing.T, k *sandbox.Keys) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.MerchantKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// `wxpay sandbox` cuts off a client that sends its body at a trickle or
// keeps a connection idle, instead of holding the connection for minutes.
func TestSandboxServerCutsOffSlowAndIdleClients(t *testing.T) {
	t.Parallel()
	if serveTimeouts.read <= 0 || serveTimeouts.write <= time.Minute || serveTimeouts.idle <= 0 || serveTimeouts.readHeader <= 0 {
		t.Fatalf("serveTimeouts = %+v: want every one set, write above the longest injected latency", serveTimeouts)
	}
	short := httpTimeouts{readHeader: 200 * time.Millisecond, read: 200 * time.Millisecond, write: time.Second, idle: 200 * time.Millisecond}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}), short)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	for _, tt := range []struct{ name, send string }{
		{"a body that never finishes", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"},
		{"an idle keep-alive", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
	} {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, tt.send)
		// The deadline only keeps a broken server from hanging the test.
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Errorf("%s: the server kept the connection: %v", tt.name, err)
		}
	}
}

// A sandbox listening beyond loopback warns that its admin API is open, and
// prints a base URL clients can use: loopback for a wildcard address (the
// SDK takes http only on loopback; http://[::]:P/ reaches nothing).
func TestSandboxConnectBase(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		addr, base string
		warns      bool
	}{
		{"127.0.0.1:8090", "http://127.0.0.1:8090/", false},
		{"[::1]:8090", "http://[::1]:8090/", false},
		{"0.0.0.0:8090", "http://127.0.0.1:8090/", true},
		{"[::]:8090", "http://127.0.0.1:8090/", true},
		{"192.168.1.5:8090", "http://192.168.1.5:8090/", true},
	} {
		a, err := net.ResolveTCPAddr("tcp", tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		base, warning := connectBase(a)
		if base != tt.base || (warning != "") != tt.warns || (tt.warns && !strings.Contains(warning, "no authentication")) {
			t.Errorf("%s: %q, warning %q; want %q, warning %v", tt.addr, base, warning, tt.base, tt.warns)
		}
	}
}

func TestSandboxOnEveryInterfaceWarnsAndPrintsAWorkingAddress(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	base, stderr := startSandbox(t, "--keys-dir", dir, "--listen", "0.0.0.0:0")
	out := waitForOutput(t, stderr, "sandbox/transactions")
	if !strings.Contains(out, "WARNING") || !strings.Contains(out, "no authentication") || strings.Contains(out, "[::]") {
		t.Fatalf("want a warning and no wildcard address:\n%s", out)
	}
	callWithPrintedEnv(t, out, base)
}

// callWithPrintedEnv runs the printed call with the printed environment,
// which must name base, and wants the unknown member's answer.
func callWithPrintedEnv(t *testing.T, out, base string) {
	t.Helper()
	env := map[string]string{}
	for _, m := range regexp.MustCompile(`(WXPAY_[A-Z_]+)=(\S+)`).FindAllStringSubmatch(out, -1) {
		env[m[1]] = m[2]
	}
	if env["WXPAY_BASE_URL"] != base {
		t.Fatalf("printed base URL %q, want %q", env["WXPAY_BASE_URL"], base)
	}
	r := wxpayCLI(t, "", env, "call", "GET", "v3/businesscircle/user-authorizations/{openid}",
		"--path-param", "openid=oWmnN4xxxxxxxxxxe92NHIGf1xd8", "--query", "appid=wx1234567890abcdef")
	if r.code != 0 || !strings.Contains(r.stdout, `"authorize_state":"UNAUTHORIZED"`) {
		t.Fatalf("the printed call: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
}

// Started by go run, the printed lines start with a go run that works from
// the working directory; started from a binary, with the command as it was
// invoked, so that they run as printed whether or not it is on PATH.
func TestCommandPrefix(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+modulePath+"\n\ngo 1.26\n"), 0o644)
	other := filepath.Join(root, "mallpoints")
	os.MkdirAll(filepath.Join(root, "docs"), 0o755)
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "go.mod"), []byte("module "+modulePath+"/mallpoints\n"), 0o644)
	goRun := filepath.Join(os.TempDir(), "go-build1234", "b001", "exe", "wxpay")
	for _, tt := range []struct{ arg0, exe, dir, want string }{
		{"wxpay", "/usr/local/bin/wxpay", root, "wxpay"},
		{"./wxpay", filepath.Join(root, "wxpay"), root, "./wxpay"},
		{"bin/wxpay", filepath.Join(root, "bin", "wxpay"), root, "bin/wxpay"},
		{"/opt/wxpay 1/wxpay", "/opt/wxpay 1/wxpay", root, "'/opt/wxpay 1/wxpay'"},
		{"./it's/wxpay", filepath.Join(root, "it's", "wxpay"), root, `'./it'\''s/wxpay'`},
		{"/usr/local/bin/wxpay-dev", "/usr/local/bin/wxpay-dev", root, "/usr/local/bin/wxpay-dev"},
		{"", "/usr/local/bin/wxpay", root, "wxpay"},
		{filepath.Join(os.TempDir(), "go-build1234", "b001", "wxpay.test"), filepath.Join(os.TempDir(), "go-build1234", "b001", "wxpay.test"), root, "wxpay"},
		{goRun, goRun, root, "go run ./cmd/wxpay"},
		{goRun, goRun, filepath.Join(root, "docs"), "go run ../cmd/wxpay"},
		{goRun, goRun, filepath.Join(root, "cmd", "wxpay"), "go run ."},
		{goRun, goRun, other, "go run " + modulePath + "/cmd/wxpay@latest"},
		{goRun, goRun, t.TempDir(), "go run " + modulePath + "/cmd/wxpay@latest"},
	} {
		if got := commandPrefix(tt.arg0, tt.exe, tt.dir); got != tt.want {
			t.Errorf("commandPrefix(%q, %s, %s) = %q, want %q", tt.arg0, tt.exe, tt.dir, got, tt.want)
		}
	}
}

// A built binary started by its path, not on PATH, prints a call line that
// runs as printed from the same directory.
func TestSandboxBinaryStartedByItsPathPrintsLinesThatRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	t.Parallel()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "bin", "wxpay"), ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	env := append(os.Environ(), "PATH=/usr/bin:/bin") // no wxpay on it
	sb := exec.Command("./bin/wxpay", "sandbox", "--listen", "127.0.0.1:0", "--keys-dir", "keys")
	sb.Dir, sb.Env = dir, env
	stderr := &syncBuffer{}
	sb.Stderr = stderr
	if err := sb.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Process.Signal(os.Interrupt); sb.Wait() })
	out := waitForOutput(t, stderr, "sandbox/transactions")
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " call GET") && strings.Contains(l, "--base-url") {
			line = strings.TrimSpace(l)
		}
	}
	if !strings.HasPrefix(line, "./bin/wxpay call GET") {
		t.Fatalf("the call line does not start with the command as invoked:\n%s", out)
	}
	call := exec.Command("sh", "-c", line)
	call.Dir, call.Env = dir, env
	got, err := call.CombinedOutput()
	if err != nil || !strings.Contains(string(got), `"UNAUTHORIZED"`) {
		t.Fatalf("the printed line %s: %v\n%s", line, err, got)
	}
}

// --rate-limits and --notify-public-key-share reach the configuration.
func TestSandboxFlagsReachTheConfiguration(t *testing.T) {
	t.Parallel()
	_, dir := demoKeysDir(t)
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	for _, tt := range []struct {
		args  []string
		rate  bool
		share float64
	}{
		{nil, false, 1},
		{[]string{"--rate-limits", "--notify-public-key-share", "0.25"}, true, 0.25},
	} {
		o, code, done := c.parseSandboxFlags("wxpay sandbox", append([]string{"--keys-dir", dir}, tt.args...))
		if done {
			t.Fatalf("%q: exit %d", tt.args, code)
		}
		cfg, _, err := c.sandboxConfig(o)
		if err != nil || cfg.RateLimits != tt.rate || cfg.NotifyPublicKeyShare != tt.share {
			t.Errorf("%q: RateLimits %v, share %v (%v); want %v, %v", tt.args, cfg.RateLimits, cfg.NotifyPublicKeyShare, err, tt.rate, tt.share)
		}
	}
}

// demoKeysDir writes the demo keys to a folder of the test's.
func demoKeysDir(t *testing.T) (*sandbox.Keys, string) {
	t.Helper()
	k, err := demoKeys()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := k.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	return k, dir
}

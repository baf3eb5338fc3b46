package interop

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// Keys are made once per test binary (three RSA keys take about a second)
// and written to a temporary folder for the Node.js peer.
var (
	testKeys *sandbox.Keys
	keyDir   string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	k, err := sandbox.GenerateKeys()
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "wxpay-interop-keys-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := k.WriteDir(dir); err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	testKeys, keyDir = k, dir
	defer nodeProc.stop()
	return m.Run()
}

// keyFile is the path of one of the files Keys.WriteDir wrote.
func keyFile(name string) string { return filepath.Join(keyDir, name) }

// readKeyFile returns the contents of a key file.
func readKeyFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(keyFile(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// inCI reports whether the suite runs in CI, where nothing may be skipped.
func inCI() bool { return os.Getenv("CI") == "true" }

// node is one long-lived `node node/peer.js serve`, shared by the tests:
// node's start-up (a quarter of a second with the plugin loaded) is paid once.
type node struct {
	once    sync.Once
	mu      sync.Mutex
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	out     *bufio.Reader
	stderr  syncBuffer
	missing string // why node cannot run, if it cannot
	err     error  // start failure
}

var nodeProc node

// requireNode returns the shared node peer. When node or interop/node_modules
// is missing it fails the test under CI=true and skips it otherwise.
func requireNode(t testing.TB) *node {
	t.Helper()
	n := &nodeProc
	n.once.Do(n.start)
	switch {
	case n.missing != "" && inCI():
		t.Fatalf("%s; CI=true forbids skipping the Node.js peer: run `npm ci` in interop/", n.missing)
	case n.missing != "":
		t.Skipf("%s: run `npm ci` in interop/ to test the Node.js peer (wechatpay-axios-plugin)", n.missing)
	case n.err != nil:
		t.Fatalf("starting the Node.js peer: %v", n.err)
	}
	return n
}

func (n *node) start() {
	bin, err := exec.LookPath("node")
	if err != nil {
		n.missing = "node is not on PATH"
		return
	}
	if _, err := os.Stat(filepath.Join("node_modules", "wechatpay-axios-plugin", "package.json")); err != nil {
		n.missing = "interop/node_modules/wechatpay-axios-plugin is not installed"
		return
	}
	if _, err := os.Stat(filepath.Join("node_modules", "axios", "package.json")); err != nil {
		n.missing = "interop/node_modules/axios is not installed"
		return
	}
	cmd := exec.Command(bin, filepath.Join("node", "peer.js"), "serve")
	// No proxy from the environment: every request of these tests stays on loopback.
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); !strings.Contains(strings.ToLower(name), "proxy") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stderr = &n.stderr
	if n.stdin, n.err = cmd.StdinPipe(); n.err != nil {
		return
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		n.err = err
		return
	}
	n.out = bufio.NewReaderSize(stdout, 1<<20)
	if n.err = cmd.Start(); n.err != nil {
		return
	}
	n.cmd = cmd
}

// step runs one step of peer.js and decodes its result into v, failing t
// when node does not answer.
func (n *node) step(t testing.TB, step string, flags map[string]any, v any) {
	t.Helper()
	if err := n.call(step, flags, v); err != nil {
		t.Fatal(err)
	}
}

// call runs one step of peer.js and decodes its result into v. It may be
// used from any goroutine; steps run one at a time.
func (n *node) call(step string, flags map[string]any, v any) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	line, err := json.Marshal(map[string]any{"step": step, "flags": flags})
	if err != nil {
		return err
	}
	if _, err := n.stdin.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("node peer: write: %v (stderr: %s)", err, n.stderr.String())
	}
	reply, err := n.out.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("node peer: read: %v (stderr: %s)", err, n.stderr.String())
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(reply, &r); err != nil {
		return fmt.Errorf("node peer: %v in %q", err, reply)
	}
	if r.Error != "" {
		return fmt.Errorf("node peer: step %s: %s", step, r.Error)
	}
	if err := json.Unmarshal(r.Result, v); err != nil {
		return fmt.Errorf("node peer: step %s: %v in %s", step, err, r.Result)
	}
	return nil
}

func (n *node) stop() {
	if n.cmd == nil {
		return
	}
	n.stdin.Close()
	if err := n.cmd.Wait(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		fmt.Fprintf(os.Stderr, "interop: node peer exited: %v\n%s", err, n.stderr.String())
	}
}

// syncBuffer collects node's stderr, written by os/exec's copying goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

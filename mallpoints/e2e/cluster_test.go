package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/cmd/mallpoints-load/loadgen"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit"
)

// The binaries and keys every test shares, made once in TestMain.
var (
	bins testkit.Binaries
	keys testkit.Keys
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "mallpoints-cluster-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := statSources("../.."); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if bins, err = testkit.Build(ctx, "../..", dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if keys, err = bins.Keygen(ctx, filepath.Join(dir, "keys")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}())
}

// statSources stats every Go source and module file the binaries are built
// from, so that go test's cache, which notes the files a test looks at,
// runs these tests again when the service or the SDK changes.
func statSources(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if n := d.Name(); strings.HasSuffix(n, ".go") || strings.HasSuffix(n, ".sql") || n == "go.mod" || n == "go.sum" {
			_, err = os.Stat(path)
		}
		return err
	})
}

// appID is the AppID the tests' members pay with; the sandbox's default
// merchant accepts any.
const appID = "wx1234567890abcdef"

// setFront points the front at the replicas that are up.
func (c *cluster) setFront() {
	var list []*testkit.Backend
	for _, r := range c.replicas {
		if r != nil && r.svc != nil && !r.svc.Exited() {
			list = append(list, r.backend)
		}
	}
	c.front.Set(list...)
}

// replica is one mallpointsd process, restartable under the same name.
type replica struct {
	name    string
	svc     *testkit.Service
	backend *testkit.Backend
	logs    strings.Builder // output of its earlier, ended processes
	killed  bool            // the test killed its current process
	// selfExits counts the processes that ended without being killed.
	selfExits int
}

// kill SIGKILLs the replica's process.
func (r *replica) kill() {
	if r.svc.Exited() {
		r.selfExits++
	}
	r.svc.Kill()
	r.killed = true
}

// restart starts a replica whose process has ended, retrying while the
// database is down (it may be restarting).
func (c *cluster) restart(r *replica) {
	if !r.killed && r.svc.Exited() {
		r.selfExits++
	}
	var err error
	for range 30 {
		if err = c.start(r); err == nil {
			r.killed = false
			return
		}
		time.Sleep(500 * time.Millisecond) // pacing the retries while the database restarts, not an assertion
	}
	c.t.Errorf("%s does not start again: %v", r.name, err)
}

// cluster is a sandbox, a front and replicas on one database.
type cluster struct {
	t        *testing.T
	db       string
	sandbox  *testkit.Sandbox
	wechat   *recorder // between the replicas and the sandbox
	admin    *loadgen.Admin
	front    *testkit.Front // the load balancer before the replicas
	replicas []*replica
	workers  int
	args     []string // more flags for every replica
}

// newCluster starts a sandbox whose notifications go to a front, and n
// replicas on database db behind it, each with more flags args.
func newCluster(t *testing.T, db string, n, workers int, args ...string) *cluster {
	t.Helper()
	front, err := testkit.NewFront()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { front.Close() })
	c := &cluster{t: t, db: db, front: front, workers: workers, args: args}
	sb, err := bins.StartSandbox(context.Background(), keys, testkit.SandboxOptions{
		NotifyURL: front.URL() + "/wechatpay/notify", RetrySchedule: "1s,1s,2s,2s,5s,5s,10s,10s,10s,10s,30s,30s,30s"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sb.Kill()
		if t.Failed() {
			t.Logf("sandbox output (tail):\n%s", tail(sb.Output(), 3000))
		}
	})
	c.sandbox = sb
	c.wechat = newRecorder(t, sb.URL)
	c.admin = &loadgen.Admin{URL: sb.URL, HTTP: &http.Client{Timeout: 30 * time.Second}}
	for i := range n {
		c.replicas = append(c.replicas, &replica{name: fmt.Sprintf("replica %d", i+1)})
	}
	t.Cleanup(func() {
		for _, r := range c.replicas {
			if r.svc != nil && !r.svc.Exited() {
				if _, err := r.svc.Stop(30 * time.Second); err != nil {
					t.Errorf("%s: %v", r.name, err)
				}
			}
			if t.Failed() {
				t.Logf("%s output (tail):\n%s", r.name, tail(r.output(), 3000))
			}
		}
	})
	// The first replica starts alone and the rest together, as a rolling
	// deploy would; replicas that all start at once on an empty database are
	// tested in internal/server (TestReplicasStartingTogether…).
	if err := c.start(c.replicas[0]); err != nil {
		t.Fatal(err)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, r := range c.replicas[1:] {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = c.start(r) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	c.setFront()
	return c
}

// start (re)starts replica r; the front is not told.
func (c *cluster) start(r *replica) error {
	svc, err := bins.StartService(context.Background(), testkit.ServiceOptions{Name: r.name, DB: c.db,
		SandboxURL: c.wechat.BaseURL(), Keys: keys, Workers: c.workers, Args: c.args})
	if err != nil {
		return err
	}
	if r.svc != nil {
		r.logs.WriteString(r.svc.Output())
	}
	b, err := testkit.NewBackend(r.name, svc.NotifyURL)
	if err != nil {
		svc.Kill()
		return err
	}
	r.svc, r.backend = svc, b
	return nil
}

// output is everything replica r printed, over all its processes.
func (r *replica) output() string {
	if r.svc == nil {
		return r.logs.String()
	}
	return r.logs.String() + r.svc.Output()
}

var syncedLine = regexp.MustCompile(`msg="outbox: synced"`)

// syncs counts the syncs replica r logged as done.
func (r *replica) syncs() int { return len(syncedLine.FindAllString(r.output(), -1)) }

// get decodes a JSON answer of the admin API of any live replica.
func (c *cluster) get(path string, v any) {
	c.t.Helper()
	for _, r := range c.replicas {
		if r.svc == nil || r.svc.Exited() {
			continue
		}
		resp, err := http.Get(r.svc.AdminURL + path)
		if err != nil {
			continue
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			c.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, raw)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			c.t.Fatalf("GET %s: %v", path, err)
		}
		return
	}
	c.t.Fatalf("GET %s: no replica answers", path)
}

// anyAdmin is the admin URL of a live replica.
func (c *cluster) anyAdmin() string {
	for _, r := range c.replicas {
		if r.svc != nil && !r.svc.Exited() {
			return r.svc.AdminURL
		}
	}
	c.t.Fatal("no replica is up")
	return ""
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// eventually polls cond, a question to another process (a replica's API,
// the database) that sends no signal, until it holds; after limit the test
// fails, naming what it waited for. The limit only bounds a hang: nothing
// is measured.
func eventually(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(limit)
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("waited %v for %s", limit, what)
		case <-tick.C:
		}
	}
}

// long skips t in -short runs: it starts several processes and waits on
// WeChat Pay's retries and River's rescue.
func long(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("a cluster run; it runs without -short (CI), and MALLPOINTS_CHAOS=long makes the chaos run long")
	}
}

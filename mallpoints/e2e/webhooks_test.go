package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/cmd/mallpoints-load/loadgen"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/pgtest"
	"github.com/seed2ac2593f/wxpay/webhook"
)

// hookLog is what one webhook receiver answered 2xx: each event's body by
// id, and each member's events in the order they first arrived.
type hookLog struct {
	name   string
	mu     sync.Mutex
	bodies map[string][]byte
	order  map[string][]int64
	dups   int
	errs   []string
}

func newHookLog(name string) *hookLog {
	return &hookLog{name: name, bodies: map[string][]byte{}, order: map[string][]int64{}}
}

// accept records a verified delivery answered 2xx. A repeat must be the
// same bytes under the same id.
func (h *hookLog) accept(body []byte) {
	var ev storage.Event
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := json.Unmarshal(body, &ev); err != nil {
		h.errs = append(h.errs, fmt.Sprintf("%s: %v", body, err))
		return
	}
	if first, seen := h.bodies[ev.ID]; seen {
		h.dups++
		if !bytes.Equal(first, body) {
			h.errs = append(h.errs, fmt.Sprintf("%s sent again with another body: %s, then %s", ev.ID, first, body))
		}
		return
	}
	h.bodies[ev.ID] = body
	h.order[ev.OpenID] = append(h.order[ev.OpenID], ev.Seq)
}

func (h *hookLog) fail(problem string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errs = append(h.errs, problem)
}

func (h *hookLog) has(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.bodies[id]
	return ok
}

// nodeReceiver is the Node.js verifier of docs/signing.md behind an HTTP
// server: it answers 503 while the file down exists, else verifies each
// delivery and prints it, as one JSON line, before answering 2xx.
const nodeReceiver = `
const fs = require('node:fs');
const http = require('node:http');
const secrets = [process.env.WEBHOOK_SECRET];
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (fs.existsSync(process.env.DOWN_FILE)) { res.writeHead(503); res.end('down'); return; }
    try {
      verify(req.headers, body, secrets);
    } catch (e) {
      process.stdout.write(JSON.stringify({error: e.message}) + '\n');
      res.writeHead(400); res.end(e.message); return;
    }
    process.stdout.write(JSON.stringify({body: body.toString('base64')}) + '\n', () => { res.writeHead(204); res.end(); });
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({port: server.address().port}) + '\n'));
`

// startNodeReceiver runs nodeReceiver with the verifier of docs/signing.md
// and returns its URL; the deliveries it prints go to log.
func startNodeReceiver(t *testing.T, secret, downFile string, log *hookLog) string {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is not on PATH; CI=true forbids skipping the Node.js receiver")
		}
		t.Skip("node is not on PATH: the Node.js webhook receiver is not run")
	}
	doc, err := os.ReadFile("../../docs/signing.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```js\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/signing.md shows no js snippet")
	}
	script := filepath.Join(t.TempDir(), "receiver.js")
	if err := os.WriteFile(script, append(m[1], nodeReceiver...), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, script)
	cmd.Env = append(os.Environ(), "WEBHOOK_SECRET="+secret, "DOWN_FILE="+downFile)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(out)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	if !lines.Scan() {
		t.Fatal("the Node.js receiver did not start")
	}
	var first struct{ Port int }
	if err := json.Unmarshal(lines.Bytes(), &first); err != nil || first.Port == 0 {
		t.Fatalf("the Node.js receiver said %s", lines.Bytes())
	}
	go func() {
		for lines.Scan() {
			var line struct {
				Body  []byte
				Error string
			}
			if err := json.Unmarshal(lines.Bytes(), &line); err != nil || line.Error != "" {
				log.fail(fmt.Sprintf("node: %s", lines.Bytes()))
				continue
			}
			log.accept(line.Body)
		}
	}()
	return fmt.Sprintf("http://127.0.0.1:%d/events", first.Port)
}

// Every ledger entry of a chaos run reaches a webhook receiver in Go and
// one in Node.js, each delivery verified, in order per member, none
// missing, repeats only of the same id and bytes: through replicas
// SIGKILLed under load and both receivers failing for seconds at a time.
func TestWebhooksDeliverEveryEntryInOrderPerMemberThroughKilledReplicasAndReceiverOutages(t *testing.T) {
	t.Parallel()
	long(t)
	load, rate := chaosForm()
	dir := t.TempDir()
	secret := "whsec-e2e-0123456789abcdef0123456789abcdef"
	secretFile, downFile := filepath.Join(dir, "webhook.secret"), filepath.Join(dir, "node.down")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	goLog, nodeLog := newHookLog("go"), newHookLog("node")
	var goDown atomic.Bool
	goSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if goDown.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if err := webhook.Verify(r.Header, body, []byte(secret)); err != nil {
			goLog.fail(fmt.Sprintf("go: %v: %s", err, body))
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		goLog.accept(body)
	}))
	t.Cleanup(goSrv.Close)
	nodeURL := startNodeReceiver(t, secret, downFile, nodeLog)
	rulesFile := filepath.Join(dir, "rules.yaml")
	rules := fmt.Sprintf("default:\n  webhooks:\n    - {name: go, url: %q, secret_file: %q}\n    - {name: node, url: %q, secret_file: %q}\n",
		goSrv.URL+"/events", secretFile, nodeURL, secretFile)
	if err := os.WriteFile(rulesFile, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := pgtest.NewDatabase(t, pgtest.Require(t), "mallpoints_cluster")
	c := newCluster(t, dsn, 3, 4, "--rules", rulesFile)
	ctx := context.Background()

	seed := uint64(time.Now().UnixNano())
	t.Logf("webhook chaos for %v at %.0f payments/s; random seed %d", load, rate, seed)
	// One generator per goroutine: a *rand.Rand is not safe for concurrent use.
	killRng, outageRng := rand.New(rand.NewPCG(seed, 0)), rand.New(rand.NewPCG(seed, 1))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var kills, outages int
	wg.Add(2)
	go func() { // SIGKILL a replica at random moments; bring it back soon after
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(1000+killRng.IntN(3000)) * time.Millisecond):
			}
			r := c.replicas[killRng.IntN(len(c.replicas))]
			r.kill()
			kills++
			c.setFront()
			time.Sleep(time.Duration(200+killRng.IntN(1000)) * time.Millisecond)
			c.restart(r)
			c.setFront()
		}
	}()
	go func() { // the receivers fail for 1–3 s now and then
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(2000+outageRng.IntN(3000)) * time.Millisecond):
			}
			goDown.Store(true)
			os.WriteFile(downFile, nil, 0o600)
			outages++
			time.Sleep(time.Duration(1000+outageRng.IntN(2000)) * time.Millisecond)
			goDown.Store(false)
			os.Remove(downFile)
		}
	}()
	recovered := make(chan struct{})
	go func() {
		defer close(recovered)
		time.Sleep(load)
		close(stop)
		wg.Wait()
		goDown.Store(false)
		os.Remove(downFile)
		for _, r := range c.replicas {
			if r.svc.Exited() {
				c.restart(r)
			}
		}
		c.setFront()
	}()
	run, err := loadgen.Drive(ctx, c.admin, loadgen.Config{AppID: appID, Members: 30,
		Payments: int(load.Seconds() * rate), Rate: rate, Poll: 200 * time.Millisecond, Settle: 4 * time.Minute})
	<-recovered
	if err != nil {
		t.Fatalf("%v (%d kills)", err, kills)
	}

	db, err := storage.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	events, err := db.EventsAfter(ctx, keys.MchID, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := db.EntriesAfter(ctx, nil, keys.MchID, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	// Delivery is retried with backoff up to 10 minutes; the outages are
	// seconds long, so the retries that follow them are too.
	eventually(t, "both receivers to have every event", 5*time.Minute, func() bool {
		for _, ev := range events {
			if !goLog.has(ev.ID) || !nodeLog.has(ev.ID) {
				return false
			}
		}
		return true
	})
	t.Logf("%d payments, %d entries, %d events through %d kills and %d receiver outages", len(run.Payments), len(entries),
		len(events), kills, outages)
	byID := map[string]storage.Event{}
	want := map[string][]int64{}
	for _, ev := range events {
		byID[ev.ID] = ev
		want[ev.OpenID] = append(want[ev.OpenID], ev.Seq)
	}
	for _, e := range entries {
		if ev, ok := byID[storage.EventID(e.Seq)]; !ok || ev.Type != storage.EntryEventType(e.Kind) {
			t.Errorf("entry %d (%s) has event %+v", e.Seq, e.Kind, ev)
		}
	}
	for _, h := range []*hookLog{goLog, nodeLog} {
		h.mu.Lock()
		for _, problem := range h.errs {
			t.Errorf("%s receiver: %s", h.name, problem)
		}
		if len(h.bodies) != len(events) {
			t.Errorf("%s receiver: %d events, want %d", h.name, len(h.bodies), len(events))
		}
		for member, seqs := range want {
			if got := h.order[member]; !slices.Equal(got, seqs) {
				t.Errorf("%s receiver, member %s: events in the order %v, want %v", h.name, member, got, seqs)
			}
		}
		for id, body := range h.bodies {
			ev := byID[id]
			var got storage.Event
			if err := json.Unmarshal(body, &got); err != nil || got.Seq != ev.Seq || got.Type != ev.Type || got.OpenID != ev.OpenID ||
				string(got.Data) != string(ev.Data) {
				t.Errorf("%s receiver: %s is %s; the database has %+v", h.name, id, body, ev)
			}
		}
		t.Logf("%s receiver: %d events, %d repeats of an id (each the same bytes)", h.name, len(h.bodies), h.dups)
		h.mu.Unlock()
	}
}

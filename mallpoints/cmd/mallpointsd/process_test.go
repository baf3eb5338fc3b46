package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// binDir holds the binaries built for the tests; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binaries builds mallpointsd and wxpay once per test binary.
var binaries = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "mallpointsd-bin-")
	if err != nil {
		return "", err
	}
	binDir = dir
	for _, b := range []struct{ out, pkg string }{
		{"mallpointsd", "."},
		{"wxpay", "github.com/seed2ac2593f/wxpay/cmd/wxpay"},
	} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, b.out), b.pkg).CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return dir, nil
})

// freeAddr returns a loopback address nothing listens on, for a process
// to take.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process is a started command whose output is kept for failures.
type process struct {
	cmd *exec.Cmd
	out *lines
}

func start(t *testing.T, name string, args ...string) *process {
	t.Helper()
	return startEnv(t, nil, name, args...)
}

// startEnv starts name with args, and env added to this process's
// environment.
func startEnv(t *testing.T, env []string, name string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(name, args...), out: &lines{}}
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return p
}

// waitHTTP polls url until it answers 200.
func waitHTTP(t *testing.T, url string, p *process) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered 200; output:\n%s", url, p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func postJSON(t *testing.T, url string, body any, v any) int {
	t.Helper()
	raw, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Error(err)
		return 0
	}
	defer resp.Body.Close()
	if v != nil {
		json.NewDecoder(resp.Body).Decode(v)
	}
	return resp.StatusCode
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if v != nil {
		json.Unmarshal(raw, v)
	}
	return resp.StatusCode
}

// TestSIGKILLMidTrafficLosesNoPaymentAgainstAWxpaySandboxProcess runs the
// built mallpointsd against a `wxpay sandbox` process built from
// ../cmd/wxpay, kills mallpointsd with SIGKILL while payments arrive and
// syncs go out, restarts it on the same database, and checks that every
// payment was synced with the right points and totals. Then it reloads the
// rules with SIGHUP and stops with SIGTERM.
func TestSIGKILLMidTrafficLosesNoPaymentAgainstAWxpaySandboxProcess(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds two binaries and waits for a job rescue")
	}
	bin, err := binaries()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := sandbox.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kd := filepath.Join(dir, "keys")
	if err := keys.WriteDir(kd); err != nil {
		t.Fatal(err)
	}
	rulesPath := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rulesPath, []byte("default:\n  min_amount_fen: 0\n"), 0o600)
	sbAddr, pubAddr, admAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	sb := start(t, filepath.Join(bin, "wxpay"), "sandbox", "--listen", sbAddr,
		"--mchid", keys.MchID, "--merchant-cert", filepath.Join(kd, sandbox.FileMerchantCert),
		"--apiv3-key", keys.APIv3Key,
		"--wechatpay-private-key", filepath.Join(kd, sandbox.FileWechatPayKey), "--wechatpay-public-key-id", keys.PublicKeyID,
		"--notify-url", "http://"+pubAddr+"/wechatpay/notify",
		"--notify-retry-schedule", "200ms,500ms,1s,1s,2s,2s,2s,2s,2s,3s,3s,3s,3s,3s,3s,3s,3s,3s,3s,3s,3s,3s,3s,3s,3s,3s,3s")
	sbURL := "http://" + sbAddr
	waitHTTP(t, sbURL+"/sandbox/faults", sb)

	dbPath := filepath.Join(dir, "mallpoints.db")
	service := func() *process {
		p := start(t, filepath.Join(bin, "mallpointsd"), "--listen", pubAddr, "--admin-listen", admAddr, "--db", dbPath,
			"--rules", rulesPath, "--base-url", sbURL, "--mchid", keys.MchID,
			"--private-key", filepath.Join(kd, sandbox.FileMerchantKey), "--merchant-cert", filepath.Join(kd, sandbox.FileMerchantCert),
			"--wechatpay-public-key", filepath.Join(kd, sandbox.FilePublicKey), "--wechatpay-public-key-id", keys.PublicKeyID,
			"--apiv3-key", keys.APIv3Key)
		waitHTTP(t, "http://"+pubAddr+"/readyz", p)
		return p
	}
	mp := service()
	admin := "http://" + admAddr

	const members, payments = 4, 60
	openids := make([]string, members)
	for i := range openids {
		openids[i] = fmt.Sprintf("oKill%04d", i)
		if st := postJSON(t, sbURL+"/sandbox/authorizations", map[string]string{"appid": demoAppID, "openid": openids[i]}, nil); st != 201 {
			t.Fatalf("authorize: %d", st)
		}
	}
	// Payments arrive steadily; mallpointsd is killed a third of the way in
	// and restarted after another third.
	txids := make([]string, payments)
	amounts := make([]int64, payments)
	setLatency := func(d string) {
		req, _ := http.NewRequest(http.MethodPut, sbURL+"/sandbox/faults", strings.NewReader(
			`{"endpoints":{"v3/businesscircle/points/notify":{"latency":"`+d+`"}}}`))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
			t.Fatalf("set faults: %v %v", resp, err)
		}
	}
	start := time.Now()
	for i := range payments {
		if i == payments/3-5 {
			setLatency("2s") // so that syncs are in flight when the process dies
		}
		if i == payments/3 {
			if err := mp.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			mp.cmd.Wait()
		}
		if i == 2*payments/3 {
			setLatency("0s")
			mp = service()
		}
		amounts[i] = int64(100 * (i + 1))
		var paid struct {
			TransactionID string `json:"transaction_id"`
		}
		if st := postJSON(t, sbURL+"/sandbox/transactions", map[string]any{"appid": demoAppID,
			"openid": openids[i%members], "amount": amounts[i]}, &paid); st != 201 {
			t.Fatalf("payment %d: status %d", i, st)
		}
		txids[i] = paid.TransactionID
		time.Sleep(10 * time.Millisecond) // pacing the load generator, not an assertion
	}

	type txView struct {
		Transaction struct {
			OpenID      string `json:"openid"`
			Points      int64  `json:"points"`
			TotalPoints int64  `json:"total_points"`
			Sync        struct{ State string }
		}
	}
	deadline := time.Now().Add(3 * time.Minute) // a job killed while running is rescued after at most about a minute
	resent := 0
	sums := map[string]int64{}
	for i, tx := range txids {
		var v txView
		for getJSON(t, admin+"/api/transactions/"+keys.MchID+"/"+tx, &v) != 200 || v.Transaction.Sync.State != "synced" {
			if time.Now().After(deadline) {
				t.Fatalf("payment %d (%s) not synced: %+v\n%s", i, tx, v, mp.out.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		var got struct {
			SyncCount int `json:"sync_count"`
			LastSync  struct {
				IncreasedPoints int64 `json:"increased_points"`
				TotalPoints     int64 `json:"total_points"`
			} `json:"last_sync"`
		}
		getJSON(t, sbURL+"/sandbox/points/"+tx, &got)
		// total_points is the member's balance when the sync was sent: at
		// least the balance right after the payment.
		if v.Transaction.Points != amounts[i]/100 || got.LastSync.IncreasedPoints != v.Transaction.Points ||
			got.LastSync.TotalPoints < v.Transaction.TotalPoints || got.SyncCount < 1 {
			t.Errorf("payment %d: ledger %+v, sandbox %+v", i, v.Transaction, got)
		}
		if got.SyncCount > 1 {
			resent++ // killed after sending, before recording: re-sent with the same body
		}
		sums[v.Transaction.OpenID] += v.Transaction.Points
	}
	for _, o := range openids {
		var m struct{ Member struct{ Balance int64 } }
		getJSON(t, admin+"/api/members/"+keys.MchID+"/"+o, &m)
		if m.Member.Balance != sums[o] {
			t.Errorf("%s: balance %d, want %d", o, m.Member.Balance, sums[o])
		}
	}
	t.Logf("%d payments, mallpointsd killed once with syncs in flight: all synced %v after the first payment; %d synced twice with the same body",
		payments, time.Since(start).Round(time.Second), resent)

	// SIGHUP reloads the rules; a broken file keeps the rules in force.
	var before, after, kept struct{ Version string }
	getJSON(t, admin+"/api/rules", &before)
	os.WriteFile(rulesPath, []byte("default:\n  shops:\n    - {shop_number: S01, multiplier: 2}\n"), 0o600)
	mp.cmd.Process.Signal(syscall.SIGHUP)
	for getJSON(t, admin+"/api/rules", &after); after.Version == before.Version; getJSON(t, admin+"/api/rules", &after) {
		if time.Now().After(deadline) {
			t.Fatalf("rules not reloaded on SIGHUP:\n%s", mp.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	os.WriteFile(rulesPath, []byte("default:\n  shops: 3\n"), 0o600)
	mp.cmd.Process.Signal(syscall.SIGHUP)
	for !strings.Contains(mp.out.String(), "rules not reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no error logged for a broken rules file:\n%s", mp.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if getJSON(t, admin+"/api/rules", &kept); kept.Version != after.Version {
		t.Errorf("a broken rules file changed the rules in force: %s → %s", after.Version, kept.Version)
	}

	// SIGTERM stops it cleanly.
	mp.cmd.Process.Signal(syscall.SIGTERM)
	if err := mp.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, mp.out.String())
	}
}

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/cmd/mallpoints-load/loadgen"
)

// TestSIGKILLMidTrafficLosesNoPaymentThenSIGHUPReloadsTheRulesAndSIGTERMStops
// runs one mallpointsd on SQLite, kills it with SIGKILL while payments
// arrive and syncs are in flight, restarts it on the same database, and
// checks that every payment was synced with the right points and totals.
// Then it reloads the rules with SIGHUP, keeps them through a broken file,
// and stops with SIGTERM.
func TestSIGKILLMidTrafficLosesNoPaymentThenSIGHUPReloadsTheRulesAndSIGTERMStops(t *testing.T) {
	t.Parallel()
	long(t)
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte("default:\n  min_amount_fen: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newCluster(t, filepath.Join(dir, "mallpoints.db"), 1, 0, "--rules", rulesPath)
	r := c.replicas[0]
	ctx := context.Background()
	latency := func(d string) {
		t.Helper()
		if err := c.admin.SetFaults(ctx, map[string]any{"endpoints": map[string]any{
			"v3/businesscircle/points/notify": map[string]any{"latency": d}}}); err != nil {
			t.Fatal(err)
		}
	}
	// Payments arrive steadily; WeChat Pay answers syncs slowly, so that
	// some are in flight when mallpointsd is killed a third of the way in;
	// it is back, and WeChat Pay fast, after another third.
	const payments = 60
	latency("2s")
	killed, restarted := false, false
	run, err := loadgen.Drive(ctx, c.admin, loadgen.Config{AppID: appID, Members: 4, Payments: payments, Rate: 10,
		Amount: func(i int) int64 { return int64(100 * (i + 1)) }, Poll: 200 * time.Millisecond, Settle: 3 * time.Minute,
		Progress: func(paid, _ int) {
			switch {
			case !killed && paid >= payments/3:
				r.kill()
				c.setFront()
				killed = true
			case killed && !restarted && paid >= 2*payments/3:
				latency("0s")
				c.restart(r)
				c.setFront()
				restarted = true
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !killed || !restarted {
		t.Fatalf("the run ended before the kill (%v) or the restart (%v)", killed, restarted)
	}
	resent := checkLedgerMatchesWeChatPay(t, c, run, false)
	t.Logf("%d payments, mallpointsd killed once with syncs in flight: %d synced twice with the same body", payments, resent)

	// SIGHUP reloads the rules; a broken file keeps the rules in force.
	var before, after struct{ Version string }
	c.get("/api/rules", &before)
	if err := os.WriteFile(rulesPath, []byte("default:\n  shops:\n    - {shop_number: S01, multiplier: 2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.svc.Signal(syscall.SIGHUP)
	if _, err := r.svc.WaitFor(regexp.MustCompile(`rules reloaded`), time.Minute); err != nil {
		t.Fatal(err)
	}
	if c.get("/api/rules", &after); after.Version == before.Version {
		t.Errorf("SIGHUP did not change the rules in force: %s", after.Version)
	}
	os.WriteFile(rulesPath, []byte("default:\n  shops: 3\n"), 0o600)
	r.svc.Signal(syscall.SIGHUP)
	if _, err := r.svc.WaitFor(regexp.MustCompile(`rules not reloaded`), time.Minute); err != nil {
		t.Fatal(err)
	}
	var kept struct{ Version string }
	if c.get("/api/rules", &kept); kept.Version != after.Version {
		t.Errorf("a broken rules file changed the rules in force: %s → %s", after.Version, kept.Version)
	}

	// SIGTERM stops it cleanly.
	if _, err := r.svc.Stop(30 * time.Second); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, tail(r.output(), 3000))
	}
}

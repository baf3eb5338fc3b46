package e2e

import (
	"context"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/cmd/mallpoints-load/loadgen"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/pgtest"
)

// chaosForm is the size of the chaos run: short in the default suite,
// long with MALLPOINTS_CHAOS=long.
func chaosForm() (load time.Duration, rate float64) {
	if os.Getenv("MALLPOINTS_CHAOS") == "long" {
		return 5 * time.Minute, 25
	}
	return 20 * time.Second, 15
}

// faults makes WeChat Pay fail 30% of the calls: a fifth answered
// errorStatus (500 or 429) before acting, a tenth cut off after acting, so
// that the service cannot know whether the sync landed; and some
// notifications come first as a signing probe or with a bad signature.
func faults(errorStatus int) map[string]any {
	return map[string]any{
		"endpoints":     map[string]any{"*": map[string]any{"error_rate": 0.2, "error_status": errorStatus, "drop_rate": 0.1}},
		"notifications": map[string]any{"probe_rate": 0.05, "bad_signature_rate": 0.05},
	}
}

func TestChaosEveryPaymentSyncedOnceInEffectThroughKilledReplicasWeChatPayFailuresAndADatabaseRestart(t *testing.T) {
	t.Parallel()
	long(t)
	load, rate := chaosForm()
	pg := newPGCluster(t)
	base := ""
	if pg != nil {
		base = pg.URL()
	} else {
		t.Log("not root or no pg_createcluster: PostgreSQL is not restarted in this run")
		base = pgtest.Require(t)
	}
	c := newCluster(t, pgtest.NewDatabase(t, base, "mallpoints_cluster"), 3, 4)
	ctx := context.Background()
	if err := c.admin.SetFaults(ctx, faults(500)); err != nil {
		t.Fatal(err)
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("chaos for %v at %.0f payments/s; random seed %d", load, rate, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var kills, restarts int
	wg.Add(1)
	go func() { // SIGKILL a replica at random moments; bring it back soon after
		defer wg.Done()
		status := 500
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(1000+rng.IntN(3000)) * time.Millisecond):
			}
			status = 929 - status // 500 ⇄ 429
			if err := c.admin.SetFaults(ctx, faults(status)); err != nil {
				t.Error(err)
			}
			r := c.replicas[rng.IntN(len(c.replicas))]
			r.kill()
			kills++
			c.setFront()
			time.Sleep(time.Duration(200+rng.IntN(1000)) * time.Millisecond)
			c.restart(r)
			c.setFront()
		}
	}()
	if pg != nil {
		wg.Add(1)
		go func() { // restart PostgreSQL once, halfway
			defer wg.Done()
			select {
			case <-stop:
				return
			case <-time.After(load / 2):
			}
			t.Log("restarting PostgreSQL")
			pg.restart(t)
			restarts++
		}()
	}
	recovered := make(chan struct{})
	go func() { // end the chaos when the load ends: WeChat Pay healthy, every replica up
		defer close(recovered)
		time.Sleep(load)
		close(stop)
		wg.Wait()
		if err := c.admin.SetFaults(ctx, map[string]any{}); err != nil {
			t.Error(err)
		}
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
		t.Fatalf("%v (%d kills, %d database restarts)", err, kills, restarts)
	}
	t.Logf("%d payments synced through %d kills and %d database restarts in %.1f s", len(run.Payments), kills, restarts,
		run.End.Sub(run.Start).Seconds())
	resent := checkLedgerMatchesWeChatPay(t, c, run, false)
	t.Logf("%d payments were synced more than once (an answer lost), each time with the same points", resent)
	for _, r := range c.replicas {
		if r.selfExits > 0 {
			t.Errorf("%s exited %d times by itself", r.name, r.selfExits)
		}
	}
}

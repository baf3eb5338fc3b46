package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed2ac2593f/wxpay/mallpoints/cmd/mallpoints-load/loadgen"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/pgtest"
)

// runningJobs counts the outbox jobs River holds as running.
func runningJobs(t *testing.T, db string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'running'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAReplicaKilledMidJobLeavesItsJobsToTheOthers(t *testing.T) {
	t.Parallel()
	long(t)
	db := pgtest.NewDatabase(t, pgtest.Require(t), "mallpoints_cluster")
	// One replica first, alone, so that every job is its own; WeChat Pay
	// answers slowly, so that they are all mid-call when it dies.
	c := newCluster(t, db, 1, 8)
	ctx := context.Background()
	if err := c.admin.SetFaults(ctx, map[string]any{"endpoints": map[string]any{
		"v3/businesscircle/points/notify": map[string]any{"latency": "60s"}}}); err != nil {
		t.Fatal(err)
	}
	const payments = 8
	done := make(chan struct{})
	var run *loadgen.Run
	var runErr error
	go func() {
		defer close(done)
		run, runErr = loadgen.Drive(ctx, c.admin, loadgen.Config{AppID: appID, Members: 4, Payments: payments,
			InFlight: payments, Poll: 200 * time.Millisecond, Settle: 3 * time.Minute})
	}()
	eventually(t, "every job running on the first replica", time.Minute, func() bool { return runningJobs(t, db) == payments })
	first := c.replicas[0]
	first.svc.Kill()
	killed := time.Now()
	t.Logf("%s killed with %d jobs running", first.name, payments)

	// The others come up and WeChat Pay is fast again.
	if err := c.admin.SetFaults(ctx, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	c.replicas = append(c.replicas, &replica{name: "replica 2"}, &replica{name: "replica 3"})
	for _, r := range c.replicas[1:] {
		if err := c.start(r); err != nil {
			t.Fatal(err)
		}
	}
	c.setFront()
	<-done
	if runErr != nil {
		t.Fatal(runErr)
	}
	t.Logf("the killed replica's jobs were synced by the others %.1f s after the kill (River rescue: the service sets ≤ 1 minute)",
		run.End.Sub(killed).Seconds())
	checkLedgerMatchesWeChatPay(t, c, run, false)
	if n := first.syncs(); n != 0 {
		t.Errorf("the killed replica logged %d syncs done; it died before any", n)
	}
	if n := c.replicas[1].syncs() + c.replicas[2].syncs(); n != payments {
		t.Errorf("the other replicas synced %d payments, want all %d", n, payments)
	}
}

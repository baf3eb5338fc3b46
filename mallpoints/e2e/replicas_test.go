package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/cmd/mallpoints-load/loadgen"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/pgtest"
)

func TestReplicasOnOneDatabaseShareNotificationsAndOutboxAndSyncEachPaymentOnce(t *testing.T) {
	t.Parallel()
	long(t)
	c := newCluster(t, pgtest.NewDatabase(t, pgtest.Require(t), "mallpoints_cluster"), 3, 4)
	run, err := loadgen.Drive(context.Background(), c.admin, loadgen.Config{AppID: appID, Members: 20,
		Payments: 240, InFlight: 24, Settle: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	checkLedgerMatchesWeChatPay(t, c, run, true)
	total := 0
	for _, r := range c.replicas {
		n, took := r.syncs(), r.backend.Answered.Load()
		t.Logf("%s answered %d notifications and synced %d payments", r.name, took, n)
		if took == 0 {
			t.Errorf("%s took no notification: the front round-robins, every replica takes them", r.name)
		}
		if n == 0 {
			t.Errorf("%s worked no sync: every replica works the outbox", r.name)
		}
		total += n
	}
	if total != len(run.Payments) {
		t.Errorf("the replicas logged %d syncs done for %d payments", total, len(run.Payments))
	}
}

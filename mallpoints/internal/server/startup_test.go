package server_test

import (
	"context"
	"sync"
	"testing"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/server"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/pgtest"
	"github.com/seed2ac2593f/wxpay/notify"
)

// Replicas of a new deployment start at once on an empty database: each
// migrates, and none may fail for another's migration running beside it
// (River's migrator takes no lock; the service takes one around it).
func TestReplicasStartingTogetherOnAnEmptyDatabaseAllStart(t *testing.T) {
	t.Parallel()
	base := pgtest.Require(t)
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	client, err := wxpay.NewClient(
		wxpay.WithMerchant(keys.MchID, keys.MerchantSerial, keys.MerchantKey),
		wxpay.WithWechatPayPublicKey(keys.PublicKeyID, &keys.WechatPayKey.PublicKey),
		wxpay.WithBaseURL("http://127.0.0.1:9/"), // never called: nothing is paid here
		wxpay.WithoutRetries(),
	)
	if err != nil {
		t.Fatal(err)
	}
	parser, err := notify.NewParser(client.Verifier(), keys.APIv3Key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		dsn := newPostgresDatabase(t, base)
		const replicas = 4
		srvs := make([]*server.Server, replicas)
		errs := make([]error, replicas)
		var wg sync.WaitGroup
		for i := range replicas {
			wg.Go(func() {
				srvs[i], errs[i] = server.New(ctx, server.Config{DB: dsn, MchID: keys.MchID, Client: client, Parser: parser, Logger: testLogger(t)})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("replica %d did not start: %v", i, err)
				continue
			}
			if err := srvs[i].Close(ctx); err != nil {
				t.Errorf("replica %d: close: %v", i, err)
			}
		}
	}
}

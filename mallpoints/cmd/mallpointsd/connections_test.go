package main

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestAFloodOfIdleAdminConnectionsLeavesTheNotificationPathAnswering runs
// the built mallpointsd (embedded sandbox) with few file descriptors, holds
// many more idle connections open to its admin listener than that allows,
// and makes a payment: the sandbox's notification must still be answered
// and the payment's points synced. Without a bound on the admin listener's
// connections, they take every descriptor and the notification finds
// none.
func TestAFloodOfIdleAdminConnectionsLeavesTheNotificationPathAnswering(t *testing.T) {
	t.Parallel()
	bin, err := binaries()
	if err != nil {
		t.Fatal(err)
	}
	pubAddr, admAddr, sbAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	p := start(t, "/bin/sh", "-c", `ulimit -n 128 && exec "$0" "$@"`, filepath.Join(bin, "mallpointsd"),
		"--listen", pubAddr, "--admin-listen", admAddr, "--sandbox-listen", sbAddr, "--admin-max-connections", "8")
	waitHTTP(t, "http://"+pubAddr+"/readyz", p)

	// Keep 300 connections open to the admin listener, sending nothing, and
	// open a new one whenever the service closes one.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	for range 300 {
		wg.Go(func() {
			var d net.Dialer
			for ctx.Err() == nil {
				c, err := d.DialContext(ctx, "tcp", admAddr)
				if err != nil {
					time.Sleep(10 * time.Millisecond) // the dial failed: pace the retry, not an assertion
					continue
				}
				stop := context.AfterFunc(ctx, func() { c.Close() })
				c.Read(make([]byte, 1)) // until the service or the test closes it
				stop()
				c.Close()
			}
		})
	}

	var paid struct {
		TransactionID string `json:"transaction_id"`
	}
	if st := postJSON(t, "http://"+sbAddr+"/sandbox/transactions", map[string]any{"appid": demoAppID, "openid": demoOpenID, "amount": 12300}, &paid); st != http.StatusCreated {
		t.Fatalf("payment: status %d\n%s", st, p.out.String())
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got struct {
			SyncCount int `json:"sync_count"`
		}
		if getJSON(t, "http://"+sbAddr+"/sandbox/points/"+paid.TransactionID, &got) == http.StatusOK && got.SyncCount > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the payment's notification was not answered and synced while the admin listener was flooded\n%s", p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

package e2e

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/cmd/mallpoints-load/loadgen"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit"
)

// The embedded sandbox's demo member, as mallpointsd prints it.
const (
	demoAppID  = "wxd678efh567hg6787"
	demoOpenID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
)

// startAlone starts one mallpointsd against its embedded sandbox (no
// credentials, a database of its own) and stops it when the test ends.
func startAlone(t *testing.T, o testkit.ServiceOptions) *testkit.Service {
	t.Helper()
	svc, err := bins.StartService(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !svc.Exited() {
			svc.Kill()
		}
	})
	if svc.SandboxURL == "" {
		t.Fatalf("no embedded sandbox URL printed:\n%s", svc.Output())
	}
	return svc
}

// TestAFloodOfIdleAdminConnectionsLeavesTheNotificationPathAnswering runs
// the built mallpointsd (embedded sandbox) with few file descriptors, holds
// many more idle connections open to its admin listener than that allows,
// and makes a payment: the sandbox's notification must still be answered
// and the payment's points synced. Without a bound on the admin listener's
// connections, they take every descriptor and the notification finds
// none.
func TestAFloodOfIdleAdminConnectionsLeavesTheNotificationPathAnswering(t *testing.T) {
	t.Parallel()
	svc := startAlone(t, testkit.ServiceOptions{Args: []string{"--admin-max-connections", "8"},
		Wrapper: []string{"/bin/sh", "-c", `ulimit -n 128 && exec "$0" "$@"`}})
	u, err := url.Parse(svc.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	admAddr := u.Host

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

	// The embedded sandbox's demo member pays; the run waits for the sync.
	a := &loadgen.Admin{URL: svc.SandboxURL + "/", HTTP: &http.Client{Timeout: 30 * time.Second}}
	if _, err := loadgen.Drive(ctx, a, loadgen.Config{AppID: demoAppID, OpenIDs: []string{demoOpenID}, Payments: 1,
		Poll: 50 * time.Millisecond, Settle: time.Minute}); err != nil {
		t.Fatalf("the payment's notification was not answered and synced while the admin listener was flooded: %v\n%s",
			err, svc.Output())
	}
}

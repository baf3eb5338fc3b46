package sandbox_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// BenchmarkCommitStatus is one signed commit_status query, over loopback,
// with many other transactions in the sandbox: the answer reads an index,
// so its time does not grow with them (before the index, 300k transactions
// took it from 7 to 63 ms).
func BenchmarkCommitStatus(b *testing.B) {
	for _, n := range []int{1_000, 300_000} {
		b.Run(fmt.Sprint("transactions=", n), func(b *testing.B) {
			srv := newServer(b)
			for i := range n {
				// Other customers, not members: recorded, not notified.
				if _, err := srv.Sandbox.Pay(sandbox.PaymentRequest{AppID: appID, OpenID: fmt.Sprint("o", i), Amount: 100}); err != nil {
					b.Fatal(err)
				}
			}
			pay(b, srv.Sandbox, "", true)
			target := "/v3/businesscircle/users/" + openID + "/points/commit_status?brandid=1000&appid=" + appID
			b.ResetTimer()
			for b.Loop() {
				if a := send(b, srv, raw{method: http.MethodGet, target: target}); a.status != 200 {
					b.Fatalf("%d %s", a.status, a.body)
				}
			}
		})
	}
}

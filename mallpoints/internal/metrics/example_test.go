package metrics_test

import (
	"fmt"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/metrics"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// The outbox reports each recorded attempt; the registry is the service's
// own, so it can be read directly.
func Example() {
	m := metrics.New(nil)
	m.ObserveAttempt(storage.Attempt{Outcome: storage.AttemptParked, Code: "PARAM_ERROR", Elapsed: 20 * time.Millisecond})
	fams, err := m.Registry().Gather()
	if err != nil {
		panic(err)
	}
	for _, f := range fams {
		if f.GetName() == "mallpoints_sync_attempts_total" {
			f.Help = nil // keep the example short
			expfmt.MetricFamilyToText(stdout{}, f)
		}
	}
	// Output:
	// # TYPE mallpoints_sync_attempts_total counter
	// mallpoints_sync_attempts_total{code="PARAM_ERROR",outcome="parked"} 1
}

type stdout struct{}

func (stdout) Write(p []byte) (int, error) { fmt.Print(string(p)); return len(p), nil }

package server_test

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

func TestAnAttemptsElapsedTimeIsInMicrosecondsInTheAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{})
	const latency = 50 * time.Millisecond
	if err := e.sb.SetFaults(sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{
		sandbox.PathPointsNotify: {Latency: sandbox.Duration(latency)},
	}}); err != nil {
		t.Fatal(err)
	}
	openid := e.member(e.mchID)
	txid := e.pay(e.mchID, openid, 100, "")
	e.synced(e.mchID, txid)
	var got struct {
		Attempts []struct {
			ElapsedUS int64 `json:"elapsed_us"`
		} `json:"attempts"`
	}
	if status := e.get("/api/transactions/"+e.mchID+"/"+txid, &got); status != http.StatusOK || len(got.Attempts) != 1 {
		t.Fatalf("GET the transaction: %d, %d attempts", status, len(got.Attempts))
	}
	// The call waited 50 ms at the sandbox and took well under 10 s.
	if us := got.Attempts[0].ElapsedUS; us < latency.Microseconds() || us > (10*time.Second).Microseconds() {
		t.Errorf("elapsed_us = %d, want the call's time in microseconds (at least %d)", us, latency.Microseconds())
	}
}

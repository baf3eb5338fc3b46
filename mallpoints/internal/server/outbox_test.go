package server_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

type syncList struct {
	Syncs []struct {
		ID            int64  `json:"id"`
		Kind          string `json:"kind"`
		State         string `json:"state"`
		Attempts      int    `json:"attempts"`
		LastStatus    int    `json:"last_status"`
		LastCode      string `json:"last_code"`
		LastMessage   string `json:"last_message"`
		LastRequestID string `json:"last_request_id"`
	} `json:"syncs"`
}

func TestSyncsFailingWith500429AndDroppedConnectionsAllLandOnceTheFaultClears(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		openid := e.member(e.mchID)
		setFaults := func(f sandbox.Faults) {
			if err := e.sb.SetFaults(f); err != nil {
				t.Fatal(err)
			}
		}
		setFaults(sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{
			businesscircle.PathPointsNotify: {ErrorRate: 0.3, ErrorStatus: 500, DropRate: 0.3},
		}})
		const n = 20
		txids := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { txids[i] = e.pay(e.mchID, openid, int64(1000*(i+1)), "") })
		}
		wg.Wait()
		// Wait until the faults have bitten, then refuse every sync with 429
		// for a while.
		pendingWith := func(code string) bool {
			var l syncList
			e.get("/api/syncs?state=pending&limit=500", &l)
			for _, s := range l.Syncs {
				if s.Attempts > 0 && (code == "" || s.LastCode == code) {
					return true
				}
			}
			return false
		}
		e.eventually("some syncs to fail", func() bool { return pendingWith("") })
		setFaults(sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{
			businesscircle.PathPointsNotify: {ErrorRate: 1, ErrorStatus: 429},
		}})
		for i := range 5 {
			txids = append(txids, e.pay(e.mchID, openid, int64(1000*(n+i+1)), ""))
		}
		e.eventually("a sync to be rate-limited", func() bool { return pendingWith("FREQUENCY_LIMITED") })
		setFaults(sandbox.Faults{})

		var retried, codes = 0, map[string]int{}
		balance := int64(10 * len(txids) * (len(txids) + 1) / 2)
		for i, tx := range txids {
			got := e.synced(e.mchID, tx)
			s := e.sandboxSync(tx)
			// total_points is the balance when the sync was sent: at least
			// the balance right after the payment, at most the final one.
			if s.Count < 1 || s.Body.IncreasedPoints != int64(10*(i+1)) || *s.Body.TotalPoints < got.Transaction.TotalPoints ||
				*s.Body.TotalPoints > balance {
				t.Errorf("%s: sandbox has %+v, ledger %d points total %d, balance %d", tx, s, got.Transaction.Points,
					got.Transaction.TotalPoints, balance)
			}
			if len(got.Attempts) > 1 {
				retried++
			}
			for _, a := range got.Attempts {
				codes[a.Code]++
			}
		}
		if retried == 0 || codes["SYSTEM_ERROR"]+codes["NETWORK_ERROR"] == 0 || codes["FREQUENCY_LIMITED"] == 0 {
			t.Errorf("no attempt failed (retried %d, codes %v): the faults did not bite", retried, codes)
		}
		delete(codes, "")
		t.Logf("%d of %d syncs needed more than one attempt; failed attempts by code: %v", retried, len(txids), codes)
	})
}

func TestARefusedParkingSyncIsParkedListedAndLandsWhenRetriedAfterTheRulesAreFixed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		rulesPath, writeRules := brandRules(t, 999) // not the mall's brand: WeChat Pay refuses it
		e := newEnv(t, dsn, envOptions{rulesPath: rulesPath, brands: map[int64][]string{1001: {appID}}})
		openid := e.member(e.mchID)
		body := map[string]any{"openid": openid, "plate_number": "粤B12345", "state": "IN",
			"time": time.Now().Format(time.RFC3339)}
		var created struct {
			Parking struct {
				SyncID int64 `json:"sync_id"`
			} `json:"parking"`
		}
		if st := e.do(http.MethodPost, "/api/parkings", body, nil, &created); st != http.StatusAccepted {
			t.Fatalf("POST /api/parkings: status %d", st)
		}
		var parked syncList
		e.eventually("the parking sync to park", func() bool {
			parked = syncList{}
			return e.get("/api/parked", &parked) == http.StatusOK && len(parked.Syncs) == 1
		})
		p := parked.Syncs[0]
		if p.ID != created.Parking.SyncID || p.Kind != "parking" || p.LastStatus != 403 || p.LastCode != "NO_AUTH" ||
			p.LastRequestID == "" || p.LastMessage == "" {
			t.Errorf("parked sync %+v: want the 403 NO_AUTH with its message and Request-ID", p)
		}
		// Retrying before the fix parks it again; after it, it lands.
		writeRules(1001)
		if _, err := e.srv.ReloadRules(); err != nil {
			t.Fatal(err)
		}
		if st := e.do(http.MethodPost, fmt.Sprintf("/api/syncs/%d/retry", p.ID), nil, nil, nil); st != http.StatusAccepted {
			t.Fatalf("retry: status %d", st)
		}
		if st := e.do(http.MethodPost, fmt.Sprintf("/api/syncs/%d/retry", p.ID), nil, nil, nil); st != http.StatusConflict {
			t.Errorf("second retry of a sync no longer parked: status %d, want 409", st)
		}
		e.eventually("the retried parking to land", func() bool {
			for _, pk := range e.sb.Parkings() {
				if pk.OpenID == openid && pk.BrandID == 1001 && pk.State == "IN" {
					return true
				}
			}
			return false
		})
		var after struct {
			Sync     struct{ State string }
			Attempts []struct{ Outcome string }
		}
		e.eventually("the sync to be recorded", func() bool {
			e.get(fmt.Sprintf("/api/syncs/%d", p.ID), &after)
			return after.Sync.State == "synced"
		})
		if len(after.Attempts) != 2 || after.Attempts[0].Outcome != "parked" || after.Attempts[1].Outcome != "ok" {
			t.Errorf("attempts %+v, want parked then ok", after.Attempts)
		}
	})
}

package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/cmd/mallpoints-load/loadgen"
)

// checkLedgerMatchesWeChatPay checks, for every payment of run, that the
// service's ledger and the sandbox's record of the sync agree and are right
// under the default rule (one point per full yuan): the sync arrived (once,
// when once is set; otherwise re-sent syncs carried the same points, since
// the last one received is the ledger's), the member's balance is the sum of
// its payments' points, the total_points synced lie between the balance right
// after each payment and the member's balance at the end (it is the balance
// when the sync was sent), every sync of a transaction that was ever sent
// said the same points, no
// sync is parked and every payment notification was delivered.
// It returns how many payments WeChat Pay received more than one sync of.
func checkLedgerMatchesWeChatPay(t *testing.T, c *cluster, run *loadgen.Run, once bool) (resent int) {
	t.Helper()
	ctx := context.Background()
	// WeChat Pay has every sync; a sync whose answer was lost (a dropped
	// connection) is confirmed by its next attempt, after a backoff.
	eventually(t, "the service to have every sync confirmed", 3*time.Minute, func() bool {
		var pending struct {
			Transactions []json.RawMessage `json:"transactions"`
		}
		c.get("/api/transactions?sync_state=pending&limit=1", &pending)
		return len(pending.Transactions) == 0
	})
	type result struct {
		p   *loadgen.Payment
		sb  loadgen.PointsSync
		svc loadgen.ServiceTransaction
		err error
	}
	results := make([]result, len(run.Payments))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	admin := c.anyAdmin()
	for i, p := range run.Payments {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := result{p: p}
			r.sb, r.err = c.admin.Points(ctx, p.TransactionID)
			if r.err == nil {
				r.svc, r.err = loadgen.Transaction(ctx, http.DefaultClient, admin, keys.MchID, p.TransactionID)
			}
			results[i] = r
		}()
	}
	wg.Wait()

	sums := map[string]int64{}
	totals := map[string][]int64{}
	sent := map[string]int64{} // the largest total_points WeChat Pay got per member
	bad := 0
	for _, r := range results {
		if bad > 10 {
			t.Fatal("too many mismatches; stopping")
		}
		if r.err != nil {
			t.Errorf("payment %s: %v", r.p.TransactionID, r.err)
			bad++
			continue
		}
		want := r.p.Amount / 100
		body, err := r.sb.Body()
		tx := r.svc.Transaction
		switch {
		case err != nil:
			t.Errorf("payment %s: the sandbox's last sync does not decode: %v", r.p.TransactionID, err)
		case r.sb.SyncCount == 0:
			t.Errorf("payment %s: never synced", r.p.TransactionID)
		case once && r.sb.SyncCount != 1:
			t.Errorf("payment %s: synced %d times, want once", r.p.TransactionID, r.sb.SyncCount)
		case tx.Sync.State != "synced":
			t.Errorf("payment %s: the service's sync state is %q", r.p.TransactionID, tx.Sync.State)
		case tx.Points != want || body.IncreasedPoints != want || !body.EarnPoints:
			t.Errorf("payment %s of %d fen: ledger %d points, WeChat Pay got %d (earn %v); want %d",
				r.p.TransactionID, r.p.Amount, tx.Points, body.IncreasedPoints, body.EarnPoints, want)
		case body.TotalPoints < tx.TotalPoints || body.OpenID != r.p.OpenID || body.TransactionID != r.p.TransactionID:
			t.Errorf("payment %s: WeChat Pay got total %d for %s, below the balance after the payment, %d for %s",
				r.p.TransactionID, body.TotalPoints, body.OpenID, tx.TotalPoints, r.p.OpenID)
		default:
			if r.sb.SyncCount > 1 {
				resent++
			}
			sums[r.p.OpenID] += want
			totals[r.p.OpenID] = append(totals[r.p.OpenID], tx.TotalPoints)
			sent[r.p.OpenID] = max(sent[r.p.OpenID], body.TotalPoints)
			continue
		}
		bad++
	}
	if t.Failed() {
		return resent
	}
	for openid, sum := range sums {
		var m struct {
			Member struct{ Balance int64 } `json:"member"`
		}
		c.get("/api/members/"+url.PathEscape(keys.MchID)+"/"+url.PathEscape(openid), &m)
		ts := totals[openid]
		slices.Sort(ts)
		if m.Member.Balance != sum || ts[len(ts)-1] != sum || len(slices.Compact(ts)) != len(totals[openid]) {
			t.Errorf("member %s: balance %d, payments' points sum to %d, totals recorded %v (each payment's balance after it: distinct, the last the sum)",
				openid, m.Member.Balance, sum, ts)
		}
		if sent[openid] > sum {
			t.Errorf("member %s: WeChat Pay got total_points %d, above the balance %d", openid, sent[openid], sum)
		}
	}
	var parked struct {
		Syncs []json.RawMessage `json:"syncs"`
	}
	c.get("/api/parked", &parked)
	if len(parked.Syncs) > 0 {
		t.Errorf("%d syncs parked, want none: %s", len(parked.Syncs), parked.Syncs[0])
	}
	if sent := c.wechat.checkNeverSyncedWithDifferentPoints(t); sent < len(run.Payments) {
		t.Errorf("%d points syncs sent for %d payments", sent, len(run.Payments))
	}
	ds, err := c.admin.Deliveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, p := range run.Payments {
		ids[p.NotificationID] = true
	}
	for _, d := range ds {
		if ids[d.ID] && d.State != "delivered" {
			t.Errorf("notification %s (%s) is %s after %d attempts", d.ID, d.EventType, d.State, len(d.Attempts))
		}
	}
	return resent
}

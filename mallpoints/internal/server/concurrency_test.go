package server_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/notify"
)

type feedPage struct {
	Entries []struct {
		Seq          int64  `json:"seq"`
		OpenID       string `json:"openid"`
		Points       int64  `json:"points"`
		BalanceAfter int64  `json:"balance_after"`
	} `json:"entries"`
	NextAfter int64 `json:"next_after"`
}

func TestConcurrentPaymentsOfOneMemberOnTwoReplicasLoseNoUpdateAndTheFeedMissesNoEntry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{replicas: 2})
		openid := e.member(e.mchID)
		const n = 40

		// A CRM polls the feed while the payments land: every page must
		// continue exactly where the last one ended.
		stop := make(chan struct{})
		feedDone := make(chan []int64)
		go func() {
			var seen []int64
			var after int64
			for {
				var p feedPage
				if st := e.get("/api/entries?limit=7&after="+fmtInt(after), &p); st != http.StatusOK {
					t.Errorf("feed: status %d", st)
				}
				for _, en := range p.Entries {
					if en.Seq != after+1 {
						t.Errorf("feed jumped from %d to %d", after, en.Seq)
					}
					after = en.Seq
					seen = append(seen, en.Seq)
				}
				select {
				case <-stop:
					if len(p.Entries) == 0 {
						feedDone <- seen
						return
					}
				default:
				}
			}
		}()

		txids := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { txids[i] = e.pay(e.mchID, openid, int64(100*(i+1)), "") })
		}
		wg.Wait()
		var want int64
		var totals []int64
		for i, tx := range txids {
			got := e.synced(e.mchID, tx).Transaction
			if got.Points != int64(i+1) {
				t.Errorf("%s: points %d, want %d", tx, got.Points, i+1)
			}
			want += int64(i + 1)
			s := e.sandboxSync(tx)
			// A sync whose answer is late on a loaded machine is sent again
			// (its outcome is unknown); that is safe because it carries the
			// same points, and the last body is what WeChat Pay keeps. Its
			// total_points is the balance when it was sent: at least the
			// balance right after the payment, at most the final one.
			if s.Count < 1 || *s.Body.TotalPoints < got.TotalPoints || *s.Body.TotalPoints > int64(n*(n+1)/2) ||
				s.Body.IncreasedPoints != got.Points {
				t.Errorf("%s: sandbox %+v, ledger total %d", tx, s, got.TotalPoints)
			}
			totals = append(totals, got.TotalPoints)
		}
		close(stop)
		seen := <-feedDone

		m := e.memberView(e.mchID, openid)
		if m.Member.Balance != want {
			t.Errorf("balance %d, want %d: an update was lost", m.Member.Balance, want)
		}
		// Each payment's total is the balance right after its own entry, so
		// the totals are distinct and the largest is the balance.
		slices.Sort(totals)
		if len(slices.Compact(slices.Clone(totals))) != n || totals[n-1] != want {
			t.Errorf("totals %v: not %d distinct values ending at %d", totals, n, want)
		}
		if len(seen) != n {
			t.Errorf("the feed saw %d entries, want %d", len(seen), n)
		}
	})
}

func TestTheSameNotificationDeliveredFiveTimesAtOnceMakesOneEntryAndOneSync(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{replicas: 2})
		openid := e.member(e.mchID)
		p := e.payment(e.mchID, openid, 8800, "")
		d := e.deliveryOf(p.NotificationID) // the first delivery may still be in progress
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if st := e.replay(d); st >= 300 && st != http.StatusInternalServerError {
					t.Errorf("re-delivery answered %d", st)
				}
			})
		}
		wg.Wait()
		got := e.synced(e.mchID, p.TransactionID)
		// And again after a restart.
		e.stop()
		e.start()
		if st := e.replay(d); st != http.StatusOK && st != http.StatusNoContent {
			t.Errorf("re-delivery after restart answered %d", st)
		}
		if len(got.Entries) != 1 || got.Entries[0].Points != 88 {
			t.Errorf("entries %+v, want one of 88 points", got.Entries)
		}
		if s := e.sandboxSync(p.TransactionID); s.Count != 1 {
			t.Errorf("synced %d times, want once", s.Count)
		}
		if b := e.memberView(e.mchID, openid).Member.Balance; b != 88 {
			t.Errorf("balance %d, want 88", b)
		}
	})
}

func TestANewNotificationIDForAKnownTransactionChangesNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		openid := e.member(e.mchID)
		tx := e.pay(e.mchID, openid, 5000, "")
		before := e.synced(e.mchID, tx)
		n := &notify.Notification{ID: "another-id-for-" + tx, EventType: businesscircle.EventTypeTransactionSuccess}
		_, err := e.srv.Ledger().Transaction(context.Background(), n, &businesscircle.TransactionEvent{
			MchID: e.mchID, AppID: appID, OpenID: openid, TransactionID: tx, Amount: 999999,
			TimeEnd: "2026-01-01T10:00:00+08:00"})
		if err != nil {
			t.Fatal(err)
		}
		after := e.synced(e.mchID, tx)
		if len(after.Entries) != 1 || after.Transaction.Points != before.Transaction.Points {
			t.Errorf("a second notification id changed the payment: %+v", after.Entries)
		}
		if b := e.memberView(e.mchID, openid).Member.Balance; b != 50 {
			t.Errorf("balance %d, want 50", b)
		}
	})
}

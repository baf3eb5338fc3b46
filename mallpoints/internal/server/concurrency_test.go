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

		// The mall's CRM polls its feed while the payments land.
		stop := make(chan struct{})
		feedDone := make(chan []int64)
		go func() { feedDone <- follow(e, e.mchID, stop) }()

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

// follow reads mall's feed as its CRM does, each page after the last seq
// of the one before, until stop is closed and a page is empty, and
// returns the seqs seen. Each page must go on in seq order.
func follow(e *env, mall string, stop <-chan struct{}) []int64 {
	var seen []int64
	var after int64
	for {
		var p feedPage
		if st := e.get("/api/entries?limit=7&mall="+mall+"&after="+fmtInt(after), &p); st != http.StatusOK {
			e.t.Errorf("mall %s's feed: status %d", mall, st)
		}
		for _, en := range p.Entries {
			if en.Seq <= after {
				e.t.Errorf("mall %s's feed went from %d back to %d", mall, after, en.Seq)
			}
			after = en.Seq
			seen = append(seen, en.Seq)
		}
		select {
		case <-stop:
			if len(p.Entries) == 0 {
				return seen
			}
		default:
		}
	}
}

func TestEachMallsFeedMissesNoPaymentOfTwoReplicasAndTheFeedOfEveryMallAsksForAMall(t *testing.T) {
	const mallA, mallB = "1900000201", "1900000202"
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{replicas: 2, subs: []string{mallA, mallB}})
		malls := []string{mallA, mallB}
		members := map[string][]string{}
		for _, m := range malls {
			members[m] = []string{e.member(m), e.member(m), e.member(m)}
		}
		const each = 15 // payments per mall

		stop := make(chan struct{})
		seen := make([][]int64, len(malls))
		var readers sync.WaitGroup
		for i, m := range malls {
			readers.Go(func() { seen[i] = follow(e, m, stop) })
		}
		txids := map[string][]string{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, m := range malls {
			for i := range each {
				wg.Go(func() {
					tx := e.pay(m, members[m][i%3], int64(100*(i+1)), "")
					mu.Lock()
					txids[m] = append(txids[m], tx)
					mu.Unlock()
				})
			}
		}
		wg.Wait()
		for _, m := range malls {
			for _, tx := range txids[m] {
				e.synced(m, tx)
			}
		}
		close(stop)
		readers.Wait()

		for i, m := range malls {
			var all feedPage
			if st := e.get("/api/entries?limit=500&mall="+m, &all); st != http.StatusOK || len(all.Entries) != each {
				t.Fatalf("mall %s's feed: status %d, %d entries; want %d", m, st, len(all.Entries), each)
			}
			var want []int64
			for _, en := range all.Entries {
				want = append(want, en.Seq)
			}
			if !slices.Equal(seen[i], want) {
				t.Errorf("mall %s: its CRM saw %v while the payments landed; the feed holds %v", m, seen[i], want)
			}
		}
		var refused struct {
			Code  string `json:"code"`
			Field string `json:"field"`
		}
		if st := e.get("/api/entries?after=0", &refused); st != http.StatusBadRequest || refused.Code != "INVALID_PARAMETER" ||
			refused.Field != "mall" {
			t.Errorf("the feed of every mall, with two malls' entries: %d %+v; want 400 INVALID_PARAMETER naming mall", st, refused)
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

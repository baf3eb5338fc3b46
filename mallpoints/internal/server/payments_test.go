package server_test

import (
	"testing"
)

func TestPaymentEarnsAPointPerYuanAndIsSyncedWithTheBalance(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		openid := e.member(e.mchID)

		tx1 := e.pay(e.mchID, openid, 12345, "")
		got := e.synced(e.mchID, tx1)
		if got.Transaction.Points != 123 || got.Transaction.TotalPoints != 123 || !got.Transaction.EarnPoints {
			t.Errorf("first payment: points %d, total %d, earn %v; want 123, 123, true",
				got.Transaction.Points, got.Transaction.TotalPoints, got.Transaction.EarnPoints)
		}
		tx2 := e.pay(e.mchID, openid, 99, "")
		got2 := e.synced(e.mchID, tx2)
		if got2.Transaction.Points != 0 || got2.Transaction.EarnPoints || got2.Transaction.TotalPoints != 123 {
			t.Errorf("99 fen: points %d, earn %v, total %d; want 0, false, 123",
				got2.Transaction.Points, got2.Transaction.EarnPoints, got2.Transaction.TotalPoints)
		}

		for _, c := range []struct {
			txid        string
			points, tot int64
			earn        bool
		}{{tx1, 123, 123, true}, {tx2, 0, 123, false}} {
			s := e.sandboxSync(c.txid)
			if s.Count != 1 || s.Body.IncreasedPoints != c.points || s.Body.TotalPoints == nil ||
				*s.Body.TotalPoints != c.tot || s.Body.EarnPoints != c.earn || s.Body.OpenID != openid {
				t.Errorf("sandbox record of %s: %+v; want one sync of %d points, total %d", c.txid, s, c.points, c.tot)
			}
		}
		if len(got.Attempts) != 1 || got.Attempts[0].Status != 204 || got.Attempts[0].RequestID == "" {
			t.Errorf("attempts: %+v; want one 204 with a Request-ID", got.Attempts)
		}
		if len(got.Entries) != 1 || got.Entries[0].Points != 123 {
			t.Errorf("ledger entries: %+v", got.Entries)
		}
		var m struct {
			Member struct{ Balance int64 } `json:"member"`
		}
		e.get("/api/members/"+e.mchID+"/"+openid, &m)
		if m.Member.Balance != 123 {
			t.Errorf("balance %d, want 123", m.Member.Balance)
		}
	})
}

package storage

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestAConditionOnMallsIsAddedOnlyForSome(t *testing.T) {
	t.Parallel()
	if in, args := Malls(nil).and("mall", 3); in != "" || args != nil {
		t.Errorf("every mall: %q %v, want nothing", in, args)
	}
	in, args := Malls{"1", "2"}.and("t.mall", 3)
	if in != " AND t.mall IN ($3, $4)" || len(args) != 2 || args[0] != "1" || args[1] != "2" {
		t.Errorf("two malls: %q %v", in, args)
	}
}

// testReadsConfinedToMalls writes the same kinds of rows at two malls and
// reads them confined to one: every list, sum and search the API and the
// dashboard make for an account with --malls.
func testReadsConfinedToMalls(t *testing.T, ctx context.Context, db *DB) {
	const other = "1900000999"
	mine := Malls{mall}
	from := time.Now().Add(-time.Hour)
	for i, m := range []string{mall, other, other} {
		if _, err := writePaymentAt(ctx, db, m, "oShared", "42000000"+string(rune('1'+i)), int64(10*(i+1)), time.Now()); err != nil {
			t.Fatal(err)
		}
		inTx(t, db, func(tx *Tx) error {
			s, err := tx.NewSync(ctx, SyncParking, m, "pk-"+string(rune('1'+i)))
			if err != nil {
				return err
			}
			return tx.InsertParking(ctx, &Parking{Mall: m, OpenID: "oShared", AppID: "wxapp", PlateNumber: "粤B12345",
				State: "IN", Time: "2026-05-01T12:00:00+08:00", SyncID: s.ID})
		})
		if err := db.RecordRefusal(ctx, Refusal{NotificationID: "r-" + string(rune('1'+i)), EventType: "MALL_TRANSACTION.SUCCESS",
			Mall: m, Field: "openid", Rule: "length"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.exec(ctx, `UPDATE transactions SET decision = 'parked'`); err != nil {
		t.Fatal(err)
	}
	tr, err := db.Transaction(ctx, other, "420000002")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := db.RecordAttempt(ctx, Attempt{SyncID: tr.SyncID, Attempt: 1, Outcome: AttemptOK, Status: 204, At: time.Now()}, SyncSynced); err != nil || !ok {
		t.Fatal(ok, err)
	}
	to := time.Now().Add(time.Hour)
	count := func(name string, n int, err error, want int) {
		t.Helper()
		if err != nil || n != want {
			t.Errorf("%s: %d, %v; want %d", name, n, err, want)
		}
	}
	for _, c := range []struct {
		scope           Malls
		want            int // rows of each kind the scope sees
		pending, synced int // syncs: a payment's and a parking's each, one payment's synced
	}{{nil, 3, 5, 1}, {mine, 1, 2, 0}} {
		ms, err := db.Members(ctx, c.scope, "", "", 10)
		count("members", len(ms), err, min(c.want, 2)) // one member per mall
		ms, err = db.SearchMembers(ctx, c.scope, "oShared", MemberRef{}, 10)
		count("members by openid", len(ms), err, min(c.want, 2))
		ms, err = db.SearchMembers(ctx, c.scope, "oSh", MemberRef{}, 10)
		count("members by the start of an openid", len(ms), err, min(c.want, 2))
		exp, err := db.ExpiringInPage(ctx, c.scope, "", "", 10, time.Time{}, to)
		count("expiring in the page", len(exp), err, 0)
		txs, err := db.Transactions(ctx, TransactionFilter{Malls: c.scope, Limit: 10})
		count("transactions", len(txs), err, c.want)
		syncs, err := db.Syncs(ctx, c.scope, "", 0, 10)
		count("syncs", len(syncs), err, 2*c.want) // a payment's and a parking's
		ps, err := db.Parkings(ctx, c.scope, 0, 10)
		count("parkings", len(ps), err, c.want)
		// The feed of several malls is followed mall by mall; confined to
		// one, it is that mall's.
		es, err := db.EntriesAfter(ctx, c.scope, "", 0, 10)
		if c.scope == nil {
			if !errors.Is(err, ErrSeveralMalls) {
				t.Errorf("the feed of every mall: %v, want ErrSeveralMalls", err)
			}
		} else {
			count("the feed", len(es), err, c.want)
		}
		day, err := db.EntriesBetween(ctx, c.scope, from, to, 0, 10)
		count("entries of the day", len(day), err, c.want)
		rs, err := db.Refusals(ctx, c.scope, 10)
		count("refusals", len(rs), err, c.want)
		us, err := db.UndecidedList(ctx, c.scope, "", 10)
		count("undecided", len(us), err, c.want)
		o, err := db.Overview(ctx, c.scope, from, to)
		count("overview payments", int(o.Payments), err, c.want)
		count("overview pending", int(o.Pending), err, c.pending)
		count("overview synced", int(o.Synced), err, c.synced)
		hours, err := db.Hourly(ctx, c.scope, from, 2)
		count("hourly", int(hours[0].Payments+hours[1].Payments), err, c.want)
	}
	// Members only of mine: the list with a mall outside the scope is empty.
	if ms, err := db.Members(ctx, mine, other, "", 10); err != nil || len(ms) != 0 {
		t.Errorf("members of another mall, confined to mine: %+v, %v", ms, err)
	}
	if a, err := db.LastAttempt(ctx, nil); err != nil || a.SyncID != tr.SyncID {
		t.Errorf("the last attempt: %+v, %v", a, err)
	}
	if a, err := db.LastAttempt(ctx, mine); err == nil {
		t.Errorf("the last attempt of my malls, which have none: %+v", a)
	}
	if a, err := db.LastAttempt(ctx, Malls{other}); err != nil || a.SyncID != tr.SyncID {
		t.Errorf("the last attempt of the other mall: %+v, %v", a, err)
	}
}

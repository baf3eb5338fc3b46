package storage

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The conformance suite: every storage operation and every ledger invariant,
// run on both engines, each case on a database of its own. An engine that
// answers differently from the other fails here.
var conformance = []struct {
	name string
	run  func(t *testing.T, ctx context.Context, db *DB)
}{
	{"a notification id is recorded once", testNotificationRecordedOnce},
	{"a member is created once, locked and updated", testMemberLifecycle},
	{"a payment is recorded once with its sync and entry", testPaymentRecordedOnce},
	{"the points earned are summed over time_end's range", testEarnedBetween},
	{"a sync moves through its states and counts its attempts", testSyncStates},
	{"an attempt is recorded once, only while pending", testAttemptRecordedOnce},
	{"a rolled-back entry is neither listed nor counted", testRolledBackEntryIsNeitherListedNorCounted},
	{"each mall's feed misses no entry of concurrent writers", testEachMallsFeedMissesNothing},
	{"the feed of every mall needs the ledger to hold one mall", testTheFeedOfEveryMallNeedsOneMall},
	{"a balance is the sum of its entries", testBalanceIsTheSumOfEntries},
	{"a refund is recorded once and adds to its payment's totals", testRefundRecordedOnce},
	{"an adjustment is recorded once per key", testAdjustmentRecordedOnce},
	{"a parking is recorded with its sync, once per key", testParkings},
	{"an erased member never comes back", testErasedMemberNeverComesBack},
	{"a refused notification counts its deliveries", testRefusals},
	{"the metrics and the dashboard read what was written", testStateAndDashboard},
	{"an account's name is taken once, also when disabled", testAccountNameTakenOnce},
	{"a session and a token lead to their enabled account", testSessionsAndTokens},
	{"disabling or resetting an account ends its sessions and tokens", testAccountRevocation},
	{"a read confined to some malls lists theirs only", testReadsConfinedToMalls},
	{"the audit log is appended to, filtered and never changed", testAuditLog},
	{"the console searches members by prefix and pages its lists", testConsoleReads},
	{"a member's CRM ids are set by subset and its phone found exactly", testMemberCRMFields},
	{"erasure clears the CRM ids and rewrites the member's audit subjects, nothing else", testErasureRewritesAudit},
	{"the query budget is shared and a smaller limit stops first", testQueryBudget},
	{"members due for a re-check come oldest check first, active ones only", testDueForRecheck},
	{"the feed carries the shop, the amount and the CRM ids", testFeedColumns},
	{"a purge deletes old notifications and attempts in bounded batches, never the ledger", testPurge},
}

func TestEveryOperationAndLedgerInvariantHoldsOnBothEngines(t *testing.T) {
	t.Parallel()
	for _, c := range conformance {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			forEachEngine(t, func(t *testing.T, db *DB) { c.run(t, context.Background(), db) })
		})
	}
}

const mall = "1900000109"

// payment writes a payment of points to openid as the ledger does, in one
// transaction, and returns its entry.
func payment(t *testing.T, db *DB, openid, txid string, points int64, timeEnd time.Time) Entry {
	t.Helper()
	e, err := writePayment(context.Background(), db, openid, txid, points, timeEnd)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func writePayment(ctx context.Context, db *DB, openid, txid string, points int64, timeEnd time.Time) (Entry, error) {
	return writePaymentAt(ctx, db, mall, openid, txid, points, timeEnd)
}

// writePaymentAt is writePayment at the mall given.
func writePaymentAt(ctx context.Context, db *DB, mall, openid, txid string, points int64, timeEnd time.Time) (Entry, error) {
	var e Entry
	err := db.InTx(ctx, func(tx *Tx) error {
		if isNew, err := tx.RecordNotification(ctx, Notification{ID: "n-" + txid, EventType: "MALL_TRANSACTION.SUCCESS",
			Mall: mall, BusinessKey: txid, Outcome: "applied"}); err != nil || !isNew {
			return fmt.Errorf("record notification: new %v, %v", isNew, err)
		}
		m, err := tx.LockMember(ctx, mall, openid, "wxapp")
		if err != nil {
			return err
		}
		s, err := tx.NewSync(ctx, SyncPoints, mall, txid)
		if err != nil {
			return err
		}
		m.Balance += points
		if isNew, err := tx.InsertTransaction(ctx, &Transaction{Mall: mall, TransactionID: txid, NotificationID: "n-" + txid,
			OpenID: openid, AppID: "wxapp", Amount: points * 100, TimeEnd: timeEnd, Points: points, EarnPoints: true,
			RuleVersion: "v1", TotalPoints: m.Balance, SyncID: s.ID}); err != nil || !isNew {
			return fmt.Errorf("insert transaction: new %v, %v", isNew, err)
		}
		if err := tx.UpdateMember(ctx, m); err != nil {
			return err
		}
		e = Entry{Mall: mall, OpenID: openid, Kind: EntryEarn, Points: points, Requested: points, BalanceAfter: m.Balance,
			TransactionID: txid, NotificationID: "n-" + txid, RuleVersion: "v1"}
		return tx.AppendEntry(ctx, &e)
	})
	return e, err
}

func testNotificationRecordedOnce(t *testing.T, ctx context.Context, db *DB) {
	n := Notification{ID: "n-1", EventType: "MALL_AUTH.ACTIVATE_CARD", Mall: mall, BusinessKey: "oA", Outcome: "applied",
		RequestID: "req-1"}
	for i, want := range []bool{true, false} {
		inTx(t, db, func(tx *Tx) error {
			isNew, err := tx.RecordNotification(ctx, n)
			if err == nil && isNew != want {
				t.Errorf("delivery %d: new = %v, want %v", i+1, isNew, want)
			}
			return err
		})
	}
	inTx(t, db, func(tx *Tx) error { return tx.SetNotificationOutcome(ctx, "n-1", "duplicate_key") })
	got, err := db.Notification(ctx, "n-1")
	if err != nil || got.Outcome != "duplicate_key" || got.RequestID != "req-1" || got.BusinessKey != "oA" || got.ReceivedAt.IsZero() {
		t.Errorf("notification %+v, %v", got, err)
	}
	if _, err := db.Notification(ctx, "n-2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("an unknown notification: %v, want ErrNotFound", err)
	}
}

func testMemberLifecycle(t *testing.T, ctx context.Context, db *DB) {
	inTx(t, db, func(tx *Tx) error {
		m, err := tx.LockMember(ctx, mall, "oA", "wxapp")
		if err != nil || m.AppID != "wxapp" || m.Balance != 0 || m.CreatedAt.IsZero() {
			return fmt.Errorf("a new member: %+v, %v", m, err)
		}
		m.Balance, m.AuthType = 7, "REGISTERED_MODE"
		if err := tx.UpdateMember(ctx, m); err != nil {
			return err
		}
		return tx.SetCardCode(ctx, mall, "oA", "card-1")
	})
	inTx(t, db, func(tx *Tx) error {
		// A member seen again keeps what it had; the app id given is not written.
		m, err := tx.LockMember(ctx, mall, "oA", "other")
		if err != nil || m.AppID != "wxapp" || m.Balance != 7 || m.AuthType != "REGISTERED_MODE" {
			return fmt.Errorf("a known member: %+v, %v", m, err)
		}
		if m, err = tx.Member(ctx, mall, "oA"); err != nil || m.Balance != 7 {
			return fmt.Errorf("the member inside the transaction: %+v, %v", m, err)
		}
		if _, err := tx.Member(ctx, mall, "oNobody"); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("an unknown member: %v, want ErrNotFound", err)
		}
		_, err = tx.LockMember(ctx, "1900000110", "oA", "wxapp2")
		return err
	})
	if m, err := db.Member(ctx, mall, "oA"); err != nil || m.Balance != 7 {
		t.Errorf("member %+v, %v", m, err)
	}
	if list, err := db.Members(ctx, nil, "", "", 10); err != nil || len(list) != 2 {
		t.Errorf("every mall's members: %d, %v; want 2", len(list), err)
	}
	if list, err := db.Members(ctx, nil, mall, "", 10); err != nil || len(list) != 1 {
		t.Errorf("one mall's members: %d, %v; want 1", len(list), err)
	}
	if list, err := db.Members(ctx, nil, "", "oA", 10); err != nil || len(list) != 0 {
		t.Errorf("members after oA: %d, %v; want 0", len(list), err)
	}
	if list, err := db.SearchMembers(ctx, nil, "oA", MemberRef{}, 10); err != nil || len(list) != 2 || list[0].Mall != mall {
		t.Errorf("oA in every mall: %+v, %v", list, err)
	}
}

func testPaymentRecordedOnce(t *testing.T, ctx context.Context, db *DB) {
	at := time.Date(2026, 5, 1, 4, 0, 0, 0, time.UTC)
	e := payment(t, db, "oA", "4200000001", 12, at)
	err := db.InTx(ctx, func(tx *Tx) error {
		if known, err := tx.TransactionExists(ctx, mall, "4200000001"); err != nil || !known {
			return fmt.Errorf("exists: %v, %v", known, err)
		}
		if known, err := tx.TransactionExists(ctx, mall, "4200000002"); err != nil || known {
			return fmt.Errorf("an unknown payment exists: %v, %v", known, err)
		}
		// The payment's key is unique: a second insert writes nothing.
		isNew, err := tx.InsertTransaction(ctx, &Transaction{Mall: mall, TransactionID: "4200000001", OpenID: "oB",
			Points: 99, SyncID: 1})
		if err != nil || isNew {
			return fmt.Errorf("the second insert: new %v, %v", isNew, err)
		}
		got, err := tx.Transaction(ctx, mall, "4200000001")
		if err != nil || got.OpenID != "oA" || got.Points != 12 {
			return fmt.Errorf("inside the transaction: %+v, %v", got, err)
		}
		// A sync's subject is unique per kind and mall.
		if _, err := tx.NewSync(ctx, SyncPoints, mall, "4200000001"); err == nil {
			return errors.New("a second points sync of one payment was written")
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	got, err := db.Transaction(ctx, mall, "4200000001")
	if err != nil || got.OpenID != "oA" || got.Points != 12 || !got.TimeEnd.Equal(at) || !got.EarnPoints ||
		got.Sync == nil || got.Sync.State != SyncPending || got.Sync.ID != got.SyncID {
		t.Errorf("payment %+v, %v", got, err)
	}
	if _, err := db.Transaction(ctx, mall, "4200000002"); !errors.Is(err, ErrNotFound) {
		t.Errorf("an unknown payment: %v, want ErrNotFound", err)
	}
	bySync, balance, err := db.TransactionBySync(ctx, got.SyncID)
	if err != nil || bySync.TransactionID != "4200000001" || balance != 12 {
		t.Errorf("by sync: %+v, balance %d, %v", bySync, balance, err)
	}
	for _, f := range []struct {
		filter TransactionFilter
		want   int
	}{
		{TransactionFilter{Limit: 10}, 1},
		{TransactionFilter{Mall: mall, OpenID: "oA", SyncState: SyncPending, Limit: 10}, 1},
		{TransactionFilter{OpenID: "oB", Limit: 10}, 0},
		{TransactionFilter{SyncState: SyncSynced, Limit: 10}, 0},
		{TransactionFilter{Before: micros(got.CreatedAt), Limit: 10}, 0},
	} {
		if list, err := db.Transactions(ctx, f.filter); err != nil || len(list) != f.want {
			t.Errorf("transactions %+v: %d, %v; want %d", f.filter, len(list), err, f.want)
		}
	}
	e.CreatedAt = e.CreatedAt.Truncate(time.Microsecond) // as stored
	if list, err := db.TransactionEntries(ctx, mall, "4200000001"); err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], e) {
		t.Errorf("the payment's entries: %+v, %v; want [%+v]", list, err, e)
	}
}

// errRollback ends a transaction whose checks passed, undoing its writes.
var errRollback = errors.New("roll back")

func testEarnedBetween(t *testing.T, ctx context.Context, db *DB) {
	day := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	payment(t, db, "oA", "4200000001", 10, day.Add(-time.Microsecond))
	payment(t, db, "oA", "4200000002", 20, day)
	payment(t, db, "oA", "4200000003", 40, day.Add(24*time.Hour-time.Microsecond))
	payment(t, db, "oA", "4200000004", 80, day.Add(24*time.Hour))
	payment(t, db, "oB", "4200000005", 160, day.Add(time.Hour))
	inTx(t, db, func(tx *Tx) error {
		sum, err := tx.EarnedBetween(ctx, mall, "oA", day, day.Add(24*time.Hour))
		if err == nil && sum != 60 {
			t.Errorf("earned in [day, day+24h): %d, want 60", sum)
		}
		return err
	})
}

func testSyncStates(t *testing.T, ctx context.Context, db *DB) {
	var ids []int64
	inTx(t, db, func(tx *Tx) error {
		for _, subject := range []string{"a", "b", "c"} {
			s, err := tx.NewSync(ctx, SyncParking, mall, subject)
			if err != nil {
				return err
			}
			ids = append(ids, s.ID)
		}
		return nil
	})
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	record := func(id int64, attempt int, outcome, state string) {
		t.Helper()
		if ok, err := db.RecordAttempt(ctx, Attempt{SyncID: id, Attempt: attempt, Outcome: outcome, Status: 400,
			Code: "PARAM_ERROR", At: at}, state); err != nil || !ok {
			t.Fatalf("attempt %d of sync %d: %v, %v", attempt, id, ok, err)
		}
	}
	record(ids[0], 1, AttemptUnknown, SyncPending)
	record(ids[0], 2, AttemptParked, SyncParked)
	record(ids[1], 1, AttemptUnconfirmed, SyncUnconfirmed)
	counts, err := db.SyncCounts(ctx)
	if err != nil || counts[SyncPending] != 1 || counts[SyncParked] != 1 || counts[SyncUnconfirmed] != 1 || counts[SyncSynced] != 0 {
		t.Errorf("counts %v, %v", counts, err)
	}
	if list, err := db.Syncs(ctx, nil, SyncParked, 0, 10); err != nil || len(list) != 1 || list[0].ID != ids[0] {
		t.Errorf("parked syncs %+v, %v", list, err)
	}
	if list, err := db.Syncs(ctx, nil, "", ids[0], 10); err != nil || len(list) != 2 {
		t.Errorf("syncs after the first: %d, %v; want 2", len(list), err)
	}
	if unknown, err := db.HadUnknownOutcome(ctx, ids[0]); err != nil || !unknown {
		t.Errorf("an unknown outcome of sync %d: %v, %v", ids[0], unknown, err)
	}
	if unknown, err := db.HadUnknownOutcome(ctx, ids[1]); err != nil || unknown {
		t.Errorf("an unknown outcome of sync %d: %v, %v", ids[1], unknown, err)
	}
	inTx(t, db, func(tx *Tx) error {
		for _, c := range []struct {
			id       int64
			attempts int
			ok       bool
		}{{ids[0], 2, true}, {ids[1], 1, true}, {ids[2], 0, false}, {ids[0], 0, false}} {
			attempts, ok, err := tx.Unpark(ctx, c.id)
			if err != nil {
				return err
			}
			if attempts != c.attempts || ok != c.ok {
				t.Errorf("unpark sync %d: %d attempts, %v; want %d, %v", c.id, attempts, ok, c.attempts, c.ok)
			}
		}
		return nil
	})
	if s, err := db.Sync(ctx, ids[1]); err != nil || s.State != SyncPending || s.LastCode != "PARAM_ERROR" {
		t.Errorf("an unparked sync: %+v, %v", s, err)
	}
	if _, err := db.Sync(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("an unknown sync: %v, want ErrNotFound", err)
	}
}

func testAttemptRecordedOnce(t *testing.T, ctx context.Context, db *DB) {
	if _, err := db.LastAttempt(ctx, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("the last attempt of none: %v, want ErrNotFound", err)
	}
	e := payment(t, db, "oA", "4200000001", 5, time.Now())
	tr, err := db.Transaction(ctx, mall, e.TransactionID)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	// Attempt 3 after none recorded: two attempts died unrecorded.
	a := Attempt{SyncID: tr.SyncID, Attempt: 3, Outcome: AttemptOK, Status: 204, RequestID: "req-3", At: at,
		Elapsed: 3 * time.Millisecond}
	for i, want := range []bool{true, false} {
		ok, err := db.RecordAttempt(ctx, a, SyncSynced)
		if err != nil || ok != want {
			t.Errorf("record %d: %v, %v; want %v", i+1, ok, err, want)
		}
	}
	s, err := db.Sync(ctx, tr.SyncID)
	if err != nil || s.State != SyncSynced || s.Attempts != 3 || s.LastStatus != 204 || s.LastRequestID != "req-3" ||
		!s.SyncedAt.Equal(at) || !s.LastAttemptAt.Equal(at) {
		t.Errorf("sync %+v, %v", s, err)
	}
	if list, err := db.Attempts(ctx, tr.SyncID); err != nil || len(list) != 1 || list[0] != a {
		t.Errorf("attempts %+v, %v; want [%+v]", list, err, a)
	}
	if last, err := db.LastAttempt(ctx, nil); err != nil || last != a {
		t.Errorf("last attempt %+v, %v", last, err)
	}
}

func testBalanceIsTheSumOfEntries(t *testing.T, ctx context.Context, db *DB) {
	payment(t, db, "oA", "4200000001", 30, time.Now())
	payment(t, db, "oA", "4200000002", 12, time.Now())
	inTx(t, db, func(tx *Tx) error {
		m, err := tx.Member(ctx, mall, "oA")
		if err != nil {
			return err
		}
		m.Balance -= 40
		if err := tx.UpdateMember(ctx, m); err != nil {
			return err
		}
		return tx.AppendEntry(ctx, &Entry{Mall: mall, OpenID: "oA", Kind: EntryAdjustment, Points: -40, Requested: -40,
			BalanceAfter: m.Balance, IdempotencyKey: "k-1"})
	})
	m, err := db.Member(ctx, mall, "oA")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := db.BalanceCheck(ctx, mall, "oA")
	if err != nil || sum != m.Balance || m.Balance != 2 {
		t.Errorf("balance %d, sum of entries %d, %v; want both 2", m.Balance, sum, err)
	}
	list, err := db.MemberEntries(ctx, mall, "oA", 2)
	if err != nil || len(list) != 2 || list[0].Kind != EntryAdjustment || list[0].BalanceAfter != m.Balance {
		t.Errorf("the newest two entries: %+v, %v", list, err)
	}
}

func testRefundRecordedOnce(t *testing.T, ctx context.Context, db *DB) {
	payment(t, db, "oA", "4200000001", 10, time.Now())
	r := Refund{Mall: mall, RefundID: "r-1", TransactionID: "4200000001", NotificationID: "n-r-1", OpenID: "oA",
		RefundAmount: 1500, Deducted: 10, Surplus: 500}
	for i, want := range []bool{true, false} {
		inTx(t, db, func(tx *Tx) error {
			copy := r
			isNew, err := tx.InsertRefund(ctx, &copy)
			if err != nil {
				return err
			}
			if isNew != want {
				t.Errorf("refund %d: new %v, want %v", i+1, isNew, want)
			}
			if isNew {
				return tx.AddRefund(ctx, mall, "4200000001", 1000, 10)
			}
			return nil
		})
	}
	got, err := db.Transaction(ctx, mall, "4200000001")
	if err != nil || got.Refunded != 1000 || got.PointsDeducted != 10 {
		t.Errorf("the payment's refund totals: %+v, %v", got, err)
	}
	list, err := db.Refunds(ctx, mall, "4200000001")
	if err != nil || len(list) != 1 || list[0].Surplus != 500 || list[0].Deducted != 10 || list[0].CreatedAt.IsZero() {
		t.Errorf("refunds %+v, %v", list, err)
	}
}

func testAdjustmentRecordedOnce(t *testing.T, ctx context.Context, db *DB) {
	a := Adjustment{Mall: mall, IdempotencyKey: "k-1", RequestHash: "h", OpenID: "oA", Points: -3, Reason: "coffee",
		EntrySeq: 1, Actor: "token"}
	for i, want := range []bool{true, false} {
		inTx(t, db, func(tx *Tx) error {
			copy := a
			isNew, err := tx.InsertAdjustment(ctx, &copy)
			if err == nil && isNew != want {
				t.Errorf("adjustment %d: new %v, want %v", i+1, isNew, want)
			}
			return err
		})
	}
	inTx(t, db, func(tx *Tx) error {
		got, err := tx.Adjustment(ctx, mall, "k-1")
		if err != nil || got.Points != -3 || got.Actor != "token" || got.RequestHash != "h" {
			return fmt.Errorf("inside a transaction: %+v, %v", got, err)
		}
		if _, err := tx.Adjustment(ctx, mall, "k-2"); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("an unknown key: %v, want ErrNotFound", err)
		}
		return nil
	})
	if got, err := db.Adjustment(ctx, mall, "k-1"); err != nil || got.Reason != "coffee" || got.CreatedAt.IsZero() {
		t.Errorf("adjustment %+v, %v", got, err)
	}
}

func testParkings(t *testing.T, ctx context.Context, db *DB) {
	var keyed Parking
	inTx(t, db, func(tx *Tx) error {
		for i, key := range []string{"k-1", "", ""} {
			s, err := tx.NewSync(ctx, SyncParking, mall, fmt.Sprintf("pk_%d", i))
			if err != nil {
				return err
			}
			p := Parking{Mall: mall, OpenID: "oA", AppID: "wxapp", PlateNumber: "粤B12345", State: "IN",
				Time: "2026-05-01T12:00:00+08:00", IdempotencyKey: key, SyncID: s.ID}
			if err := tx.InsertParking(ctx, &p); err != nil {
				return fmt.Errorf("parking %d: %w", i, err)
			}
			if i == 0 {
				keyed = p
			}
		}
		got, err := tx.ParkingByKey(ctx, mall, "k-1")
		if err != nil || got.ID != keyed.ID || got.Sync == nil || got.Sync.State != SyncPending {
			return fmt.Errorf("by key: %+v, %v", got, err)
		}
		if _, err := tx.ParkingByKey(ctx, mall, "k-2"); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("an unknown key: %v, want ErrNotFound", err)
		}
		return nil
	})
	if got, err := db.Parking(ctx, keyed.ID); err != nil || got.PlateNumber != "粤B12345" || got.IdempotencyKey != "k-1" {
		t.Errorf("parking %+v, %v", got, err)
	}
	if got, err := db.ParkingBySync(ctx, keyed.SyncID); err != nil || got.ID != keyed.ID {
		t.Errorf("by sync: %+v, %v", got, err)
	}
	if list, err := db.Parkings(ctx, nil, 0, 10); err != nil || len(list) != 3 || list[2].ID != keyed.ID {
		t.Errorf("parkings newest first: %+v, %v", list, err)
	}
	if list, err := db.Parkings(ctx, nil, keyed.ID+1, 10); err != nil || len(list) != 1 {
		t.Errorf("parkings before %d: %d, %v; want 1", keyed.ID+1, len(list), err)
	}
}

func testErasedMemberNeverComesBack(t *testing.T, ctx context.Context, db *DB) {
	e := payment(t, db, "oA", "4200000001", 10, time.Now())
	inTx(t, db, func(tx *Tx) error {
		if err := tx.SetCardCode(ctx, mall, "oA", "card-1"); err != nil {
			return err
		}
		s, err := tx.NewSync(ctx, SyncParking, mall, "pk_1")
		if err != nil {
			return err
		}
		return tx.InsertParking(ctx, &Parking{Mall: mall, OpenID: "oA", PlateNumber: "粤B12345", State: "IN", SyncID: s.ID})
	})
	inTx(t, db, func(tx *Tx) error {
		n, err := tx.UnfinishedSyncs(ctx, mall, "oA")
		if err == nil && (n[SyncPending] != 2 || n[SyncParked] != 0) {
			t.Errorf("unfinished syncs %v, want 2 pending", n)
		}
		return err
	})
	inTx(t, db, func(tx *Tx) error {
		for _, c := range []struct {
			openid string
			want   bool
		}{{"oA", true}, {"oA", false}, {"oNobody", false}} {
			ok, err := tx.EraseMember(ctx, mall, c.openid, "erased_1")
			if err != nil {
				return err
			}
			if ok != c.want {
				t.Errorf("erase %s: %v, want %v", c.openid, ok, c.want)
			}
		}
		return nil
	})
	if _, err := db.Member(ctx, mall, "oA"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the erased openid is still a member: %v", err)
	}
	if list, err := db.MemberEntries(ctx, mall, "oA", 10); err != nil || len(list) != 0 {
		t.Errorf("the erased openid still has entries: %+v, %v", list, err)
	}
	if list, err := db.Transactions(ctx, TransactionFilter{OpenID: "oA", Limit: 10}); err != nil || len(list) != 0 {
		t.Errorf("the erased openid still has payments: %+v, %v", list, err)
	}
	m, err := db.Member(ctx, mall, "erased_1")
	if err != nil || !m.Erased || m.Balance != 10 {
		t.Errorf("the pseudonym: %+v, %v; want erased with balance 10", m, err)
	}
	if list, err := db.MemberEntries(ctx, mall, "erased_1", 10); err != nil || len(list) != 1 || list[0].Seq != e.Seq {
		t.Errorf("the pseudonym's entries: %+v, %v", list, err)
	}
	if list, err := db.Parkings(ctx, nil, 0, 10); err != nil || len(list) != 1 || list[0].OpenID != "erased_1" || list[0].PlateNumber != "" {
		t.Errorf("the erased member's parking: %+v, %v", list, err)
	}
}

func testRefusals(t *testing.T, ctx context.Context, db *DB) {
	for _, r := range []Refusal{
		{NotificationID: "n-1", EventType: "MALL_TRANSACTION.SUCCESS", Mall: mall, Field: "openid", Rule: "length"},
		{NotificationID: "n-1", EventType: "MALL_TRANSACTION.SUCCESS", Mall: mall, Field: "amount", Rule: "range"},
		{NotificationID: "n-2", EventType: "MALL_REFUND.SUCCESS", Mall: mall, Field: "refund_id", Rule: "length"},
	} {
		if err := db.RecordRefusal(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	list, err := db.Refusals(ctx, nil, 10)
	if err != nil || len(list) != 2 {
		t.Fatalf("refusals %+v, %v", list, err)
	}
	for _, r := range list {
		if r.NotificationID == "n-1" && (r.Deliveries != 2 || r.Field != "amount" || r.FirstAt.After(r.LastAt)) {
			t.Errorf("a notification refused twice: %+v", r)
		}
	}
}

func testStateAndDashboard(t *testing.T, ctx context.Context, db *DB) {
	from := time.Now().Add(-time.Hour)
	e := payment(t, db, "oA", "4200000001", 10, time.Now())
	payment(t, db, "oB", "4200000002", 20, time.Now())
	tr, err := db.Transaction(ctx, mall, e.TransactionID)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := db.RecordAttempt(ctx, Attempt{SyncID: tr.SyncID, Attempt: 1, Outcome: AttemptOK, Status: 204,
		At: time.Now()}, SyncSynced); err != nil || !ok {
		t.Fatal(ok, err)
	}
	st, err := db.State(ctx)
	if err != nil || st.Pending != 1 || st.OldestPending.IsZero() || st.Parked != 0 || st.LedgerEntries != 2 ||
		st.LastNotification[mall].IsZero() || len(st.LastNotification) != 1 {
		t.Errorf("state %+v, %v", st, err)
	}
	to := time.Now().Add(time.Hour)
	o, err := db.Overview(ctx, nil, from, to)
	if err != nil || o.Payments != 2 || o.Amount != 3000 || o.Points.Issued() != 30 || o.Points.Deducted() != 0 ||
		o.Pending != 1 || o.Synced != 1 || o.LagP99 < 0 {
		t.Errorf("overview %+v, %v", o, err)
	}
	hours, err := db.Hourly(ctx, nil, from, 2)
	if err != nil || len(hours) != 2 || hours[0].Payments+hours[1].Payments != 2 || hours[0].Points+hours[1].Points != 30 {
		t.Errorf("hourly %+v, %v", hours, err)
	}
	if list, err := db.EntriesBetween(ctx, nil, from, to, 1, 10); err != nil || len(list) != 1 || list[0].Seq != 2 ||
		list[0].Amount != 2000 || list[0].TransactionID != "4200000002" {
		t.Errorf("entries between, after seq 1: %+v, %v", list, err)
	}
}

// testConsoleReads: the dashboard's search by the start of an openid, its
// pages of a member's ledger, of members across malls and of decisions,
// a member's points by cause, its last synced payment and a day's entries
// with the shop and the amount of their payment or refund.
func testConsoleReads(t *testing.T, ctx context.Context, db *DB) {
	const other = "1900000110"
	now := time.Now()
	for _, p := range []struct{ mall, openid, txid string }{
		{mall, "oAbc_1", "4200000001"}, {other, "oAbc_1", "4200000002"}, {mall, "oAbd", "4200000003"},
		{mall, "oAb", "4200000004"}, {mall, "oB", "4200000005"}, {mall, "oAbc_1", "4200000006"},
	} {
		if _, err := writePaymentAt(ctx, db, p.mall, p.openid, p.txid, 10, now); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(list []Member) string {
		var s []string
		for _, m := range list {
			s = append(s, m.OpenID+"@"+m.Mall)
		}
		return strings.Join(s, " ")
	}
	for _, c := range []struct {
		prefix string
		after  MemberRef
		limit  int
		want   string
	}{
		{"oAbc", MemberRef{}, 10, "oAbc_1@" + mall + " oAbc_1@" + other},
		{"oAb", MemberRef{}, 10, "oAb@" + mall + " oAbc_1@" + mall + " oAbc_1@" + other + " oAbd@" + mall},
		{"oAb", MemberRef{Mall: mall, OpenID: "oAbc_1"}, 10, "oAbc_1@" + other + " oAbd@" + mall},
		{"", MemberRef{}, 2, "oAb@" + mall + " oAbc_1@" + mall},
		{"", MemberRef{Mall: mall, OpenID: "oAbc_1"}, 2, "oAbc_1@" + other + " oAbd@" + mall},
		{"oa", MemberRef{}, 10, ""},                                       // openids are never case-folded
		{"oAbc_", MemberRef{}, 10, "oAbc_1@" + mall + " oAbc_1@" + other}, // _ is no wildcard
		{"oZ", MemberRef{}, 10, ""},
	} {
		list, err := db.SearchMembers(ctx, nil, c.prefix, c.after, c.limit)
		if got := ids(list); err != nil || got != c.want {
			t.Errorf("members starting %q after %v: %q, %v; want %q", c.prefix, c.after, got, err, c.want)
		}
	}
	if list, err := db.SearchMembers(ctx, Malls{other}, "oA", MemberRef{}, 10); err != nil || ids(list) != "oAbc_1@"+other {
		t.Errorf("confined to %s: %q, %v", other, ids(list), err)
	}

	// A refund, a redemption and a correction of oAbc_1 at mall: its
	// ledger in pages, its points by cause.
	inTx(t, db, func(tx *Tx) error {
		if _, err := tx.InsertRefund(ctx, &Refund{Mall: mall, RefundID: "r-1", TransactionID: "4200000001",
			NotificationID: "n-r-1", OpenID: "oAbc_1", RefundAmount: 500, Deducted: 5}); err != nil {
			return err
		}
		for _, e := range []Entry{
			{Kind: EntryRefund, Points: -5, TransactionID: "4200000001", RefundID: "r-1"},
			{Kind: EntryAdjustment, Points: -3, IdempotencyKey: "k-1"},
			{Kind: EntryAdjustment, Points: 2, IdempotencyKey: "k-2"},
		} {
			e.Mall, e.OpenID, e.Requested = mall, "oAbc_1", e.Points
			if err := tx.AppendEntry(ctx, &e); err != nil {
				return err
			}
		}
		return nil
	})
	totals, err := db.MemberPointTotals(ctx, mall, "oAbc_1")
	if want := (PointTotals{Earned: 20, Credited: 2, Refunded: 5, Redeemed: 3}); err != nil || totals != want {
		t.Errorf("points by cause: %+v, %v; want %+v", totals, err, want)
	}
	first, err := db.MemberEntriesBefore(ctx, mall, "oAbc_1", 0, 3)
	if err != nil || len(first) != 3 || first[0].IdempotencyKey != "k-2" {
		t.Fatalf("the first page of the ledger: %+v, %v", first, err)
	}
	rest, err := db.MemberEntriesBefore(ctx, mall, "oAbc_1", first[2].Seq, 3)
	if err != nil || len(rest) != 2 || rest[0].TransactionID != "4200000006" || rest[1].TransactionID != "4200000001" {
		t.Errorf("the next page of the ledger: %+v, %v", rest, err)
	}

	// The last synced payment of oAbc_1 at mall: 4200000001, synced after 4200000006.
	if _, err := db.LastSynced(ctx, mall, "oAbc_1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("nothing synced yet: %v, want ErrNotFound", err)
	}
	for i, txid := range []string{"4200000006", "4200000001"} {
		tr, err := db.Transaction(ctx, mall, txid)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := db.RecordAttempt(ctx, Attempt{SyncID: tr.SyncID, Attempt: 1, Outcome: AttemptOK, Status: 204,
			At: now.Add(time.Duration(i+1) * time.Second)}, SyncSynced); err != nil || !ok {
			t.Fatal(ok, err)
		}
	}
	if ls, err := db.LastSynced(ctx, mall, "oAbc_1"); err != nil || ls.TransactionID != "4200000001" || ls.Total != 10 || ls.At.IsZero() {
		t.Errorf("the last synced payment: %+v, %v", ls, err)
	}

	// The day's entries: a payment's and a refund's carry their amounts.
	day, err := db.EntriesBetween(ctx, nil, now.Add(-time.Hour), now.Add(time.Hour), 0, 100)
	if err != nil || len(day) != 9 {
		t.Fatalf("the day's entries: %d, %v", len(day), err)
	}
	for _, e := range day {
		want := map[string]int64{EntryEarn: 1000, EntryRefund: 500, EntryAdjustment: 0}[e.Kind]
		if e.Amount != want {
			t.Errorf("entry %d (%s): amount %d, want %d", e.Seq, e.Kind, e.Amount, want)
		}
	}

	// Decisions in pages, oldest first.
	inTx(t, db, func(tx *Tx) error {
		for _, txid := range []string{"4200000003", "4200000004", "4200000005"} {
			if _, err := tx.MoveDecision(ctx, DecisionOfPayment, mall, txid, DecisionFile, DecisionPending, ""); err != nil {
				return err
			}
		}
		return nil
	})
	page, err := db.UndecidedAfter(ctx, nil, "", Undecided{}, 2)
	if err != nil || len(page) != 2 {
		t.Fatalf("the first page of decisions: %+v, %v", page, err)
	}
	more, err := db.UndecidedAfter(ctx, nil, "", page[1], 2)
	if err != nil || len(more) != 1 || more[0].Subject == page[0].Subject || more[0].Subject == page[1].Subject {
		t.Errorf("the next page of decisions: %+v after %+v, %v", more, page, err)
	}
}

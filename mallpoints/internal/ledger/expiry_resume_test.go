package ledger

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/notify"
)

// A run stopped half-way (its context cancelled after the first batch) and
// started again finishes the date with each member expired exactly once, on
// both engines; the run pauses between batches as configured.
func TestAnExpiryRunStoppedHalfWayResumesAndExpiresEachMemberOnce(t *testing.T) {
	t.Parallel()
	const members, batch = 7, 3
	for _, db := range testDatabases(t) {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			s := New(openDB(t, db.dsn(t)), noQueue{}, rules.NewCurrent(mustRules(t, expiryRules)), nil)
			s.now = func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, beijing) }
			ctx := context.Background()
			for i := range members {
				_, err := s.Transaction(ctx, &notify.Notification{ID: fmt.Sprint("n-", i), EventType: businesscircle.EventTypeTransactionSuccess},
					&businesscircle.TransactionEvent{MchID: expiryMall, AppID: "wxapp", OpenID: fmt.Sprintf("o%02d", i), TransactionID: txid(i),
						Amount: 10000 + int64(i)*100, TimeEnd: "2025-05-01T12:00:00+08:00"})
				if err != nil {
					t.Fatal(err)
				}
			}
			pause := 20 * time.Millisecond
			s.SetExpiryConfig(ExpiryConfig{Batch: batch, Pause: pause})
			stop, cancel := context.WithCancel(ctx)
			batches := 0
			s.afterBatch = func(int) {
				batches++
				if batches == 1 {
					cancel()
				}
			}
			first, err := s.Expire(stop, "2026-01-01")
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("stopped run: %v, want context.Canceled", err)
			}
			if len(first.Members) != batch {
				t.Fatalf("the stopped run expired %d members, want its first batch of %d", len(first.Members), batch)
			}
			batches = 0
			s.afterBatch = func(int) { batches++ }
			start := time.Now()
			second, err := s.Expire(ctx, "2026-01-01")
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took < pause {
				t.Errorf("the run over %d batches took %v, less than its pause %v", batches, took, pause)
			}
			if len(second.Members) != members-batch {
				t.Errorf("the resumed run expired %d members, want the %d left", len(second.Members), members-batch)
			}
			seen := map[string]bool{}
			for _, x := range append(first.Members, second.Members...) {
				if seen[x.OpenID] {
					t.Errorf("%s expired twice", x.OpenID)
				}
				seen[x.OpenID] = true
			}
			for i := range members {
				openid := fmt.Sprintf("o%02d", i)
				entries, err := s.db.MemberEntries(ctx, expiryMall, openid, 100)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, e := range entries {
					if e.Kind == storage.EntryExpire {
						n++
					}
				}
				m, err := s.db.Member(ctx, expiryMall, openid)
				if err != nil {
					t.Fatal(err)
				}
				if n != 1 || m.Balance != 0 {
					t.Errorf("%s: %d expire entries, balance %d; want 1 and 0", openid, n, m.Balance)
				}
			}
			again, err := s.Expire(ctx, "2026-01-01")
			if err != nil || len(again.Members) != 0 {
				t.Errorf("a third run: %+v, %v; want nothing expired", again, err)
			}
		})
	}
}

// An expiry run writes each batch of members in one transaction: PostgreSQL
// numbers entries under one row lock held to commit, so a transaction per
// member took it, and waited for the disk under it, once per member while
// intake's payments queued behind. The run's expire entries carry one
// transaction id (xmin) per batch. SQLite shows no transaction ids; the
// same code path serves it.
func TestAnExpiryRunWritesEachBatchInOneTransaction(t *testing.T) {
	t.Parallel()
	const members, batch = 7, 3
	for _, db := range testDatabases(t) {
		if db.name != "postgres" {
			continue
		}
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			s := New(openDB(t, db.dsn(t)), noQueue{}, rules.NewCurrent(mustRules(t, expiryRules)), nil)
			s.now = func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, beijing) }
			s.SetExpiryConfig(ExpiryConfig{Batch: batch, Pause: -1})
			seedDueMembers(t, s.db, members)
			ctx := context.Background()
			res, err := s.Expire(ctx, "2026-01-01")
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Members) != members {
				t.Fatalf("expired %d members, want %d", len(res.Members), members)
			}
			var txs int
			if err := s.db.Pool().QueryRow(ctx, `SELECT COUNT(DISTINCT xmin::text) FROM ledger_entries
				WHERE kind = 'expire'`).Scan(&txs); err != nil {
				t.Fatal(err)
			}
			if want := (members + batch - 1) / batch; txs != want {
				t.Errorf("the run's %d entries were written in %d transactions, want %d (one per batch of %d)", members, txs, want, batch)
			}
		})
	}
}

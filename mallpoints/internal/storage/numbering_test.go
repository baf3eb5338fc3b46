package storage

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/pgtest"
)

// How ledger entries are numbered: each mall's in the order they commit,
// without one mall waiting for another (engine.go, appendEntry). The cases
// that hold on both engines are in the conformance suite; these are theirs.

const otherMall = "1900000110"

func testRolledBackEntryIsNeitherListedNorCounted(t *testing.T, ctx context.Context, db *DB) {
	payment(t, db, "oA", "4200000001", 1, time.Now())
	err := db.InTx(ctx, func(tx *Tx) error {
		e := Entry{Mall: mall, OpenID: "oA", Kind: EntryAdjustment, Points: 1, BalanceAfter: 2}
		if err := tx.AppendEntry(ctx, &e); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	payment(t, db, "oA", "4200000002", 1, time.Now())
	list, err := db.EntriesAfter(ctx, nil, mall, 0, 10)
	if err != nil || len(list) != 2 || list[0].TransactionID != "4200000001" || list[1].TransactionID != "4200000002" ||
		list[0].Seq >= list[1].Seq {
		t.Fatalf("entries after a rolled-back one: %+v, %v; want 4200000001 then 4200000002", list, err)
	}
	if st, err := db.State(ctx); err != nil || st.LedgerEntries != 2 {
		t.Errorf("entries counted: %d, %v; want 2", st.LedgerEntries, err)
	}
	if e, err := db.Entry(ctx, list[1].Seq); err != nil || e.TransactionID != "4200000002" {
		t.Errorf("entry %d: %+v, %v", list[1].Seq, e, err)
	}
	if _, err := db.Entry(ctx, list[1].Seq+1); !errors.Is(err, ErrNotFound) {
		t.Errorf("entry %d: %v, want ErrNotFound", list[1].Seq+1, err)
	}
}

// testEachMallsFeedMissesNothing has writers append entries of several
// malls at once, each keeping its transaction open a random while after
// its entry is numbered and some rolling back, while a reader per mall
// follows that mall's feed by its cursor, as the mall's CRM does. An entry
// becomes visible when it commits, so a reader that has seen seq n and
// later finds an entry of its mall below n would have skipped it: the
// readers must see exactly the committed entries, each once, in seq order,
// which is then each mall's commit order.
func testEachMallsFeedMissesNothing(t *testing.T, ctx context.Context, db *DB) {
	malls := []string{mall, otherMall, "1900000111"}
	const writers, each = 6, 20
	var (
		mu        sync.Mutex
		committed = map[string][]int64{}
		wg        sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 21))
			for i := range each {
				m := malls[(w+i)%len(malls)]
				rollback := rng.IntN(8) == 0
				e := Entry{Mall: m, OpenID: fmt.Sprintf("o%d", w), Kind: EntryAdjustment, Points: 1, Requested: 1, BalanceAfter: 1}
				err := db.InTx(ctx, func(tx *Tx) error {
					if err := tx.AppendEntry(ctx, &e); err != nil {
						return err
					}
					time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
					if rollback {
						return errRollback
					}
					return nil
				})
				switch {
				case rollback && errors.Is(err, errRollback):
				case err != nil:
					t.Error(err)
					return
				default:
					mu.Lock()
					committed[m] = append(committed[m], e.Seq)
					mu.Unlock()
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	seen := make([][]int64, len(malls))
	var readers sync.WaitGroup
	for i, m := range malls {
		readers.Go(func() {
			var cursor int64
			for last := false; ; {
				select {
				case <-done:
					last = true // the writers are done: read what is left
				default:
				}
				list, err := db.EntriesAfter(ctx, nil, m, cursor, 7)
				if err != nil {
					t.Error(err)
					return
				}
				for _, e := range list {
					if e.Mall != m || e.Seq <= cursor {
						t.Errorf("mall %s's feed after %d gave seq %d of mall %s", m, cursor, e.Seq, e.Mall)
					}
					seen[i] = append(seen[i], e.Seq)
					cursor = e.Seq
				}
				if last && len(list) == 0 {
					return
				}
			}
		})
	}
	readers.Wait()
	for i, m := range malls {
		want := committed[m]
		slices.Sort(want)
		if !slices.Equal(seen[i], want) {
			t.Errorf("mall %s: the feed reader saw %v; committed %v", m, seen[i], want)
		}
	}
}

// testTheFeedOfEveryMallNeedsOneMall: without a mall the feed is every
// entry in seq order, which is commit order only while one mall writes;
// once two have entries it is refused, so that no reader following it
// skips an entry.
func testTheFeedOfEveryMallNeedsOneMall(t *testing.T, ctx context.Context, db *DB) {
	if list, err := db.EntriesAfter(ctx, nil, "", 0, 10); err != nil || len(list) != 0 {
		t.Errorf("the feed of an empty ledger: %+v, %v", list, err)
	}
	first := payment(t, db, "oA", "4200000001", 1, time.Now())
	if list, err := db.EntriesAfter(ctx, nil, "", 0, 10); err != nil || len(list) != 1 || list[0].Seq != first.Seq {
		t.Errorf("the feed of one mall's ledger: %+v, %v", list, err)
	}
	inTx(t, db, func(tx *Tx) error {
		return tx.AppendEntry(ctx, &Entry{Mall: otherMall, OpenID: "oB", Kind: EntryAdjustment, Points: 1, BalanceAfter: 1})
	})
	if list, err := db.EntriesAfter(ctx, nil, "", 0, 10); !errors.Is(err, ErrSeveralMalls) {
		t.Errorf("the feed of two malls' ledger: %+v, %v; want ErrSeveralMalls", list, err)
	}
	for _, m := range []string{mall, otherMall} {
		if list, err := db.EntriesAfter(ctx, nil, m, 0, 10); err != nil || len(list) != 1 || list[0].Mall != m {
			t.Errorf("mall %s's feed: %+v, %v", m, list, err)
		}
	}
}

// TestOneMallsOpenEntryHoldsUpNoOtherMallOnPostgres: a mall's entries wait
// for each other, from numbering to commit, but never for another mall's.
// (SQLite has one writer at a time whatever the mall.)
func TestOneMallsOpenEntryHoldsUpNoOtherMallOnPostgres(t *testing.T) {
	t.Parallel()
	db := testOpen(t, pgtest.NewDatabase(t, pgtest.Require(t), "storage_test"), true)
	ctx := context.Background()
	appendIn := func(ctx context.Context, m string) error {
		return db.InTx(ctx, func(tx *Tx) error {
			return tx.AppendEntry(ctx, &Entry{Mall: m, OpenID: "oA", Kind: EntryAdjustment, Points: 1, BalanceAfter: 1})
		})
	}
	if err := appendIn(ctx, mall); err != nil { // the mall's first entry, so that its turn exists
		t.Fatal(err)
	}

	open, err := db.begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer open.rollback()
	if err := open.AppendEntry(ctx, &Entry{Mall: mall, OpenID: "oA", Kind: EntryAdjustment, Points: 1, BalanceAfter: 2}); err != nil {
		t.Fatal(err)
	}

	// Another mall's entry commits while the first mall's is open; only a
	// wait for that transaction, which never ends by itself, could reach
	// the deadline.
	other, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := appendIn(other, otherMall); err != nil {
		t.Fatalf("an entry of another mall waited for the open one: %v", err)
	}
	if list, err := db.EntriesAfter(ctx, nil, otherMall, 0, 10); err != nil || len(list) != 1 {
		t.Errorf("the other mall's feed: %+v, %v; want its entry", list, err)
	}
	// Its first entry too: its turn is made as it is taken.
	if err := appendIn(other, "1900000111"); err != nil {
		t.Fatalf("a new mall's first entry waited for the open one: %v", err)
	}

	// The same mall's next entry waits its turn until the deadline.
	same, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := appendIn(same, mall); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("an entry of the open entry's mall: %v; want it to wait (context.DeadlineExceeded)", err)
	}
}

// TestEntryNumberingMigrationKeepsEveryNumberAndCountsThem migrates a
// ledger written before migration 00009 (one counter for every mall on
// PostgreSQL, the rowid on SQLite): every entry keeps its seq, each mall's
// feed lists its own, the count is right, and new entries follow.
func TestEntryNumberingMigrationKeepsEveryNumberAndCountsThem(t *testing.T) {
	t.Parallel()
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := testOpen(t, e.dsn(t), false)
			p, err := db.migrator()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, 8); err != nil {
				t.Fatal(err)
			}
			for i, m := range []string{mall, otherMall, mall, mall, otherMall} {
				seq := int64(i + 1)
				if _, err := db.exec(ctx, `INSERT INTO ledger_entries (seq, mall, openid, kind, points, requested, shortfall,
					balance_after, created_at) VALUES ($1, $2, 'oA', 'adjustment', 1, 1, 0, 1, 1)`, seq, m); err != nil {
					t.Fatal(err)
				}
				if db.engine == Postgres {
					if _, err := db.exec(ctx, `UPDATE ledger_seq SET value = $1`, seq); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			for m, want := range map[string][]int64{mall: {1, 3, 4}, otherMall: {2, 5}} {
				list, err := db.EntriesAfter(ctx, nil, m, 0, 10)
				var got []int64
				for _, e := range list {
					got = append(got, e.Seq)
				}
				if err != nil || !slices.Equal(got, want) {
					t.Errorf("mall %s's feed: %v, %v; want %v", m, got, err, want)
				}
			}
			if st, err := db.State(ctx); err != nil || st.LedgerEntries != 5 {
				t.Errorf("entries counted: %d, %v; want 5", st.LedgerEntries, err)
			}
			next := Entry{Mall: otherMall, OpenID: "oA", Kind: EntryAdjustment, Points: 1, BalanceAfter: 2}
			inTx(t, db, func(tx *Tx) error { return tx.AppendEntry(ctx, &next) })
			if next.Seq <= 5 {
				t.Errorf("the first entry after the migration has seq %d, want above 5", next.Seq)
			}
			if st, err := db.State(ctx); err != nil || st.LedgerEntries != 6 {
				t.Errorf("entries counted: %d, %v; want 6", st.LedgerEntries, err)
			}
		})
	}
}

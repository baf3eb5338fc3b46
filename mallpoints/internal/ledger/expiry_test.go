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

// expiryRules: points expire at the end of the Beijing year they were
// earned in, never before 2026.
const expiryRules = `
default:
  expiry: {policy: end_of_year, years: 0, start: 2026-01-01}
`

// op is one event of an expiry scenario: a payment (amount, at), a refund
// of the payment numbered pay, an adjustment, or an expiry run.
type op struct {
	pay    int64 // fen; points are fen / 100
	at     string
	refund int // 1-based payment number
	amount int64
	adjust int64
	expire string
}

// expiryBed is one member's ledger on one engine, with the clock at now.
type expiryBed struct {
	t    testing.TB
	s    *Service
	n    int
	pays []int // the event number of each payment, whose transaction id it is
	ctx  context.Context
}

const expiryMall, expiryMember = "1900000109", "oE"

func newExpiryBed(t testing.TB, dsn string, now time.Time) *expiryBed {
	s := New(openDB(t, dsn), noQueue{}, rules.NewCurrent(mustRules(t, expiryRules)), nil)
	s.now = func() time.Time { return now }
	return &expiryBed{t: t, s: s, ctx: context.Background()}
}

func txid(i int) string { return fmt.Sprintf("4200000000000000000000%06d", i) }

// apply runs o; a refused adjustment (more than the balance) is skipped.
func (b *expiryBed) apply(o op) error {
	b.n++
	switch {
	case o.pay > 0:
		at, err := time.ParseInLocation("2006-01-02", o.at, beijing)
		if err != nil {
			b.t.Fatal(err)
		}
		b.pays = append(b.pays, b.n)
		_, err = b.s.Transaction(b.ctx, &notify.Notification{ID: fmt.Sprint("n-", b.n), EventType: businesscircle.EventTypeTransactionSuccess},
			&businesscircle.TransactionEvent{MchID: expiryMall, AppID: "wxapp", OpenID: expiryMember, TransactionID: txid(b.n),
				Amount: o.pay, TimeEnd: at.Add(12 * time.Hour).Format(time.RFC3339)})
		return err
	case o.refund > 0:
		_, err := b.s.Refund(b.ctx, &notify.Notification{ID: fmt.Sprint("n-", b.n), EventType: businesscircle.EventTypeRefundSuccess},
			&businesscircle.RefundEvent{MchID: expiryMall, RefundID: fmt.Sprint("5000", b.n), TransactionID: txid(b.pays[o.refund-1]), RefundAmount: o.amount})
		return err
	case o.adjust != 0:
		_, _, err := b.s.Adjust(b.ctx, Adjustment{Mall: expiryMall, OpenID: expiryMember, Points: o.adjust, Reason: "test",
			IdempotencyKey: fmt.Sprint("k-", b.n)})
		if errorsIs(err, ErrInsufficientBalance) {
			return nil
		}
		return err
	case o.expire != "":
		_, err := b.s.Expire(b.ctx, o.expire)
		return err
	}
	return nil
}

// totals checks earned = consumed + expired + balance, from the lots and
// from the ledger, and that no lot is negative; it returns the balance and
// the points expired.
func (b *expiryBed) totals() (balance, expired int64) {
	b.t.Helper()
	m, err := b.s.db.Member(b.ctx, expiryMall, expiryMember)
	if err != nil {
		b.t.Fatal(err)
	}
	lt, err := b.s.db.MemberLotTotals(b.ctx, expiryMall, expiryMember)
	if err != nil {
		b.t.Fatal(err)
	}
	if lt.Earned != lt.Consumed+lt.Expired+m.Balance {
		b.t.Errorf("earned %d ≠ consumed %d + expired %d + balance %d", lt.Earned, lt.Consumed, lt.Expired, m.Balance)
	}
	sum, err := b.s.db.BalanceCheck(b.ctx, expiryMall, expiryMember)
	if err != nil || sum != m.Balance {
		b.t.Errorf("entries sum to %d (%v), balance %d", sum, err, m.Balance)
	}
	entries, err := b.s.db.MemberEntries(b.ctx, expiryMall, expiryMember, 10000)
	if err != nil {
		b.t.Fatal(err)
	}
	var fromEntries int64
	for _, e := range entries {
		if e.Kind == storage.EntryExpire {
			fromEntries -= e.Points
		}
	}
	if fromEntries != lt.Expired {
		b.t.Errorf("expire entries take %d, lots expired %d", fromEntries, lt.Expired)
	}
	lots, err := b.s.db.MemberLots(b.ctx, expiryMall, expiryMember)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, l := range lots {
		if l.Remaining() < 0 || l.Consumed < 0 || l.Expired < 0 || l.Excused > l.Expired {
			b.t.Errorf("lot %+v is negative", l)
		}
	}
	return m.Balance, lt.Expired
}

func TestLotsAndExpiryOnBothEngines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		ops              []op
		balance, expired int64
		expireEntries    int
	}{
		{"an earning expires at the end of its Beijing year",
			[]op{{pay: 10000, at: "2026-05-01"}, {expire: "2027-01-01"}}, 0, 100, 1},
		{"and not a day before",
			[]op{{pay: 10000, at: "2026-05-01"}, {expire: "2026-12-31"}}, 100, 0, 0},
		{"nothing expires before start",
			[]op{{pay: 10000, at: "2024-05-01"}, {expire: "2025-12-31"}}, 100, 0, 0},
		{"a redemption consumes the oldest lot first",
			[]op{{pay: 10000, at: "2025-06-01"}, {pay: 5000, at: "2026-06-01"}, {adjust: -120}, {expire: "2026-01-01"}, {expire: "2027-01-01"}}, 0, 30, 1},
		{"a refund takes from its own payment's lot first",
			[]op{{pay: 10000, at: "2025-06-01"}, {pay: 5000, at: "2026-06-01"}, {refund: 2, amount: 5000}, {expire: "2026-01-01"}}, 0, 100, 1},
		{"a refund never deducts the expired part again",
			[]op{{pay: 10000, at: "2025-06-01"}, {pay: 5000, at: "2026-06-01"}, {expire: "2026-01-01"}, {refund: 1, amount: 10000}}, 50, 100, 1},
		{"a refund of a spent, partly expired lot takes the spent part from the others",
			[]op{{pay: 10000, at: "2025-06-01"}, {pay: 5000, at: "2026-06-01"}, {adjust: -60}, {expire: "2026-01-01"}, {refund: 1, amount: 10000}}, 0, 40, 1},
		{"two partial refunds excuse the expired part once",
			[]op{{pay: 10000, at: "2025-06-01"}, {pay: 5000, at: "2026-06-01"}, {expire: "2026-01-01"}, {refund: 1, amount: 5000}, {refund: 1, amount: 5000}}, 50, 100, 1},
		{"a run is idempotent",
			[]op{{pay: 10000, at: "2025-06-01"}, {expire: "2026-01-01"}, {expire: "2026-01-01"}}, 0, 100, 1},
		{"a credit is a lot that expires by the policy",
			[]op{{adjust: 0}, {pay: 100, at: "2027-01-02"}, {adjust: 30}, {expire: "2027-06-01"}}, 31, 0, 0},
		{"each run writes its own entry",
			[]op{{pay: 10000, at: "2025-06-01"}, {pay: 5000, at: "2026-06-01"}, {expire: "2026-01-01"}, {expire: "2027-01-01"}}, 0, 150, 2},
	}
	now := time.Date(2027, 6, 1, 12, 0, 0, 0, beijing)
	for _, db := range testDatabases(t) {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					b := newExpiryBed(t, db.dsn(t), now)
					for _, o := range tt.ops {
						if err := b.apply(o); err != nil {
							t.Fatalf("%+v: %v", o, err)
						}
					}
					balance, expired := b.totals()
					if balance != tt.balance || expired != tt.expired {
						t.Errorf("balance %d, expired %d; want %d, %d", balance, expired, tt.balance, tt.expired)
					}
					entries, _ := b.s.db.MemberEntries(b.ctx, expiryMall, expiryMember, 1000)
					n := 0
					for _, e := range entries {
						if e.Kind == storage.EntryExpire {
							n++
						}
					}
					if n != tt.expireEntries {
						t.Errorf("%d expire entries, want %d", n, tt.expireEntries)
					}
				})
			}
		})
	}
}

// An expiry run's date is a Beijing date, not after today: ExpiryDate
// says so for the API before a run is queued, and Expire refuses any other
// for the run itself.
func TestExpireRefusesADateAfterTodayOrNotADate(t *testing.T) {
	t.Parallel()
	b := newExpiryBed(t, testDatabases(t)[0].dsn(t), time.Date(2027, 6, 1, 0, 30, 0, 0, beijing))
	for _, asOf := range []string{"2027-06-02", "2027-6-1", "", "2027-06-01T00:00:00+08:00"} {
		if _, err := b.s.ExpiryDate(asOf); !errorsIs(err, ErrAsOfInvalid) {
			t.Errorf("ExpiryDate(%q): %v, want ErrAsOfInvalid", asOf, err)
		}
		if _, err := b.s.Expire(b.ctx, asOf); !errorsIs(err, ErrAsOfInvalid) {
			t.Errorf("as_of %q: %v, want ErrAsOfInvalid", asOf, err)
		}
	}
	for asOf, want := range map[string]time.Time{"2027-06-01": time.Date(2027, 6, 1, 0, 0, 0, 0, beijing),
		"2026-12-31": time.Date(2026, 12, 31, 0, 0, 0, 0, beijing)} {
		if day, err := b.s.ExpiryDate(asOf); err != nil || !day.Equal(want) {
			t.Errorf("ExpiryDate(%q) = %v, %v; want %v", asOf, day, err, want)
		}
	}
	if _, err := b.s.Expire(b.ctx, "2027-06-01"); err != nil {
		t.Errorf("today: %v", err)
	}
}

// FuzzExpiryInvariant: whatever the payments, refunds, redemptions, credits
// and runs, earned = consumed + expired + balance and no lot is negative.
func FuzzExpiryInvariant(f *testing.F) {
	f.Add([]byte{0, 10, 1, 20, 4, 2, 3, 5, 2, 0, 4, 6})
	f.Add([]byte{0, 200, 0, 100, 4, 1, 2, 150, 1, 1, 3, 4, 4, 7})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 40 {
			data = data[:40]
		}
		b := newExpiryBed(t, testDatabases(t)[0].dsn(t), time.Date(2029, 6, 1, 12, 0, 0, 0, beijing))
		// The member exists from a first payment on.
		if err := b.apply(op{pay: 1000, at: "2025-03-01"}); err != nil {
			t.Fatal(err)
		}
		pays := 1
		for i := 0; i+1 < len(data); i += 2 {
			k, v := data[i]%5, int64(data[i+1])
			var o op
			switch k {
			case 0, 1: // a payment in 2025 to 2028
				pays++
				o = op{pay: (v + 1) * 100, at: fmt.Sprintf("%d-%02d-15", 2025+v%4, 1+v%12)}
			case 2: // a refund of one of the payments so far
				if pays == 0 {
					continue
				}
				o = op{refund: 1 + int(v)%pays, amount: (v%50 + 1) * 100}
			case 3: // a redemption or a credit
				o = op{adjust: v - 100}
			case 4: // a run on 1 January of 2026 to 2029
				o = op{expire: fmt.Sprintf("%d-01-01", 2026+v%4)}
			}
			if o.adjust == 0 && k == 3 {
				continue
			}
			if err := b.apply(o); err != nil {
				t.Fatalf("%+v: %v", o, err)
			}
		}
		b.totals()
	})
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

package ledger

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// PreviewPayment is one payment for Preview: what a
// MALL_TRANSACTION.SUCCESS notification would say, and optionally the
// member's tier or tier spend to assume.
type PreviewPayment struct {
	rules.Payment
	OpenID   string
	Tier     string // forces the tier; one the mall's tiers lack is ignored
	SpendFen *int64 // the tier spend, instead of the member's
	// BirthdayMonth (1–12) is the member's birthday month, instead of the
	// one its CRM gave.
	BirthdayMonth *int
}

// Preview evaluates payments under set as intake would, in order, and
// writes nothing. With db, each member's history — the points earned in
// the Beijing day and month of time_end, the tier spend, whether it earned
// before, a tier set through the API and the balance — is read as intake
// reads it (the same function), with its birthday and whether it withdrew
// the points authorisation, in one transaction that is rolled back;
// with a nil db every member starts without any. Earlier payments of ps
// count in the history of later ones, as they would once recorded, so a
// day's payments meet the daily cap in the preview as in the ledger.
func Preview(ctx context.Context, db *storage.DB, set *rules.Set, ps []PreviewPayment, log *slog.Logger) ([]rules.Outcome, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	out := make([]rules.Outcome, 0, len(ps))
	var done []previewed
	evaluate := func(tx *storage.Tx) error {
		for _, p := range ps {
			h, balance, withdrawn, err := previewHistory(ctx, tx, set, p, log)
			if err != nil {
				return err
			}
			dayFrom, dayTo := rules.BeijingDay(p.TimeEnd)
			monthFrom, monthTo := rules.BeijingMonth(p.TimeEnd)
			window, windowEnd, tiers := set.TierWindow(p.MchID, p.TimeEnd)
			for _, q := range done {
				if q.mall != p.MchID || q.openid != p.OpenID {
					continue
				}
				if in(q.timeEnd, dayFrom, dayTo) {
					h.EarnedToday += q.points
				}
				if in(q.timeEnd, monthFrom, monthTo) {
					h.EarnedThisMonth += q.points
				}
				if tiers && p.SpendFen == nil && in(q.timeEnd, window, windowEnd) {
					h.SpendFen += q.amount
				}
				if q.points > 0 || q.bonus > 0 {
					h.FirstEarning = false
				}
				balance += q.points + q.bonus
			}
			o := rules.Limit(set.EvaluateWith(p.Payment, h), rules.MaxPoints-balance)
			if withdrawn {
				o = set.NotAuthorized(p.MchID)
			}
			out = append(out, o)
			done = append(done, previewed{mall: p.MchID, openid: p.OpenID, timeEnd: p.TimeEnd, amount: p.Amount,
				points: o.Points, bonus: o.Bonus})
		}
		return nil
	}
	if db == nil {
		return out, evaluate(nil)
	}
	return out, db.ReadTx(ctx, evaluate)
}

// previewed is a payment Preview evaluated, for the history of the next.
type previewed struct {
	mall, openid          string
	timeEnd               time.Time
	amount, points, bonus int64
}

func in(t, from, to time.Time) bool { return !t.Before(from) && t.Before(to) }

// previewHistory is p's member's history and balance in tx, as intake reads
// them, and whether it withdrew the points authorisation; without tx, a
// member never seen. p's own tier, spend and birthday month, when given,
// replace the member's.
func previewHistory(ctx context.Context, tx *storage.Tx, set *rules.Set, p PreviewPayment, log *slog.Logger) (h rules.History, balance int64, withdrawn bool, err error) {
	h = rules.History{FirstEarning: true}
	if tx != nil {
		if h, err = history(ctx, tx, set, set.Mall(p.MchID), p.OpenID, p.TimeEnd); err != nil {
			return h, 0, false, err
		}
		m, err := tx.ReadMember(ctx, p.MchID, p.OpenID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			return h, 0, false, wrap("read member", err)
		default:
			balance, withdrawn = m.Balance, m.Withdrawn()
			h.Tier = tierSet(set, m, p.TimeEnd, log)
			h.BirthdayMonth = m.BirthdayMonth()
		}
	}
	if p.Tier != "" {
		h.Tier = p.Tier
	}
	if p.SpendFen != nil {
		h.SpendFen = *p.SpendFen
	}
	if p.BirthdayMonth != nil {
		h.BirthdayMonth = *p.BirthdayMonth
	}
	return h, balance, withdrawn, nil
}

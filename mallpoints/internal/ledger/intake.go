package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/notify"
)

// notification is the record of n, an event of mall about key.
func notification(n *notify.Notification, mall, key string) storage.Notification {
	return storage.Notification{
		ID: n.ID, EventType: n.EventType, Mall: mall, BusinessKey: key, Outcome: OutcomeApplied, RequestID: n.RequestID,
	}
}

// record writes the notification; false means its id was processed before.
func record(ctx context.Context, tx *storage.Tx, n *notify.Notification, mall, key string) (bool, error) {
	isNew, err := tx.RecordNotification(ctx, notification(n, mall, key))
	return isNew, wrap("record notification", err)
}

// Transaction applies MALL_TRANSACTION.SUCCESS: in one database transaction
// it records the notification, skips a known notification id or
// transaction_id, evaluates the rules against the member's points earned in
// the Beijing day of time_end, writes the payment, the member's new balance,
// the ledger entry and the sync's job. A payment from a member the service
// has not seen creates the member: its activation may come later or have
// been lost.
func (s *Service) Transaction(ctx context.Context, n *notify.Notification, e *businesscircle.TransactionEvent) (Outcome, error) {
	if r := checkFields(n, field{"mchid", e.MchID, true}, field{"appid", e.AppID, true}, field{"openid", e.OpenID, true},
		field{"transaction_id", e.TransactionID, true}, field{"shop_number", e.ShopNumber, false},
		field{"shop_name", e.ShopName, false}, field{"commit_tag", e.CommitTag, false}); r != nil {
		return "", s.refuse(ctx, n, e.MchID, r)
	}
	if r := checkAmount("amount", e.Amount, 0); r != nil {
		return "", s.refuse(ctx, n, e.MchID, r)
	}
	timeEnd, err := businesscircle.ParseTime(e.TimeEnd)
	if err != nil {
		return "", s.refuse(ctx, n, e.MchID, &Refusal{Field: "time_end", Rule: RuleFormat, Limit: "RFC 3339"})
	}
	set := s.rules.Load()
	log := s.log.With("notification_id", n.ID, "transaction_id", e.TransactionID, "mall", e.MchID)
	var t storage.Transaction
	applied, limited := false, false
	var outcome Outcome = OutcomeApplied
	// Only a cap needs the points earned that day or month, only tiers
	// the spend, and only a bonus whether the member earned before; what is
	// not needed is not read. The payments they would add up are written
	// either way, so a cap, tiers or a bonus set later count them.
	rulesOf := set.Mall(e.MchID)
	err = s.db.InTx(ctx, func(tx *storage.Tx) error {
		isNew, err := record(ctx, tx, n, e.MchID, e.TransactionID)
		if err != nil {
			return err
		}
		if !isNew {
			outcome = OutcomeDuplicateID
			return nil
		}
		// A new notification id for a payment already recorded is found
		// before the member, so that it never creates its payer nor brings
		// an erased payer's openid back; and again under the member's lock,
		// since on PostgreSQL a transaction recording the same payment may
		// have committed while this one waited for it. (SQLite runs one
		// writer at a time, so there the answer cannot change.)
		known, err := tx.TransactionExists(ctx, e.MchID, e.TransactionID)
		if err != nil {
			return wrap("find transaction", err)
		}
		var m storage.Member
		if !known {
			if m, err = tx.LockMember(ctx, e.MchID, e.OpenID, e.AppID); err != nil {
				return wrap("lock member", err)
			}
			if known, err = tx.TransactionExists(ctx, e.MchID, e.TransactionID); err != nil {
				return wrap("find transaction", err)
			}
		}
		if known {
			outcome = OutcomeDuplicateKey
			return wrap("record duplicate", tx.SetNotificationOutcome(ctx, n.ID, OutcomeDuplicateKey))
		}
		h, err := history(ctx, tx, set, rulesOf, e.OpenID, timeEnd)
		if err != nil {
			return err
		}
		h.Tier = tierSet(set, m, timeEnd, log)
		// The balance stays within rules.MaxPoints: a payment is never
		// refused for it, it earns what the balance can still take.
		out := rules.Limit(set.EvaluateWith(rules.Payment{MchID: e.MchID, ShopNumber: e.ShopNumber, Amount: e.Amount,
			TimeEnd: timeEnd}, h), rules.MaxPoints-m.Balance)
		limited = out.Limited
		steps, err := json.Marshal(out.Steps)
		if err != nil {
			return wrap("explanation", err)
		}
		applyDelta(&m, out.Points+out.Bonus)
		if m.AppID == "" {
			m.AppID = e.AppID
		}
		sync, err := tx.NewSync(ctx, storage.SyncPoints, e.MchID, e.TransactionID)
		if err != nil {
			return wrap("new sync", err)
		}
		t = storage.Transaction{
			Mall: e.MchID, TransactionID: e.TransactionID, NotificationID: n.ID, OpenID: e.OpenID, AppID: e.AppID,
			ShopNumber: e.ShopNumber, ShopName: e.ShopName, Amount: e.Amount, TimeEnd: timeEnd, CommitTag: e.CommitTag,
			Points: out.Points, EarnPoints: out.EarnPoints, NoPointsRemarks: out.NoPointsRemarks,
			Uncapped: out.Uncapped, Capped: out.Capped, RuleVersion: out.RuleVersion, Explain: out.Explain,
			Bonus: out.Bonus, Tier: out.Tier, Steps: steps,
			TotalPoints:      m.Balance,
			PointsUpdateTime: s.now().In(beijing).Format("2006-01-02T15:04:05.000Z07:00"),
			SyncID:           sync.ID,
		}
		if _, err := tx.InsertTransaction(ctx, &t); err != nil {
			return wrap("write payment", err)
		}
		// Points and bonus are one lot, whose expiry is fixed now by the
		// policy in force.
		if err := tx.InsertLot(ctx, storage.Lot{Mall: e.MchID, OpenID: e.OpenID, Source: storage.LotFromTransaction + e.TransactionID,
			EarnedAt: timeEnd, ExpiresAt: rulesOf.Expiry.ExpiresAt(timeEnd), Points: out.Points + out.Bonus}); err != nil {
			return wrap("write lot", err)
		}
		if err := s.queue.Enqueue(ctx, tx, sync.ID); err != nil {
			return wrap("enqueue sync", err)
		}
		if err := tx.UpdateMember(ctx, m); err != nil {
			return wrap("update balance", err)
		}
		entry := storage.Entry{
			Mall: e.MchID, OpenID: e.OpenID, Kind: storage.EntryEarn, Points: out.Points + out.Bonus,
			Requested: out.Points + out.Bonus, BalanceAfter: m.Balance, TransactionID: e.TransactionID,
			NotificationID: n.ID, CommitTag: e.CommitTag, RuleVersion: out.RuleVersion, Reason: out.Explain, Steps: steps,
		}
		applied = true
		return wrap("append entry", tx.AppendEntry(ctx, &entry))
	})
	if err != nil {
		return "", err
	}
	if limited {
		log.Warn("ledger: payment's points limited by the points maximum", "points", t.Points, "max_points", rules.MaxPoints)
	}
	if applied {
		log.Info("ledger: payment", "points", t.Points, "total_points", t.TotalPoints, "rule_version", t.RuleVersion)
	} else {
		log.Info("ledger: payment already recorded")
	}
	return outcome, nil
}

// history reads what a payment's points depend on besides the payment:
// the points the member earned in its Beijing day and month (for the caps),
// its tier spend and whether it earned before (for the bonus). Each is read
// only when the mall's rules use it.
func history(ctx context.Context, tx *storage.Tx, set *rules.Set, m rules.Mall, openid string, timeEnd time.Time) (rules.History, error) {
	var h rules.History
	var err error
	if m.DailyCap > 0 {
		from, to := rules.BeijingDay(timeEnd)
		if h.EarnedToday, err = tx.EarnedBetween(ctx, m.MchID, openid, from, to); err != nil {
			return h, wrap("points earned that day", err)
		}
	}
	if m.MonthlyCap > 0 {
		from, to := rules.BeijingMonth(timeEnd)
		if h.EarnedThisMonth, err = tx.EarnedBetween(ctx, m.MchID, openid, from, to); err != nil {
			return h, wrap("points earned that month", err)
		}
	}
	if from, to, ok := set.TierWindow(m.MchID, timeEnd); ok {
		if h.SpendFen, err = tx.TierSpend(ctx, m.MchID, openid, from, to); err != nil {
			return h, wrap("tier spend", err)
		}
	}
	if m.FirstPaymentBonus > 0 {
		earned, err := tx.HasEarned(ctx, m.MchID, openid)
		if err != nil {
			return h, wrap("earned before", err)
		}
		h.FirstEarning = !earned
	}
	return h, nil
}

// tierSet is the tier set through the API for m that holds at timeEnd (its
// until is an inclusive Beijing date), or "". A name the rules no longer
// have falls back to the computed tier, with a warning.
func tierSet(set *rules.Set, m storage.Member, timeEnd time.Time, log *slog.Logger) string {
	tier := m.TierOn(timeEnd.In(beijing).Format(time.DateOnly))
	if tier != "" && !set.HasTier(m.Mall, tier) {
		log.Warn("ledger: the member's tier set through the API is not in the rules; the computed tier applies",
			"tier", tier, "until", m.TierUntil)
		return ""
	}
	return tier
}

// Refund applies MALL_REFUND.SUCCESS: it deducts on the running total of the
// payment's refunds (rules.RefundDeduction), once per refund_id, never
// taking the balance below zero; what could not be deducted is the entry's
// shortfall. WeChat Pay has no call to report a deduction, so nothing is
// synced: the member sees the lower total in the next payment's sync.
func (s *Service) Refund(ctx context.Context, n *notify.Notification, e *businesscircle.RefundEvent) (Outcome, error) {
	if r := checkFields(n, field{"mchid", e.MchID, true}, field{"refund_id", e.RefundID, true},
		field{"transaction_id", e.TransactionID, true}); r != nil {
		return "", s.refuse(ctx, n, e.MchID, r)
	}
	if r := checkAmount("refund_amount", e.RefundAmount, 1); r != nil {
		return "", s.refuse(ctx, n, e.MchID, r)
	}
	log := s.log.With("notification_id", n.ID, "transaction_id", e.TransactionID, "refund_id", e.RefundID, "mall", e.MchID)
	var entry storage.Entry
	var surplus int64
	var outcome Outcome = OutcomeApplied
	err := s.db.InTx(ctx, func(tx *storage.Tx) error {
		isNew, err := record(ctx, tx, n, e.MchID, e.RefundID)
		if !isNew {
			outcome = OutcomeDuplicateID
		}
		if err != nil || !isNew {
			return err
		}
		// The payment names the member: a refund's openid is not trusted over it.
		var t storage.Transaction
		known, err := tx.TransactionExists(ctx, e.MchID, e.TransactionID)
		if err != nil {
			return wrap("find transaction", err)
		}
		if !known {
			return fmt.Errorf("%w: %s (refund %s)", ErrUnknownTransaction, e.TransactionID, e.RefundID)
		}
		if t, err = tx.Transaction(ctx, e.MchID, e.TransactionID); err != nil {
			return wrap("read transaction", err)
		}
		m, err := tx.LockMember(ctx, t.Mall, t.OpenID, t.AppID)
		if err != nil {
			return wrap("lock member", err)
		}
		// Re-read under the member's lock: refunds of one payment queue here.
		if t, err = tx.Transaction(ctx, e.MchID, e.TransactionID); err != nil {
			return wrap("read transaction", err)
		}
		// E, what the payment earned, is its points and its bonus.
		deduct := rules.RefundDeduction(t.Points+t.Bonus, t.Amount, t.Refunded, e.RefundAmount)
		// The refund takes from its payment's lot first; the part of that
		// lot that already expired is not deducted again.
		lot := storage.LotFromTransaction + t.TransactionID
		remaining := int64(0)
		if l, err := tx.Lot(ctx, t.Mall, lot); err == nil {
			remaining = l.Remaining()
		} else if !errors.Is(err, storage.ErrNotFound) {
			return wrap("read lot", err)
		}
		excused, err := tx.Excuse(ctx, t.Mall, lot, deduct-min(deduct, remaining))
		if err != nil {
			return wrap("excuse expired points", err)
		}
		applied, shortfall := applyDelta(&m, -(deduct - excused))
		if _, err := tx.Consume(ctx, t.Mall, t.OpenID, lot, -applied); err != nil {
			return wrap("consume lots", err)
		}
		// The refunded total never passes the amount paid: what a refund
		// claims beyond it is kept apart as its surplus.
		counted := min(e.RefundAmount, max(t.Amount-t.Refunded, 0))
		surplus = e.RefundAmount - counted
		r := storage.Refund{Mall: e.MchID, RefundID: e.RefundID, TransactionID: e.TransactionID, NotificationID: n.ID,
			OpenID: t.OpenID, RefundAmount: e.RefundAmount, Deducted: -applied, Shortfall: shortfall, Surplus: surplus}
		isNew, err = tx.InsertRefund(ctx, &r)
		if err != nil {
			return wrap("write refund", err)
		}
		if !isNew {
			outcome = OutcomeDuplicateKey
			return wrap("record duplicate", tx.SetNotificationOutcome(ctx, n.ID, OutcomeDuplicateKey))
		}
		if err := tx.AddRefund(ctx, e.MchID, e.TransactionID, counted, deduct); err != nil {
			return wrap("refund totals", err)
		}
		if err := tx.UpdateMember(ctx, m); err != nil {
			return wrap("update balance", err)
		}
		reason := fmt.Sprintf("refund of %d fen of %d paid (%d refunded before)", e.RefundAmount, t.Amount, t.Refunded)
		if excused > 0 {
			reason += fmt.Sprintf("; %d of its points had expired", excused)
		}
		entry = storage.Entry{Mall: e.MchID, OpenID: t.OpenID, Kind: storage.EntryRefund, Points: applied,
			Requested: -(deduct - excused), Shortfall: shortfall, BalanceAfter: m.Balance, TransactionID: e.TransactionID,
			RefundID: e.RefundID, NotificationID: n.ID, RuleVersion: t.RuleVersion, Reason: reason}
		return wrap("append entry", tx.AppendEntry(ctx, &entry))
	})
	if err != nil {
		return "", err
	}
	if surplus > 0 {
		log.Warn("ledger: refunds exceed the payment's amount; the surplus is not counted", "surplus", surplus)
	}
	if entry.Seq != 0 {
		log.Info("ledger: refund", "deducted", -entry.Points, "shortfall", entry.Shortfall, "balance", entry.BalanceAfter)
	}
	return outcome, nil
}

// authRank orders the known authorisation types: a member is only ever
// upgraded. A value WeChat Pay adds without notice ranks above none and
// below the known ones.
var authRank = map[string]int{
	"": 0,
	string(businesscircle.AuthTypeRegisteredMode):                 2,
	string(businesscircle.AuthTypeRegisteredAndAuthorizationMode): 3,
}

// rankOf is the rank of an auth_type as given: trimmed (one of WeChat Pay's
// samples has a trailing space), 1 when unknown.
func rankOf(authType string) int {
	if r, ok := authRank[strings.TrimSpace(authType)]; ok {
		return r
	}
	return 1
}

// Authorization applies MALL_AUTH.ACTIVATE_CARD: it creates or updates the
// member. REGISTERED_MODE followed by REGISTERED_AND_AUTHORIZATION_MODE
// upgrades it; the reverse order, a late re-delivery, does not downgrade it.
// An auth_type the service does not know is stored as given and logged once
// per value: WeChat Pay adds values without notice, and failing the
// notification would lose the activation after a day of retries.
func (s *Service) Authorization(ctx context.Context, n *notify.Notification, e *businesscircle.AuthorizationEvent) (Outcome, error) {
	if r := checkFields(n, field{"mchid", e.MchID, true}, field{"openid", e.OpenID, true},
		field{"auth_type", string(e.AuthType), true}, field{"code", e.Code, false}); r != nil {
		return "", s.refuse(ctx, n, e.MchID, r)
	}
	authType := string(e.AuthType)
	if known := strings.TrimSpace(authType); rankOf(authType) > 1 {
		authType = known
	} else {
		s.unknownAuthType(authType)
	}
	var outcome Outcome = OutcomeApplied
	err := s.db.InTx(ctx, func(tx *storage.Tx) error {
		isNew, err := record(ctx, tx, n, e.MchID, e.OpenID)
		if !isNew {
			outcome = OutcomeDuplicateID
		}
		if err != nil || !isNew {
			return err
		}
		m, err := tx.LockMember(ctx, e.MchID, e.OpenID, "")
		if err != nil {
			return wrap("lock member", err)
		}
		if rankOf(authType) > rankOf(m.AuthType) {
			m.AuthType = authType
		}
		if err := tx.UpdateMember(ctx, m); err != nil {
			return wrap("update member", err)
		}
		if e.Code != "" {
			return wrap("card code", tx.SetCardCode(ctx, e.MchID, e.OpenID, e.Code))
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return outcome, nil
}

// maxUnknownAuthTypes bounds the unknown auth_type values remembered for
// logging once each.
const maxUnknownAuthTypes = 64

// unknownAuthType logs an auth_type the service does not know, once per
// value.
func (s *Service) unknownAuthType(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.unknownAuth[v]; seen || len(s.unknownAuth) >= maxUnknownAuthTypes {
		return
	}
	s.unknownAuth[v] = struct{}{}
	s.log.Warn("ledger: unknown auth_type in MALL_AUTH.ACTIVATE_CARD, stored as given", "auth_type", v)
}

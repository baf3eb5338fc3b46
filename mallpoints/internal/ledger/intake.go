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
	var out rules.Outcome
	written := false
	var outcome Outcome = OutcomeApplied
	crm := s.decidedByCRM(set, e.MchID)
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
		touch(&m, s.now())
		// A member who withdrew the authorisation earns nothing, whoever
		// would decide: the CRM is not asked.
		crm = crm && !m.Withdrawn()
		t = storage.Transaction{
			Mall: e.MchID, TransactionID: e.TransactionID, NotificationID: n.ID, OpenID: e.OpenID, AppID: e.AppID,
			ShopNumber: e.ShopNumber, ShopName: e.ShopName, Amount: e.Amount, TimeEnd: timeEnd, CommitTag: e.CommitTag,
		}
		sync, err := tx.NewSync(ctx, storage.SyncPoints, e.MchID, e.TransactionID)
		if err != nil {
			return wrap("new sync", err)
		}
		t.SyncID = sync.ID
		written = true
		if crm {
			return s.awaitDecision(ctx, tx, &m, &t)
		}
		if out, err = decide(ctx, tx, set, m, t, log); err != nil {
			return err
		}
		return s.writeEarning(ctx, tx, set, &m, &t, out, true)
	})
	if err != nil {
		return "", err
	}
	switch {
	case !written:
		log.Info("ledger: payment already recorded")
	case crm:
		log.Info("ledger: payment recorded; its points wait for the mall's CRM")
	default:
		if out.Limited {
			log.Warn("ledger: payment's points limited by the points maximum", "points", t.Points, "max_points", rules.MaxPoints)
		}
		log.Info("ledger: payment", "points", t.Points, "total_points", t.TotalPoints, "rule_version", t.RuleVersion)
	}
	return outcome, nil
}

// decide is what the rules file makes of payment t of member m: the
// member's history read under its lock, its tier and birthday, the rules,
// and the room its balance has left below rules.MaxPoints (a payment is
// never refused for it, it earns what the balance can still take). A
// member who withdrew the authorisation earns nothing.
func decide(ctx context.Context, tx *storage.Tx, set *rules.Set, m storage.Member, t storage.Transaction, log *slog.Logger) (rules.Outcome, error) {
	if m.Withdrawn() {
		return set.NotAuthorized(t.Mall), nil
	}
	h, err := history(ctx, tx, set, set.Mall(t.Mall), t.OpenID, t.TimeEnd)
	if err != nil {
		return rules.Outcome{}, err
	}
	h.Tier = tierSet(set, m, t.TimeEnd, log)
	h.BirthdayMonth = m.BirthdayMonth()
	p := rules.Payment{MchID: t.Mall, ShopNumber: t.ShopNumber, Amount: t.Amount, TimeEnd: t.TimeEnd}
	return rules.Limit(set.EvaluateWith(p, h), rules.MaxPoints-m.Balance), nil
}

// writeEarning writes what payment t of member m earned, whoever decided
// it: the payment (inserted, or updated when it was recorded to wait for
// the CRM), its lot, its sync's job, the member's balance and the earn
// entry. Refunds of t that arrived before its decision are then decided.
func (s *Service) writeEarning(ctx context.Context, tx *storage.Tx, set *rules.Set, m *storage.Member, t *storage.Transaction,
	out rules.Outcome, insert bool) error {
	steps, err := json.Marshal(out.Steps)
	if err != nil {
		return wrap("explanation", err)
	}
	applyDelta(m, out.Points+out.Bonus)
	if m.AppID == "" {
		m.AppID = t.AppID
	}
	t.Points, t.EarnPoints, t.NoPointsRemarks = out.Points, out.EarnPoints, out.NoPointsRemarks
	t.Uncapped, t.Capped, t.RuleVersion, t.Explain = out.Uncapped, out.Capped, out.RuleVersion, out.Explain
	t.Bonus, t.Tier, t.Steps = out.Bonus, out.Tier, steps
	t.TotalPoints = m.Balance
	t.PointsUpdateTime = s.now().In(beijing).Format("2006-01-02T15:04:05.000Z07:00")
	if insert {
		if _, err := tx.InsertTransaction(ctx, t); err != nil {
			return wrap("write payment", err)
		}
	} else if err := tx.DecideTransaction(ctx, t); err != nil {
		return wrap("write decision", err)
	}
	// Points and bonus are one lot, whose expiry is fixed now by the
	// policy in force.
	if err := tx.InsertLot(ctx, storage.Lot{Mall: t.Mall, OpenID: t.OpenID, Source: storage.LotFromTransaction + t.TransactionID,
		EarnedAt: t.TimeEnd, ExpiresAt: set.Mall(t.Mall).Expiry.ExpiresAt(t.TimeEnd), Points: out.Points + out.Bonus}); err != nil {
		return wrap("write lot", err)
	}
	if err := s.queue.Enqueue(ctx, tx, t.SyncID); err != nil {
		return wrap("enqueue sync", err)
	}
	if err := tx.UpdateMember(ctx, *m); err != nil {
		return wrap("update balance", err)
	}
	entry := storage.Entry{
		Mall: t.Mall, OpenID: t.OpenID, Kind: storage.EntryEarn, Points: out.Points + out.Bonus,
		Requested: out.Points + out.Bonus, BalanceAfter: m.Balance, TransactionID: t.TransactionID,
		NotificationID: t.NotificationID, CommitTag: t.CommitTag, RuleVersion: out.RuleVersion, Reason: out.Explain, Steps: steps,
	}
	if err := s.appendEntry(ctx, tx, &entry); err != nil {
		return wrap("append entry", err)
	}
	if insert {
		return nil
	}
	return s.decideWaitingRefunds(ctx, tx, set, m, t)
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
	set := s.rules.Load()
	var entry storage.Entry
	var surplus int64
	waits := false
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
		// A new notification id for a refund already recorded changes
		// nothing; found under the member's lock, a concurrent one has
		// committed.
		if _, err := tx.Refund(ctx, e.MchID, e.RefundID); err == nil {
			outcome = OutcomeDuplicateKey
			return wrap("record duplicate", tx.SetNotificationOutcome(ctx, n.ID, OutcomeDuplicateKey))
		} else if !errors.Is(err, storage.ErrNotFound) {
			return wrap("find refund", err)
		}
		r := storage.Refund{Mall: e.MchID, RefundID: e.RefundID, TransactionID: e.TransactionID, NotificationID: n.ID,
			OpenID: t.OpenID, RefundAmount: e.RefundAmount}
		// A refund waits for its deduction while its payment waits for its
		// points, and while the mall's CRM is asked for it.
		undecided := t.Decision == storage.DecisionPending || t.Decision == storage.DecisionParked
		if undecided || s.decidedByCRM(set, t.Mall) {
			r.Decision = storage.DecisionPending
			if _, err = tx.InsertRefund(ctx, &r); err != nil {
				return wrap("write refund", err)
			}
			waits = true
			if undecided {
				return nil // decided with its payment
			}
			return wrap("enqueue decision", s.queue.EnqueueDecision(ctx, tx, storage.DecisionOfRefund, r.Mall, r.RefundID))
		}
		deduct := rules.RefundDeduction(t.Points+t.Bonus, t.Amount, t.Refunded, e.RefundAmount)
		if entry, err = s.writeDeduction(ctx, tx, &m, &t, &r, deduct, true); err != nil {
			return err
		}
		surplus = r.Surplus
		return nil
	})
	if err != nil {
		return "", err
	}
	if surplus > 0 {
		log.Warn("ledger: refunds exceed the payment's amount; the surplus is not counted", "surplus", surplus)
	}
	switch {
	case waits:
		log.Info("ledger: refund recorded; its deduction waits for its decision")
	case entry.Seq != 0:
		log.Info("ledger: refund", "deducted", -entry.Points, "shortfall", entry.Shortfall, "balance", entry.BalanceAfter)
	}
	return outcome, nil
}

// writeDeduction writes refund r of payment t, which deducts deduct points
// from member m, whoever decided it: from the payment's own lot first (the
// part of that lot that already expired is not deducted again), never below
// a zero balance (what could not be deducted is the shortfall); the refund
// (inserted, or updated when it was recorded to wait for its decision), the
// payment's refund totals, the balance and the refund entry.
func (s *Service) writeDeduction(ctx context.Context, tx *storage.Tx, m *storage.Member, t *storage.Transaction,
	r *storage.Refund, deduct int64, insert bool) (storage.Entry, error) {
	lot := storage.LotFromTransaction + t.TransactionID
	remaining := int64(0)
	if l, err := tx.Lot(ctx, t.Mall, lot); err == nil {
		remaining = l.Remaining()
	} else if !errors.Is(err, storage.ErrNotFound) {
		return storage.Entry{}, wrap("read lot", err)
	}
	excused, err := tx.Excuse(ctx, t.Mall, lot, deduct-min(deduct, remaining))
	if err != nil {
		return storage.Entry{}, wrap("excuse expired points", err)
	}
	applied, shortfall := applyDelta(m, -(deduct - excused))
	if _, err := tx.Consume(ctx, t.Mall, t.OpenID, lot, -applied); err != nil {
		return storage.Entry{}, wrap("consume lots", err)
	}
	// The refunded total never passes the amount paid: what a refund
	// claims beyond it is kept apart as its surplus.
	counted := min(r.RefundAmount, max(t.Amount-t.Refunded, 0))
	r.Deducted, r.Shortfall, r.Surplus = -applied, shortfall, r.RefundAmount-counted
	if insert {
		if _, err := tx.InsertRefund(ctx, r); err != nil {
			return storage.Entry{}, wrap("write refund", err)
		}
	} else if err := tx.DecideRefund(ctx, r); err != nil {
		return storage.Entry{}, wrap("write refund's decision", err)
	}
	if err := tx.AddRefund(ctx, t.Mall, t.TransactionID, counted, deduct); err != nil {
		return storage.Entry{}, wrap("refund totals", err)
	}
	t.Refunded += counted
	t.PointsDeducted += deduct
	if err := tx.UpdateMember(ctx, *m); err != nil {
		return storage.Entry{}, wrap("update balance", err)
	}
	reason := fmt.Sprintf("refund of %d fen of %d paid (%d refunded before)", r.RefundAmount, t.Amount, t.Refunded-counted)
	if excused > 0 {
		reason += fmt.Sprintf("; %d of its points had expired", excused)
	}
	entry := storage.Entry{Mall: t.Mall, OpenID: t.OpenID, Kind: storage.EntryRefund, Points: applied,
		Requested: -(deduct - excused), Shortfall: shortfall, BalanceAfter: m.Balance, TransactionID: t.TransactionID,
		RefundID: r.RefundID, NotificationID: r.NotificationID, RuleVersion: t.RuleVersion, Reason: reason}
	return entry, wrap("append entry", s.appendEntry(ctx, tx, &entry))
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
		now := s.now()
		touch(&m, now)
		if err := tx.UpdateMember(ctx, m); err != nil {
			return wrap("update member", err)
		}
		// An activation says what the authorisation query would: a member
		// with automatic points is AUTHORIZED, one with the card only is
		// not. It ends a withdrawal, and never lowers what is known.
		implied := storage.AuthorizeUnauthorized
		if authType == string(businesscircle.AuthTypeRegisteredAndAuthorizationMode) {
			implied = storage.AuthorizeAuthorized
		}
		if m.Withdrawn() || authorizeRank[implied] > authorizeRank[m.AuthorizeState] {
			if _, err := s.setAuthorization(ctx, tx, m, implied, now, SourceActivation); err != nil {
				return err
			}
		}
		if e.Code != "" {
			if err := tx.SetCardCode(ctx, e.MchID, e.OpenID, e.Code); err != nil {
				return wrap("card code", err)
			}
		}
		return wrap("member event", s.MemberEvent(ctx, tx, e.MchID, e.OpenID, storage.EventMemberActivated,
			map[string]string{"auth_type": authType}))
	})
	if err != nil {
		return "", err
	}
	return outcome, nil
}

// authorizeRank orders the authorisation states an activation may raise a
// member to; a withdrawal (DEAUTHORIZED) is ended by any activation.
var authorizeRank = map[string]int{"": 0, storage.AuthorizeUnauthorized: 1, storage.AuthorizeAuthorized: 2}

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

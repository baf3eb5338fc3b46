package ledger

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// Adjustment is a change of balance made in the mall's own systems: a
// redemption (negative) or a correction.
type Adjustment struct {
	Mall           string
	OpenID         string
	Points         int64 // non-zero; negative deducts
	Reason         string
	IdempotencyKey string
	Actor          string // who asked: recorded with the adjustment
}

// Adjust applies a once per Idempotency-Key. A repeat of the same request
// returns the first one's entry and true; the same key with another request
// is ErrIdempotencyKeyReused. A deduction larger than the balance is
// ErrInsufficientBalance, and an addition that would take the balance above
// rules.MaxPoints is ErrBalanceLimit; both write nothing: unlike a refund
// or a payment, the mall can be told no. The member must exist.
func (s *Service) Adjust(ctx context.Context, a Adjustment) (storage.Entry, bool, error) {
	if a.Points > rules.MaxPoints || a.Points < -rules.MaxPoints {
		return storage.Entry{}, false, fmt.Errorf("%w: %d points", ErrPointsOutOfRange, a.Points)
	}
	entry, replay, err := s.adjust(ctx, a)
	if errors.Is(err, errKeyTaken) {
		// A concurrent request with the same key committed first: this
		// one's work was rolled back, and a second pass replays the first.
		entry, replay, err = s.adjust(ctx, a)
	}
	return entry, replay, err
}

// errKeyTaken: another transaction recorded the Idempotency-Key between
// this one's read of it and its write.
var errKeyTaken = errors.New("ledger: Idempotency-Key recorded concurrently")

func (s *Service) adjust(ctx context.Context, a Adjustment) (storage.Entry, bool, error) {
	hash := requestHash(a.OpenID, fmt.Sprint(a.Points), a.Reason)
	var entry storage.Entry
	replay := false
	err := s.db.InTx(ctx, func(tx *storage.Tx) error {
		old, err := tx.Adjustment(ctx, a.Mall, a.IdempotencyKey)
		switch {
		case err == nil:
			if old.RequestHash != hash {
				return ErrIdempotencyKeyReused
			}
			replay = true
			entry, err = tx.Entry(ctx, old.EntrySeq)
			return wrap("read entry", err)
		case !errors.Is(err, storage.ErrNotFound):
			return wrap("find adjustment", err)
		}
		m, err := tx.Member(ctx, a.Mall, a.OpenID)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrUnknownMember
		}
		if err != nil {
			return wrap("lock member", err)
		}
		if a.Points < -m.Balance {
			return fmt.Errorf("%w: balance %d, adjustment %d", ErrInsufficientBalance, m.Balance, a.Points)
		}
		// Compared without adding, so that a balance written before the
		// bound existed cannot overflow the check.
		if a.Points > rules.MaxPoints-m.Balance {
			return fmt.Errorf("%w: balance %d, adjustment %d, maximum %d", ErrBalanceLimit, m.Balance, a.Points, rules.MaxPoints)
		}
		m.Balance += a.Points
		// A debit consumes lots first in, first out.
		if _, err := tx.Consume(ctx, a.Mall, a.OpenID, "", -a.Points); err != nil {
			return wrap("consume lots", err)
		}
		if err := tx.UpdateMember(ctx, m); err != nil {
			return wrap("update balance", err)
		}
		entry = storage.Entry{Mall: a.Mall, OpenID: a.OpenID, Kind: storage.EntryAdjustment, Points: a.Points,
			Requested: a.Points, BalanceAfter: m.Balance, IdempotencyKey: a.IdempotencyKey, Reason: a.Reason,
			RuleVersion: s.rules.Load().Version()}
		if err := s.appendEntry(ctx, tx, &entry); err != nil {
			return wrap("append entry", err)
		}
		isNew, err := tx.InsertAdjustment(ctx, &storage.Adjustment{Mall: a.Mall, IdempotencyKey: a.IdempotencyKey,
			RequestHash: hash, OpenID: a.OpenID, Points: a.Points, Reason: a.Reason, EntrySeq: entry.Seq, Actor: a.Actor})
		if err != nil {
			return wrap("write adjustment", err)
		}
		if !isNew {
			return errKeyTaken
		}
		// A credit is a lot expiring by the policy in force, written once
		// the key is known to be this request's.
		now := s.now()
		return wrap("write lot", tx.InsertLot(ctx, storage.Lot{Mall: a.Mall, OpenID: a.OpenID,
			Source: storage.LotFromAdjustment + a.IdempotencyKey, EarnedAt: now,
			ExpiresAt: s.rules.Load().Mall(a.Mall).Expiry.ExpiresAt(now), Points: a.Points}))
	})
	return entry, replay, err
}

// requestHash identifies a request's content for Idempotency-Key checks.
func requestHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Pseudonym is what replaces an erased member's openid: keyed by a secret
// the service does not keep, so it cannot be reversed, and unique per
// member.
func Pseudonym(mall, openid string) string {
	var key [32]byte
	rand.Read(key[:])
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte(mall + "\x00" + openid))
	return "erased_" + hex.EncodeToString(m.Sum(nil))[:24]
}

// Erase replaces a member's openid with a pseudonym everywhere; balances
// and sums are untouched. It returns the pseudonym. While a sync naming the
// member is pending it refuses with ErrSyncsPending, and while one is parked
// with ErrSyncsParked: WeChat Pay must get the real openid first, and a
// parked sync retried after erasure would send the pseudonym.
func (s *Service) Erase(ctx context.Context, mall, openid string) (string, error) {
	p := Pseudonym(mall, openid)
	err := s.db.InTx(ctx, func(tx *storage.Tx) error {
		if _, err := tx.Member(ctx, mall, openid); errors.Is(err, storage.ErrNotFound) {
			return ErrUnknownMember
		} else if err != nil {
			return wrap("lock member", err)
		}
		n, err := tx.UnfinishedSyncs(ctx, mall, openid)
		if err != nil {
			return wrap("unfinished syncs", err)
		}
		if n[storage.SyncPending] > 0 {
			return fmt.Errorf("%w: %d", ErrSyncsPending, n[storage.SyncPending])
		}
		if n[storage.SyncParked] > 0 {
			return fmt.Errorf("%w: %d", ErrSyncsParked, n[storage.SyncParked])
		}
		if _, err = tx.EraseMember(ctx, mall, openid, p); err != nil {
			return wrap("erase member", err)
		}
		// The event names the member by its pseudonym, as its earlier
		// events now do.
		return s.memberEvent(ctx, tx, MemberEvent{Type: EventErased, Mall: mall, OpenID: p})
	})
	return p, err
}

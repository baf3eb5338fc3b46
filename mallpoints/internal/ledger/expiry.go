package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// ExpiryBatch is how many members an expiry run reads at a time; each
// member is expired in a transaction of its own, so a long run never holds
// a lock that intake waits on for more than one member.
const ExpiryBatch = 500

// ErrAsOfInvalid: an expiry run's as_of is not a Beijing date, or is after
// today.
var ErrAsOfInvalid = errors.New("ledger: as_of must be a Beijing date (YYYY-MM-DD), not after today")

// Expired is what one member lost in an expiry run.
type Expired struct {
	Mall   string `json:"mall"`
	OpenID string `json:"openid"`
	Points int64  `json:"points"`
	Seq    int64  `json:"seq"` // of the expire entry
}

// ExpiryResult is what an expiry run did.
type ExpiryResult struct {
	AsOf    string    `json:"as_of"`
	Points  int64     `json:"points"`
	Members []Expired `json:"members"`
}

// Expire runs expiry as of a Beijing date: every lot due at or before 00:00
// Beijing time that day loses what remains of it, in one expire entry per
// member keyed (mall, openid, as_of). It is idempotent: a member with that
// run's entry is skipped, so running it again expires nothing more.
func (s *Service) Expire(ctx context.Context, asOf string) (ExpiryResult, error) {
	day, err := rules.ParseBeijingDate(asOf)
	if err != nil || day.After(s.now()) {
		return ExpiryResult{}, fmt.Errorf("%w: %q", ErrAsOfInvalid, asOf)
	}
	res := ExpiryResult{AsOf: asOf, Members: []Expired{}}
	var after storage.MemberRef
	for {
		batch, err := s.db.MembersDue(ctx, day, after, ExpiryBatch)
		if err != nil {
			return res, wrap("members due", err)
		}
		for _, m := range batch {
			x, err := s.expireMember(ctx, m, day, storage.ExpireKey(asOf))
			if err != nil {
				return res, err
			}
			if x.Points > 0 {
				res.Points += x.Points
				res.Members = append(res.Members, x)
			}
		}
		if len(batch) < ExpiryBatch {
			break
		}
		after = batch[len(batch)-1]
		if err := ctx.Err(); err != nil {
			return res, err
		}
	}
	if res.Points > 0 {
		s.log.Info("ledger: expiry run", "as_of", asOf, "members", len(res.Members), "points", res.Points)
	}
	return res, nil
}

func (s *Service) expireMember(ctx context.Context, ref storage.MemberRef, day time.Time, key string) (Expired, error) {
	x := Expired{Mall: ref.Mall, OpenID: ref.OpenID}
	err := s.db.InTx(ctx, func(tx *storage.Tx) error {
		m, err := tx.LockMember(ctx, ref.Mall, ref.OpenID, "")
		if err != nil {
			return wrap("lock member", err)
		}
		done, err := tx.HasExpireEntry(ctx, ref.Mall, ref.OpenID, key)
		if err != nil || done {
			return wrap("find expire entry", err)
		}
		due, err := tx.ExpireDue(ctx, ref.Mall, ref.OpenID, day)
		if err != nil || due == 0 {
			return wrap("expire lots", err)
		}
		applied, shortfall := applyDelta(&m, -due)
		if err := tx.UpdateMember(ctx, m); err != nil {
			return wrap("update balance", err)
		}
		e := storage.Entry{Mall: ref.Mall, OpenID: ref.OpenID, Kind: storage.EntryExpire, Points: applied,
			Requested: -due, Shortfall: shortfall, BalanceAfter: m.Balance, IdempotencyKey: key,
			Reason: fmt.Sprintf("%d points expired as of %s", due, day.In(beijing).Format(time.DateOnly))}
		if err := tx.AppendEntry(ctx, &e); err != nil {
			return wrap("append entry", err)
		}
		x.Points, x.Seq = -applied, e.Seq
		return nil
	})
	return x, err
}

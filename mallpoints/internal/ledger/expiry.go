package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// ExpiryBatch is how many members an expiry run reads at a time by
// default; each member is expired in a transaction of its own, so a long run
// never holds a lock that intake waits on for more than one member.
const ExpiryBatch = 500

// ExpiryPause is the default pause between two batches of an expiry run: it
// leaves the database to intake for a moment, so that a year-end run over
// 100,000 members does not push notification answers towards WeChat Pay's
// 5 s. With the defaults a run writes at most 500 members per batch and
// rests 100 ms after each (200 pauses, 20 s, for 100,000 members).
const ExpiryPause = 100 * time.Millisecond

// ExpiryConfig bounds the rate of an expiry run.
type ExpiryConfig struct {
	// Batch is how many members a run reads and expires before it pauses;
	// 0 means ExpiryBatch.
	Batch int
	// Pause is how long a run rests between two batches; 0 means
	// ExpiryPause, a negative value none (tests).
	Pause time.Duration
}

// withDefaults fills the fields left zero.
func (c ExpiryConfig) withDefaults() ExpiryConfig {
	if c.Batch <= 0 {
		c.Batch = ExpiryBatch
	}
	if c.Pause == 0 {
		c.Pause = ExpiryPause
	}
	return c
}

// SetExpiryConfig sets the batch size and the pause of the expiry runs;
// call it before the service is used.
func (s *Service) SetExpiryConfig(c ExpiryConfig) { s.expiry = c.withDefaults() }

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
// run's entry is skipped, so running it again expires nothing more. It is
// resumable: a run stopped half-way (its context cancelled) has committed
// the members before the one it stopped on, and a run started again for the
// date finds only those left (a member expired has nothing more due), so
// each member is expired once. It reads members in batches of the
// ExpiryConfig's Batch and pauses for its Pause between them.
func (s *Service) Expire(ctx context.Context, asOf string) (ExpiryResult, error) {
	day, err := rules.ParseBeijingDate(asOf)
	if err != nil || day.After(s.now()) {
		return ExpiryResult{}, fmt.Errorf("%w: %q", ErrAsOfInvalid, asOf)
	}
	cfg := s.expiry.withDefaults()
	res := ExpiryResult{AsOf: asOf, Members: []Expired{}}
	var after storage.MemberRef
	for {
		batch, err := s.db.MembersDue(ctx, day, after, cfg.Batch)
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
		if s.afterBatch != nil {
			s.afterBatch(len(batch))
		}
		if len(batch) < cfg.Batch {
			break
		}
		after = batch[len(batch)-1]
		if err := pause(ctx, cfg.Pause); err != nil {
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
		if err := s.appendEntry(ctx, tx, &e); err != nil {
			return wrap("append entry", err)
		}
		x.Points, x.Seq = -applied, e.Seq
		return nil
	})
	return x, err
}

// pause waits d, or until ctx is done.
func pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

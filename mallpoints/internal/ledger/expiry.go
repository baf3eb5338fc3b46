package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// ExpiryBatch is how many members an expiry run reads, and expires in one
// transaction, at a time by default. A batch holds its members' locks until
// it commits: about 0.1 s for 100 members on PostgreSQL (8 ms on SQLite),
// which is as long as a payment of one of them can wait on the run.
const ExpiryBatch = 100

// ExpiryPause is the default pause between two batches of an expiry run: it
// leaves the database to intake for a moment, so that a year-end run over
// 100,000 members does not push notification answers towards WeChat Pay's
// 5 s. With the defaults a run rests 20 ms after each 100 members (1,000
// pauses, 20 s, for 100,000 members).
const ExpiryPause = 20 * time.Millisecond

// ExpiryConfig bounds the rate of an expiry run.
type ExpiryConfig struct {
	// Batch is how many members a run reads and expires, in one
	// transaction, before it pauses; 0 means ExpiryBatch.
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

// ExpiryDate is the start of the Beijing day asOf names, the date of an
// expiry run, or ErrAsOfInvalid when it is not a date (YYYY-MM-DD) or is
// after today. Expire checks its date with it, and the API a request's
// before it queues the run.
func (s *Service) ExpiryDate(asOf string) (time.Time, error) {
	day, err := rules.ParseBeijingDate(asOf)
	if err != nil || day.After(s.now()) {
		return time.Time{}, fmt.Errorf("%w: %q", ErrAsOfInvalid, asOf)
	}
	return day, nil
}

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
// the batches before the one it stopped in, and a run started again for the
// date finds only the members left (a member expired has nothing more due),
// so each member is expired once. It reads members in batches of the
// ExpiryConfig's Batch, expires each batch in one transaction and pauses
// for its Pause between them.
func (s *Service) Expire(ctx context.Context, asOf string) (ExpiryResult, error) {
	day, err := s.ExpiryDate(asOf)
	if err != nil {
		return ExpiryResult{}, err
	}
	cfg := s.expiry.withDefaults()
	res := ExpiryResult{AsOf: asOf, Members: []Expired{}}
	var after storage.MemberRef
	for {
		batch, err := s.db.MembersDue(ctx, day, after, cfg.Batch)
		if err != nil {
			return res, wrap("members due", err)
		}
		xs, err := s.expireBatch(ctx, batch, day, storage.ExpireKey(asOf))
		if err != nil {
			return res, err
		}
		for _, x := range xs {
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

// expireBatch expires a batch of members in one transaction: it locks each
// member, expires its due lots and updates its balance, then appends the
// expire entries last. PostgreSQL numbers a mall's entries under its row
// lock held until commit (AppendEntry), and SQLite has one writer: a
// transaction per member took that lock, and waited for the log to reach
// the disk under it, once per member, and the mall's payments queued behind
// the run's commits. A batch takes it once, for its appends and one commit. A member's lock
// is held for the batch (tens of milliseconds), and a run stopped half-way
// has committed whole batches.
func (s *Service) expireBatch(ctx context.Context, refs []storage.MemberRef, day time.Time, key string) ([]Expired, error) {
	var out []Expired
	err := s.db.InTx(ctx, func(tx *storage.Tx) error {
		entries := make([]storage.Entry, 0, len(refs))
		for _, ref := range refs {
			m, err := tx.Member(ctx, ref.Mall, ref.OpenID)
			if err != nil {
				return wrap("lock member", err)
			}
			done, err := tx.HasExpireEntry(ctx, ref.Mall, ref.OpenID, key)
			if err != nil {
				return wrap("find expire entry", err)
			}
			if done {
				continue
			}
			due, err := tx.ExpireDue(ctx, ref.Mall, ref.OpenID, day)
			if err != nil {
				return wrap("expire lots", err)
			}
			if due == 0 {
				continue
			}
			applied, shortfall := applyDelta(&m, -due)
			if err := tx.UpdateMember(ctx, m); err != nil {
				return wrap("update balance", err)
			}
			entries = append(entries, storage.Entry{Mall: ref.Mall, OpenID: ref.OpenID, Kind: storage.EntryExpire,
				Points: applied, Requested: -due, Shortfall: shortfall, BalanceAfter: m.Balance, IdempotencyKey: key,
				Reason: fmt.Sprintf("%d points expired as of %s", due, day.In(beijing).Format(time.DateOnly))})
		}
		out = make([]Expired, 0, len(entries))
		for i := range entries {
			e := &entries[i]
			if err := s.appendEntry(ctx, tx, e); err != nil {
				return wrap("append entry", err)
			}
			out = append(out, Expired{Mall: e.Mall, OpenID: e.OpenID, Points: -e.Points, Seq: e.Seq})
		}
		return nil
	})
	return out, err
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

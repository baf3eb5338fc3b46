package ledger

import (
	"context"
	"log/slog"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// TierAt is member m's tier under set at instant at, as a payment then
// would find it: the tier set through the API when it holds, else the one
// its spend in the tier window reaches; "" when the mall has no tiers.
func TierAt(ctx context.Context, db *storage.DB, set *rules.Set, m storage.Member, at time.Time, log *slog.Logger) (string, error) {
	var h rules.History
	if from, to, ok := set.TierWindow(m.Mall, at); ok {
		err := db.ReadTx(ctx, func(tx *storage.Tx) error {
			var err error
			h.SpendFen, err = tx.TierSpend(ctx, m.Mall, m.OpenID, from, to)
			return err
		})
		if err != nil {
			return "", wrap("tier spend", err)
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h.Tier = tierSet(set, m, at, log)
	return set.TierOf(m.Mall, h), nil
}

// SetTier sets the member's tier from the mall's CRM: it overrides the tier
// computed from spend for payments whose Beijing date of time_end is until
// or before (until is YYYY-MM-DD, inclusive). An empty tier clears it. A
// member the service has not seen is created, as a payment would: the CRM
// may know the member first. A tier the rules do not have is kept; intake
// falls back to the computed tier and logs a warning, so a tier renamed in
// the file never stops payments.
func (s *Service) SetTier(ctx context.Context, mall, openid, tier, until string) (storage.Member, error) {
	var m storage.Member
	err := s.db.InTx(ctx, func(tx *storage.Tx) error {
		if _, err := tx.LockMember(ctx, mall, openid, ""); err != nil {
			return wrap("lock member", err)
		}
		if err := tx.SetTier(ctx, mall, openid, tier, until); err != nil {
			return wrap("set tier", err)
		}
		var err error
		m, err = tx.ReadMember(ctx, mall, openid)
		return wrap("read member", err)
	})
	if err == nil && tier != "" && !s.rules.Load().HasTier(mall, tier) {
		s.log.Warn("ledger: a tier set through the API is not in the rules; the computed tier applies until it is",
			"mall", mall, "tier", tier, "until", until)
	}
	return m, err
}

package memberstatus

import (
	"context"
	"errors"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// recheckBatch is how many due members one read of the re-check lists.
const recheckBatch = 200

// RecheckResult is what one run of the re-check did.
type RecheckResult struct {
	Retired   int64 // members whose activity is over 30 days old, dropped from the re-check
	Checked   int   // answers recorded
	Withdrawn int   // of them DEAUTHORIZED
	Failed    int   // queries not made or failed; asked again next run
	Complete  bool  // every due member was asked (or failed) before the run's bound
}

// Recheck is one run of the periodic re-check: it asks WeChat Pay the
// authorisation of the members active in the last 30 days whose last
// answer is older than Config.RecheckInterval, the oldest first, at most
// half the budget a second (it waits for the next second when that half is
// spent), for at most Config.RecheckRun; the next run goes on. A member
// whose query fails is passed over in this run. Each answer is recorded by
// the ledger, a withdrawal with its member event. The run first drops the
// members whose activity is over 30 days old from the re-check
// (storage.RetireInactive), which it does even when the re-check is off.
func (s *Service) Recheck(ctx context.Context) (RecheckResult, error) {
	var res RecheckResult
	now := s.cfg.Now()
	var err error
	if res.Retired, err = s.cfg.DB.RetireInactive(ctx, now.Add(-storage.ActiveWindow)); err != nil {
		return res, err
	}
	if s.cfg.RecheckInterval < 0 {
		res.Complete = true
		return res, nil
	}
	deadline := time.Now().Add(s.cfg.RecheckRun)
	half := max(s.cfg.Budget/2, 1)
	var after storage.Member
	for {
		due, err := s.cfg.DB.DueForRecheck(ctx, now.Add(-storage.ActiveWindow), now.Add(-s.cfg.RecheckInterval), after, recheckBatch)
		if err != nil {
			return res, err
		}
		if len(due) == 0 {
			res.Complete = true
			break
		}
		for _, m := range due {
			if !time.Now().Before(deadline) {
				return s.logRun(res), nil
			}
			after = m
			state, err := s.askAuthorization(ctx, m, half)
			for errors.Is(err, errBudgetSpent) && time.Now().Before(deadline) {
				if err := sleep(ctx, time.Until(time.Now().Truncate(tenth).Add(tenth))); err != nil {
					return res, err
				}
				state, err = s.askAuthorization(ctx, m, half)
			}
			switch {
			case ctx.Err() != nil:
				return res, ctx.Err()
			case err != nil:
				res.Failed++
			default:
				res.Checked++
				if state == storage.AuthorizeDeauthorized {
					res.Withdrawn++
				}
			}
		}
	}
	return s.logRun(res), nil
}

func (s *Service) logRun(res RecheckResult) RecheckResult {
	if res.Checked+res.Failed > 0 || res.Retired > 0 {
		s.cfg.Logger.Info("memberstatus: authorisations re-checked", "checked", res.Checked, "withdrawn", res.Withdrawn,
			"failed", res.Failed, "retired", res.Retired, "complete", res.Complete)
	}
	return res
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

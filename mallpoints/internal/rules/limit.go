package rules

import "fmt"

// MaxPoints bounds every points quantity the service keeps: what one
// payment earns, what one adjustment changes and a member's balance. At
// 10^12 it is far above any real programme and far below where a sum of
// int64 could overflow (9.2 × 10^18), so the sums the ledger and the
// dashboard make of bounded values stay exact on both engines.
const MaxPoints int64 = 1_000_000_000_000

// ReasonBalanceLimit: the member's balance is at MaxPoints, so the payment
// earned nothing more.
const ReasonBalanceLimit Reason = "balance_limit"

// RemarkBalanceLimit is the no_points_remarks of ReasonBalanceLimit.
const RemarkBalanceLimit = "积分已达上限 (points balance at its maximum)"

// Limit keeps o's points within room, what a member's balance can still
// take below MaxPoints: a payment is never refused for it, its points are
// cut and the outcome says so (Limited, and the explanation). An outcome
// within room is returned as it is.
//
// The bonus is cut first, then the points.
func Limit(o Outcome, room int64) Outcome {
	room = max(room, 0)
	if o.Points+o.Bonus <= room {
		return o
	}
	o.Bonus = min(o.Bonus, max(room-o.Points, 0))
	o.Explain += fmt.Sprintf(", balance limit %d (%d left) → %d", MaxPoints, room, min(o.Points, room)+o.Bonus)
	o.Points, o.Limited = min(o.Points, room), true
	o.Steps = append(o.Steps, Step{Step: "max_points", Name: "balance", Cap: ptr(room), Bonus: o.Bonus, Points: o.Points})
	if room == 0 {
		o.EarnPoints, o.Reason, o.NoPointsRemarks = false, ReasonBalanceLimit, RemarkBalanceLimit
	}
	return o
}

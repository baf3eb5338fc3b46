package rules

import (
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Payment is what Evaluate needs of a MALL_TRANSACTION.SUCCESS notification.
type Payment struct {
	MchID      string    // the mall (sub_mchid in partner mode, else mchid)
	ShopNumber string    // shop_number
	Amount     int64     // fen, from MALL_TRANSACTION.SUCCESS `amount`
	TimeEnd    time.Time // payment time from the notification (time_end)
}

// Reason says why a payment earned no points; empty when it earned some.
type Reason string

// The reasons for earn_points=false, each synced with its remark.
const (
	ReasonExcludedShop    Reason = "excluded_shop"     // the shop is excluded
	ReasonBelowMinimum    Reason = "below_minimum"     // amount < min_amount_fen
	ReasonDailyCapReached Reason = "daily_cap_reached" // the member's daily cap left nothing
	ReasonNoPoints        Reason = "no_points"         // the formula gave 0 (less than one yuan)
)

// Outcome is what a payment earns under a Set, ready for the points sync.
type Outcome struct {
	Points          int64  // what the member earns for this payment, after the cap (>= 0)
	EarnPoints      bool   // false: sync earn_points=false with NoPointsRemarks
	NoPointsRemarks string // why no points; at most 128 bytes of UTF-8, as no_points_remarks allows
	Reason          Reason // the machine form of NoPointsRemarks; empty when EarnPoints
	Uncapped        int64  // points before the daily cap
	Capped          bool   // the daily cap took points away
	Limited         bool   // MaxPoints took points away (Limit, or a product above it)
	RuleVersion     string // Set.Version of the rules that produced this outcome
	Explain         string // one line for logs and the dashboard
}

// Evaluate applies the rules of the payment's mall to one payment.
// earnedToday is what this member already earned at this mall in the
// Beijing (UTC+8) day of p.TimeEnd (see BeijingDay): the sum of the Points
// of the member's other payments whose time_end falls in that day, so the
// order in which notifications arrive does not move the day. Negative
// counts as 0.
//
// In order: an excluded shop earns nothing; an amount below the minimum
// earns nothing; otherwise
//
//	points = floor(floor(amount / 100) × shop multiplier × promotion multiplier)
//
// computed exactly, where a shop without a rule has multiplier 1 and so
// does a time without a promotion. When several promotions cover the
// payment, the highest multiplier applies and the others are ignored: they
// do not compound, so the largest multiplier in the file bounds what a
// payment earns, and adding a mall-wide promotion over a shop's never
// surprises the mall with 2 × 2 = 4. Last, the daily cap keeps points to
// what is left of it. A payment that ends with 0 points has EarnPoints
// false and the remark of its reason.
func (s *Set) Evaluate(p Payment, earnedToday int64) Outcome {
	m := s.mall(p.MchID)
	o := Outcome{RuleVersion: s.version}
	noPoints := func(r Reason, remark, explain string) Outcome {
		o.Reason, o.NoPointsRemarks, o.Explain = r, remark, explain
		return o
	}

	if sh, ok := m.shops[p.ShopNumber]; ok && sh.excluded {
		remark := m.remarks.Excluded
		if sh.remark != "" {
			remark = sh.remark
		}
		return noPoints(ReasonExcludedShop, remark, fmt.Sprintf("shop %s excluded → 0", p.ShopNumber))
	}
	amount := max(p.Amount, 0)
	if amount < m.minAmount {
		return noPoints(ReasonBelowMinimum, m.remarks.BelowMinimum,
			fmt.Sprintf("amount %d < minimum %d → 0", amount, m.minAmount))
	}

	base := amount / 100
	var explain strings.Builder
	fmt.Fprintf(&explain, "floor(%d/100)=%d", amount, base)
	shopMul := one
	if sh, ok := m.shops[p.ShopNumber]; ok {
		shopMul = sh.multiplier
		fmt.Fprintf(&explain, " ×%s (shop %s)", shopMul, p.ShopNumber)
	}
	promoMul := one
	if best, others := m.promotionAt(p.TimeEnd, p.ShopNumber); best != nil {
		promoMul = best.multiplier
		fmt.Fprintf(&explain, " ×%s (promo %s", promoMul, best.name)
		for _, q := range others {
			fmt.Fprintf(&explain, "; outranks %s ×%s", q.name, q.multiplier)
		}
		explain.WriteString(")")
	}
	o.Uncapped = points(base, shopMul, promoMul, &explain)
	if o.Uncapped > MaxPoints {
		o.Uncapped, o.Limited = MaxPoints, true
		fmt.Fprintf(&explain, ", limit %d", MaxPoints)
	}

	o.Points = o.Uncapped
	if m.dailyCap > 0 {
		left := max(m.dailyCap-max(earnedToday, 0), 0)
		o.Points = min(o.Uncapped, left)
		o.Capped = o.Points < o.Uncapped
		fmt.Fprintf(&explain, ", cap %d (%d left)", m.dailyCap, left)
	}
	fmt.Fprintf(&explain, " → %d", o.Points)
	o.Explain = explain.String()
	switch {
	case o.Points > 0:
		o.EarnPoints = true
	case o.Uncapped > 0:
		o.Reason, o.NoPointsRemarks = ReasonDailyCapReached, m.remarks.CapReached
	default:
		o.Reason, o.NoPointsRemarks = ReasonNoPoints, m.remarks.NoPoints
	}
	return o
}

var (
	unitsSquared = big.NewInt(multiplierScale * multiplierScale)
	maxPoints    = big.NewInt(MaxPoints)
)

// points computes floor(base × a × b) exactly, in integers scaled by
// 10^8, and saturates just above MaxPoints rather than wrap. It writes the
// exact product to explain when a multiplier took part.
func points(base int64, a, b multiplier, explain *strings.Builder) int64 {
	product := new(big.Int).Mul(big.NewInt(base), big.NewInt(int64(a)))
	product.Mul(product, big.NewInt(int64(b)))
	q, r := new(big.Int).QuoRem(product, unitsSquared, new(big.Int))
	if a != one || b != one {
		if r.Sign() == 0 {
			fmt.Fprintf(explain, " = %s", q)
		} else {
			frac := fmt.Sprintf("%08d", r.Int64())
			fmt.Fprintf(explain, " = %s.%s, floor %s", q, strings.TrimRight(frac, "0"), q)
		}
	}
	if q.Cmp(maxPoints) > 0 {
		return MaxPoints + 1
	}
	return q.Int64()
}

// promotionAt returns the promotion that applies at t in shop, and the
// others that also cover it, in canonical order. The highest multiplier
// wins; among equal ones the first in canonical order (start, end, name), so
// the choice never depends on the order of the file.
func (m *mall) promotionAt(t time.Time, shop string) (best *promotion, others []*promotion) {
	var covering []*promotion
	for i := range m.promotions {
		if p := &m.promotions[i]; p.covers(t, shop) {
			covering = append(covering, p)
			if best == nil || p.multiplier > best.multiplier {
				best = p
			}
		}
	}
	for _, p := range covering {
		if p != best {
			others = append(others, p)
		}
	}
	return best, others
}

// covers reports whether a payment at t in shop falls in the promotion:
// start inclusive, end exclusive.
func (p *promotion) covers(t time.Time, shop string) bool {
	if t.Before(p.start) || !t.Before(p.end) {
		return false
	}
	if p.shops == nil {
		return true
	}
	for _, s := range p.shops {
		if s == shop {
			return true
		}
	}
	return false
}

// beijing is China Standard Time, UTC+8 all year (China has no daylight
// saving time), in which WeChat Pay reports times and malls count days.
var beijing = time.FixedZone("UTC+8", 8*60*60)

// BeijingDay returns the UTC+8 calendar day containing t as the instants
// [start, end): the day a member's daily cap counts in. A payment at
// 2026-11-11T16:30Z is on 2026-11-12 in Beijing.
func BeijingDay(t time.Time) (start, end time.Time) {
	b := t.In(beijing)
	start = time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, beijing)
	return start, start.AddDate(0, 0, 1)
}

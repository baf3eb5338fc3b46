package rules

import (
	"fmt"
	"math/big"
	"slices"
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
	ReasonExcludedShop      Reason = "excluded_shop"       // the shop (or its category) is excluded
	ReasonBelowMinimum      Reason = "below_minimum"       // amount < min_amount_fen
	ReasonDailyCapReached   Reason = "daily_cap_reached"   // the member's daily cap left nothing
	ReasonMonthlyCapReached Reason = "monthly_cap_reached" // the member's monthly cap left nothing
	ReasonNoPoints          Reason = "no_points"           // the formula gave 0 (less than one point)
	// ReasonNotAuthorized: the member withdrew the authorisation of the
	// points service (the authorisation query answers DEAUTHORIZED).
	ReasonNotAuthorized Reason = "not_authorized"
)

// History is what a payment's points depend on beyond the payment and the
// rules: the member's record at this mall, read by the ledger under the
// member's lock. Negative sums count as 0.
type History struct {
	// EarnedToday and EarnedThisMonth are the Points (after caps, without
	// bonuses, not reduced by refunds) of the member's other payments whose
	// time_end falls in the Beijing day (BeijingDay) and calendar month
	// (BeijingMonth) of this payment's time_end.
	EarnedToday, EarnedThisMonth int64
	// SpendFen is the member's tier spend (TierWindow): amounts of the
	// payments recorded before this one with time_end in the window, less
	// their refunds.
	SpendFen int64
	// FirstEarning is true when the member has never had a payment here
	// with points or a bonus: this payment may take first_payment_bonus.
	FirstEarning bool
	// Tier, when set, is the member's tier instead of the one SpendFen
	// gives: one set through the API until a date, or asked for by a
	// preview. A name the mall's tiers lack is ignored (see HasTier), so
	// a tier removed from the file falls back to the computed one.
	Tier string
	// BirthdayMonth is the month of the member's birthday, 1 to 12, as the
	// mall's CRM gave it; 0 when unknown. Promotions with birthday_month
	// cover payments whose Beijing month is this one.
	BirthdayMonth int
}

// Step is one step of a payment's explanation, kept as data: what applied
// and the points after it. Step is one of base, category, shop, promotion,
// tier, max_points, per_payment_cap, daily_cap, monthly_cap,
// first_payment_bonus, excluded, below_minimum, not_authorized.
type Step struct {
	Step       string `json:"step"`
	Name       string `json:"name,omitempty"`       // the shop, category, promotion or tier
	Multiplier string `json:"multiplier,omitempty"` // an exact decimal, for the multiplying steps
	Cap        *int64 `json:"cap,omitempty"`        // for the caps and max_points
	Bonus      int64  `json:"bonus,omitempty"`      // for first_payment_bonus
	Points     int64  `json:"points"`               // the payment's points after this step (without the bonus)
}

// Outcome is what a payment earns under a Set, ready for the points sync.
type Outcome struct {
	Points          int64  // what the member earns for this payment, after the caps (>= 0), without Bonus
	Bonus           int64  // first_payment_bonus, stored apart: neither capped nor counted by caps
	EarnPoints      bool   // false: sync earn_points=false with NoPointsRemarks
	NoPointsRemarks string // why no points; at most 128 bytes of UTF-8, as no_points_remarks allows
	Reason          Reason // the machine form of NoPointsRemarks; empty when EarnPoints
	Uncapped        int64  // points before the caps
	Capped          bool   // a cap (per payment, daily, monthly) took points away
	Limited         bool   // MaxPoints took points away (Limit, or a product above it)
	Tier            string // the member's tier at this payment; "" without tiers
	RuleVersion     string // Set.Version of the rules that produced this outcome
	Explain         string // one line for logs and the dashboard
	Steps           []Step // the explanation as data
}

// Evaluate applies the rules of the payment's mall to one payment of a
// member who earned earnedToday at this mall in the Beijing day of
// p.TimeEnd, with no monthly total, no tier spend and no bonus: see
// EvaluateWith.
func (s *Set) Evaluate(p Payment, earnedToday int64) Outcome {
	return s.EvaluateWith(p, History{EarnedToday: earnedToday})
}

// EvaluateWith applies the rules of the payment's mall to one payment,
// given the member's history h.
//
// In order: an excluded shop (by its own entry, or its category's) earns
// nothing; an amount below the minimum earns nothing; otherwise
//
//	points = floor(floor(amount / fen_per_point) × shop-or-category multiplier
//	               × best promotion multiplier × tier multiplier)
//
// computed exactly, where a shop without a rule has multiplier 1 and so
// does a time without a promotion. When several promotions cover the
// payment, the highest multiplier applies and the others are ignored: they
// do not compound, so the largest multiplier in the file bounds what a
// payment earns, and adding a mall-wide promotion over a shop's never
// surprises the mall with 2 × 2 = 4. The product is clamped to MaxPoints.
// Then per_payment_cap, then what is left of daily_cap and monthly_cap; then
// first_payment_bonus is added apart (Bonus) when the payment earned points
// and h.FirstEarning. A payment that ends with 0 points has EarnPoints
// false and the remark of its reason.
func (s *Set) EvaluateWith(p Payment, h History) Outcome {
	m := s.mall(p.MchID)
	o := Outcome{RuleVersion: s.version}
	noPoints := func(r Reason, remark, explain string, step Step) Outcome {
		o.Reason, o.NoPointsRemarks, o.Explain, o.Steps = r, remark, explain, []Step{step}
		return o
	}
	sh, own := m.shops[p.ShopNumber]
	cat := m.categories[p.ShopNumber]
	if own && sh.excluded || !own && cat != nil && cat.excluded {
		remark, name, what := m.remarks.Excluded, p.ShopNumber, "shop"
		if own && sh.remark != "" {
			remark = sh.remark
		} else if cat != nil && cat.excluded && cat.remark != "" {
			remark = cat.remark
		}
		if !own {
			name, what = cat.name, "category"
		}
		return noPoints(ReasonExcludedShop, remark, fmt.Sprintf("%s %s excluded → 0", what, name), Step{Step: "excluded", Name: name})
	}
	amount := max(p.Amount, 0)
	if amount < m.minAmount {
		return noPoints(ReasonBelowMinimum, m.remarks.BelowMinimum,
			fmt.Sprintf("amount %d < minimum %d → 0", amount, m.minAmount), Step{Step: "below_minimum"})
	}

	base := amount / m.fenPerPoint
	var explain strings.Builder
	fmt.Fprintf(&explain, "floor(%d/%d)=%d", amount, m.fenPerPoint, base)
	o.Steps = append(o.Steps, Step{Step: "base", Points: base})
	var muls []multiplier
	multiply := func(step, name string, k multiplier) {
		muls = append(muls, k)
		fmt.Fprintf(&explain, " ×%s (%s %s", k, strings.Replace(step, "promotion", "promo", 1), name)
		o.Steps = append(o.Steps, Step{Step: step, Name: name, Multiplier: k.String(), Points: product(base, muls)})
	}
	switch {
	case own:
		multiply("shop", p.ShopNumber, sh.multiplier)
		explain.WriteString(")")
	case cat != nil:
		multiply("category", cat.name, cat.multiplier)
		explain.WriteString(")")
	}
	tier := m.tiers.of(h)
	if tier != nil {
		o.Tier = tier.name
	}
	if best, others := m.promotionAt(p.TimeEnd, p.ShopNumber, o.Tier, h.BirthdayMonth); best != nil {
		multiply("promotion", best.name, best.multiplier)
		for _, q := range others {
			fmt.Fprintf(&explain, "; outranks %s ×%s", q.name, q.multiplier)
		}
		explain.WriteString(")")
	}
	if tier != nil {
		multiply("tier", tier.name, tier.multiplier)
		explain.WriteString(")")
	}
	o.Uncapped = points(base, muls, &explain)
	if o.Uncapped > MaxPoints {
		o.Uncapped, o.Limited = MaxPoints, true
		fmt.Fprintf(&explain, ", limit %d", MaxPoints)
		o.Steps = append(o.Steps, Step{Step: "max_points", Cap: ptr(MaxPoints), Points: MaxPoints})
	}

	o.Points = o.Uncapped
	if m.perPayment > 0 {
		o.Points = min(o.Points, m.perPayment)
		fmt.Fprintf(&explain, ", per-payment cap %d", m.perPayment)
		o.Steps = append(o.Steps, Step{Step: "per_payment_cap", Cap: ptr(m.perPayment), Points: o.Points})
	}
	dailyLeft, monthlyLeft := int64(-1), int64(-1)
	if m.dailyCap > 0 {
		dailyLeft = max(m.dailyCap-max(h.EarnedToday, 0), 0)
		o.Points = min(o.Points, dailyLeft)
		fmt.Fprintf(&explain, ", cap %d (%d left)", m.dailyCap, dailyLeft)
		o.Steps = append(o.Steps, Step{Step: "daily_cap", Cap: ptr(m.dailyCap), Points: o.Points})
	}
	if m.monthlyCap > 0 {
		monthlyLeft = max(m.monthlyCap-max(h.EarnedThisMonth, 0), 0)
		o.Points = min(o.Points, monthlyLeft)
		fmt.Fprintf(&explain, ", monthly cap %d (%d left)", m.monthlyCap, monthlyLeft)
		o.Steps = append(o.Steps, Step{Step: "monthly_cap", Cap: ptr(m.monthlyCap), Points: o.Points})
	}
	o.Capped = o.Points < o.Uncapped
	fmt.Fprintf(&explain, " → %d", o.Points)
	if o.Points > 0 && h.FirstEarning && m.bonus > 0 {
		o.Bonus = m.bonus
		fmt.Fprintf(&explain, " + first-payment bonus %d", o.Bonus)
		o.Steps = append(o.Steps, Step{Step: "first_payment_bonus", Bonus: o.Bonus, Points: o.Points})
	}
	o.Explain = explain.String()
	switch {
	case o.Points > 0:
		o.EarnPoints = true
	case o.Uncapped > 0 && dailyLeft == 0:
		o.Reason, o.NoPointsRemarks = ReasonDailyCapReached, m.remarks.CapReached
	case o.Uncapped > 0 && monthlyLeft == 0:
		o.Reason, o.NoPointsRemarks = ReasonMonthlyCapReached, m.remarks.MonthlyCapReached
	default:
		o.Reason, o.NoPointsRemarks = ReasonNoPoints, m.remarks.NoPoints
	}
	return o
}

var maxPoints = big.NewInt(MaxPoints)

// exact returns base × the multipliers, and the scale it is in (10^4 per
// multiplier).
func exact(base int64, muls []multiplier) (product, scale *big.Int) {
	product, scale = big.NewInt(base), big.NewInt(1)
	for _, k := range muls {
		product.Mul(product, big.NewInt(int64(k)))
		scale.Mul(scale, big.NewInt(multiplierScale))
	}
	return product, scale
}

// product is floor(base × muls), saturated just above MaxPoints.
func product(base int64, muls []multiplier) int64 {
	p, scale := exact(base, muls)
	q := p.Quo(p, scale)
	if q.Cmp(maxPoints) > 0 {
		return MaxPoints + 1
	}
	return q.Int64()
}

// points computes floor(base × muls) exactly, in integers scaled by 10^4
// per multiplier, and saturates just above MaxPoints rather than wrap. It
// writes the exact product to explain when a multiplier other than 1 took
// part.
func points(base int64, muls []multiplier, explain *strings.Builder) int64 {
	p, scale := exact(base, muls)
	q, r := new(big.Int).QuoRem(p, scale, new(big.Int))
	if slices.ContainsFunc(muls, func(k multiplier) bool { return k != one }) {
		if r.Sign() == 0 {
			fmt.Fprintf(explain, " = %s", q)
		} else {
			digits := multiplierDigits * len(muls)
			frac := r.String()
			frac = strings.Repeat("0", digits-len(frac)) + frac
			fmt.Fprintf(explain, " = %s.%s, floor %s", q, strings.TrimRight(frac, "0"), q)
		}
	}
	if q.Cmp(maxPoints) > 0 {
		return MaxPoints + 1
	}
	return q.Int64()
}

// at is the tier of a member with spend: the highest level whose threshold
// it reaches; nil without tiers.
func (t *tiers) at(spend int64) *level {
	var best *level
	for i := range t.levels {
		if spend >= t.levels[i].minSpend {
			best = &t.levels[i]
		}
	}
	return best
}

// of is the tier of a member with history h: h.Tier when the tiers have
// it, else the one h.SpendFen reaches; nil without tiers.
func (t *tiers) of(h History) *level {
	if l := t.named(h.Tier); l != nil {
		return l
	}
	return t.at(h.SpendFen)
}

// TierOf is the tier of a member of mall mchid with history h (its Tier
// and SpendFen), as a payment would find it; "" when the mall has no tiers.
func (s *Set) TierOf(mchid string, h History) string {
	if l := s.mall(mchid).tiers.of(h); l != nil {
		return l.name
	}
	return ""
}

// named is the level called name; nil when there is none.
func (t *tiers) named(name string) *level {
	for i := range t.levels {
		if name != "" && t.levels[i].name == name {
			return &t.levels[i]
		}
	}
	return nil
}

// HasTier reports whether mall mchid has a tier level called name: a tier
// History.Tier names that it lacks is ignored.
func (s *Set) HasTier(mchid, name string) bool { return s.mall(mchid).tiers.named(name) != nil }

// promotionAt returns the promotion that applies at t in shop, and the
// others that also cover it, in canonical order. The highest multiplier
// wins; among equal ones the first in canonical order (start, end, name), so
// the choice never depends on the order of the file.
func (m *mall) promotionAt(t time.Time, shop, tier string, birthdayMonth int) (best *promotion, others []*promotion) {
	var covering []*promotion
	for i := range m.promotions {
		if p := &m.promotions[i]; p.covers(t, shop, m.categories[shop], tier, birthdayMonth) {
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

// covers reports whether a payment at t in shop (of category cat, or nil)
// by a member of tier born in birthdayMonth (0: unknown) falls in the
// promotion: every condition it sets holds. Dates: start inclusive, end
// exclusive; weekdays, month days and the birthday month in Beijing time;
// the shop set is shops ∪ the listed categories' shops.
func (p *promotion) covers(t time.Time, shop string, cat *category, tier string, birthdayMonth int) bool {
	if !p.start.IsZero() && (t.Before(p.start) || !t.Before(p.end)) {
		return false
	}
	b := t.In(beijing)
	if p.weekdays != nil && !slices.Contains(p.weekdays, b.Weekday()) {
		return false
	}
	if p.monthDays != nil && !slices.Contains(p.monthDays, b.Day()) {
		return false
	}
	if (p.shops != nil || p.categories != nil) && !slices.Contains(p.shops, shop) &&
		!(cat != nil && slices.Contains(p.categories, cat.name)) {
		return false
	}
	if p.tiers != nil && !slices.Contains(p.tiers, tier) {
		return false
	}
	if p.birthdayMonth && (birthdayMonth == 0 || int(b.Month()) != birthdayMonth) {
		return false
	}
	return true
}

// NotAuthorized is the outcome of a payment of a member who withdrew the
// authorisation of the points service at mall mchid: it earns nothing,
// whatever the rules would give, and syncs earn_points=false with the
// mall's not_authorized remark.
func (s *Set) NotAuthorized(mchid string) Outcome {
	return Outcome{Reason: ReasonNotAuthorized, NoPointsRemarks: s.mall(mchid).remarks.NotAuthorized, RuleVersion: s.version,
		Explain: "the member withdrew the points authorisation (authorize_state DEAUTHORIZED) → 0",
		Steps:   []Step{{Step: "not_authorized"}}}
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

// BeijingMonth returns the UTC+8 calendar month containing t as the
// instants [start, end): the month a member's monthly cap counts in.
func BeijingMonth(t time.Time) (start, end time.Time) {
	b := t.In(beijing)
	start = time.Date(b.Year(), b.Month(), 1, 0, 0, 0, 0, beijing)
	return start, start.AddDate(0, 1, 0)
}

// TierWindow returns the instants [start, end) whose payments count toward
// the tier of a member paying at t in mall mchid: the window_months before
// t (by the Beijing calendar, clamped to the month's end), up to t. ok is
// false when the mall has no tiers, and no spend needs reading.
func (s *Set) TierWindow(mchid string, t time.Time) (start, end time.Time, ok bool) {
	m := s.mall(mchid)
	if len(m.tiers.levels) == 0 {
		return start, end, false
	}
	return monthsBefore(t, m.tiers.windowMonths), t, true
}

// monthsBefore is t less n calendar months in Beijing time; a day the
// earlier month lacks becomes its last (31 May less 3 months is 28 or 29
// February).
func monthsBefore(t time.Time, n int) time.Time {
	b := t.In(beijing)
	first := time.Date(b.Year(), b.Month(), 1, b.Hour(), b.Minute(), b.Second(), b.Nanosecond(), beijing).AddDate(0, -n, 0)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(b.Day(), last)-1)
}

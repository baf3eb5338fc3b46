package rules_test

import (
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

var beijing = time.FixedZone("UTC+8", 8*60*60)

// at is a Beijing wall-clock time.
func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04:05", s, beijing)
	if err != nil {
		panic(err)
	}
	return t
}

func mustParse(t testing.TB, yaml string) *rules.Set {
	t.Helper()
	s, err := rules.Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return s
}

// The mall of these tests: every kind of rule, with promotions on
// 2026-11-11 (Beijing) that overlap.
const mallRules = `
default:
  min_amount_fen: 1000
  daily_cap: 500
  shops:
    - {shop_number: S01, multiplier: 2}
    - {shop_number: S02, multiplier: 1.5}
    - {shop_number: S03, multiplier: 1.1}
    - {shop_number: S09, excluded: true}
    - {shop_number: S10, excluded: true, remark: 超市商品不参与积分}
  promotions:
    - {name: 双十一, multiplier: 2, start: 2026-11-11, end: 2026-11-11}
    - {name: evening, multiplier: 3, start: "2026-11-11T18:00", end: "2026-11-11T20:00", shops: [S02]}
    - {name: week, multiplier: 1.5, start: 2026-11-09, end: 2026-11-15}
malls:
  - mchid: "1900000109"
    daily_cap: 0
    min_amount_fen: 0
    promotions: []
`

func TestEvaluate(t *testing.T) {
	t.Parallel()
	set := mustParse(t, mallRules)
	const mall, other = "1900000109", "1900000222"
	ordinary := at("2026-10-01T12:00:00") // no promotion
	tests := []struct {
		name        string
		p           rules.Payment
		earnedToday int64
		points      int64
		uncapped    int64
		reason      rules.Reason
		remark      string
		explain     string
	}{
		{
			name:    "one point per full yuan, fractions of a yuan dropped",
			p:       rules.Payment{MchID: mall, ShopNumber: "S99", Amount: 12399, TimeEnd: ordinary},
			points:  123,
			explain: "floor(12399/100)=123 → 123",
		},
		{
			name:   "less than a yuan earns nothing, with the no-points remark",
			p:      rules.Payment{MchID: mall, ShopNumber: "S99", Amount: 99, TimeEnd: ordinary},
			reason: rules.ReasonNoPoints, remark: rules.DefaultRemarkNoPoints,
			explain: "floor(99/100)=0 → 0",
		},
		{
			name:    "the shop multiplier applies to whole yuan, then floor",
			p:       rules.Payment{MchID: mall, ShopNumber: "S02", Amount: 12345, TimeEnd: ordinary},
			points:  184, // floor(123 × 1.5 = 184.5)
			explain: "floor(12345/100)=123 ×1.5 (shop S02) = 184.5, floor 184 → 184",
		},
		{
			name:    "decimal multipliers are exact: 1.1 × 30 is 33, not 32.999…",
			p:       rules.Payment{MchID: mall, ShopNumber: "S03", Amount: 3000, TimeEnd: ordinary},
			points:  33,
			explain: "floor(3000/100)=30 ×1.1 (shop S03) = 33 → 33",
		},
		{
			name:    "shop and promotion multiply: floor(floor(amount/100) × shop × promotion)",
			p:       rules.Payment{MchID: other, ShopNumber: "S01", Amount: 12345, TimeEnd: at("2026-11-11T12:00:00")},
			points:  492,
			explain: "floor(12345/100)=123 ×2 (shop S01) ×2 (promo 双十一; outranks week ×1.5) = 492, cap 500 (500 left) → 492",
		},
		{
			name:    "overlapping promotions: the highest applies, they never compound",
			p:       rules.Payment{MchID: other, ShopNumber: "S99", Amount: 10000, TimeEnd: at("2026-11-11T12:00:00")},
			points:  200, // ×2, not ×2 × 1.5
			explain: "floor(10000/100)=100 ×2 (promo 双十一; outranks week ×1.5) = 200, cap 500 (500 left) → 200",
		},
		{
			name:    "a shop-limited promotion applies in its shop",
			p:       rules.Payment{MchID: other, ShopNumber: "S02", Amount: 10000, TimeEnd: at("2026-11-11T18:30:00")},
			points:  450, // 100 × 1.5 × 3
			explain: "floor(10000/100)=100 ×1.5 (shop S02) ×3 (promo evening; outranks week ×1.5; outranks 双十一 ×2) = 450, cap 500 (500 left) → 450",
		},
		{
			name:   "a shop-limited promotion does not apply in other shops",
			p:      rules.Payment{MchID: other, ShopNumber: "S99", Amount: 10000, TimeEnd: at("2026-11-11T18:30:00")},
			points: 200,
		},
		{
			name:   "a promotion's start is inclusive",
			p:      rules.Payment{MchID: other, ShopNumber: "S02", Amount: 10000, TimeEnd: at("2026-11-11T18:00:00")},
			points: 450,
		},
		{
			name:   "a promotion's end is exclusive",
			p:      rules.Payment{MchID: other, ShopNumber: "S02", Amount: 10000, TimeEnd: at("2026-11-11T20:00:00")},
			points: 300, // 双十一 ×2 still runs: 100 × 1.5 × 2
		},
		{
			name:   "a date as end covers that whole Beijing day",
			p:      rules.Payment{MchID: other, ShopNumber: "S99", Amount: 10000, TimeEnd: at("2026-11-11T23:59:59")},
			points: 200,
		},
		{
			name:   "the day after a date end is outside the promotion",
			p:      rules.Payment{MchID: other, ShopNumber: "S99", Amount: 10000, TimeEnd: at("2026-11-12T00:00:00")},
			points: 150, // only week ×1.5
		},
		{
			name:   "promotion days are Beijing days: 2026-11-10T16:00Z is 11-11 00:00 in Beijing",
			p:      rules.Payment{MchID: other, ShopNumber: "S99", Amount: 10000, TimeEnd: time.Date(2026, 11, 10, 16, 0, 0, 0, time.UTC)},
			points: 200,
		},
		{
			name:   "and 2026-11-10T15:59:59Z is still 11-10 in Beijing",
			p:      rules.Payment{MchID: other, ShopNumber: "S99", Amount: 10000, TimeEnd: time.Date(2026, 11, 10, 15, 59, 59, 0, time.UTC)},
			points: 150,
		},
		{
			name:   "an excluded shop earns nothing, before any other rule",
			p:      rules.Payment{MchID: other, ShopNumber: "S09", Amount: 100000, TimeEnd: at("2026-11-11T12:00:00")},
			reason: rules.ReasonExcludedShop, remark: rules.DefaultRemarkExcluded,
			explain: "shop S09 excluded → 0",
		},
		{
			name:   "an excluded shop syncs its own remark when it has one",
			p:      rules.Payment{MchID: other, ShopNumber: "S10", Amount: 100000, TimeEnd: ordinary},
			reason: rules.ReasonExcludedShop, remark: "超市商品不参与积分",
		},
		{
			name:   "an amount below the minimum earns nothing",
			p:      rules.Payment{MchID: other, ShopNumber: "S01", Amount: 999, TimeEnd: ordinary},
			reason: rules.ReasonBelowMinimum, remark: rules.DefaultRemarkBelowMinimum,
			explain: "amount 999 < minimum 1000 → 0",
		},
		{
			name:   "an amount equal to the minimum earns",
			p:      rules.Payment{MchID: other, ShopNumber: "S99", Amount: 1000, TimeEnd: ordinary},
			points: 10,
		},
		{
			name:        "the daily cap keeps what is left of it",
			p:           rules.Payment{MchID: other, ShopNumber: "S01", Amount: 12345, TimeEnd: at("2026-11-11T12:00:00")},
			earnedToday: 492,
			points:      8, uncapped: 492,
			explain: "floor(12345/100)=123 ×2 (shop S01) ×2 (promo 双十一; outranks week ×1.5) = 492, cap 500 (8 left) → 8",
		},
		{
			name:        "a payment capped to 0 earns nothing, with the cap remark",
			p:           rules.Payment{MchID: other, ShopNumber: "S99", Amount: 5000, TimeEnd: ordinary},
			earnedToday: 500,
			uncapped:    50,
			reason:      rules.ReasonDailyCapReached, remark: rules.DefaultRemarkCapReached,
			explain: "floor(5000/100)=50, cap 500 (0 left) → 0",
		},
		{
			name:        "earned beyond the cap (an earlier rules version) leaves nothing, never negative",
			p:           rules.Payment{MchID: other, ShopNumber: "S99", Amount: 5000, TimeEnd: ordinary},
			earnedToday: 900,
			uncapped:    50,
			reason:      rules.ReasonDailyCapReached, remark: rules.DefaultRemarkCapReached,
		},
		{
			name:   "a mall's key replaces the default's: this mall has no cap and no promotions",
			p:      rules.Payment{MchID: mall, ShopNumber: "S01", Amount: 100000, TimeEnd: at("2026-11-11T12:00:00")},
			points: 2000, earnedToday: 10000,
			explain: "floor(100000/100)=1000 ×2 (shop S01) = 2000 → 2000",
		},
		{
			name:   "a negative amount counts as 0",
			p:      rules.Payment{MchID: mall, ShopNumber: "S99", Amount: -500, TimeEnd: ordinary},
			reason: rules.ReasonNoPoints, remark: rules.DefaultRemarkNoPoints,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := set.Evaluate(tt.p, tt.earnedToday)
			uncapped := tt.uncapped
			if uncapped == 0 {
				uncapped = tt.points
			}
			if got.Points != tt.points || got.Uncapped != uncapped || got.Capped != (tt.points < uncapped) {
				t.Errorf("points %d (uncapped %d, capped %v), want %d (uncapped %d)\n%s", got.Points, got.Uncapped, got.Capped, tt.points, uncapped, got.Explain)
			}
			if got.EarnPoints != (tt.points > 0) || got.Reason != tt.reason || got.NoPointsRemarks != tt.remark {
				t.Errorf("earn %v, reason %q, remark %q; want %v, %q, %q", got.EarnPoints, got.Reason, got.NoPointsRemarks, tt.points > 0, tt.reason, tt.remark)
			}
			if tt.explain != "" && got.Explain != tt.explain {
				t.Errorf("explain\n got %s\nwant %s", got.Explain, tt.explain)
			}
			if got.RuleVersion != set.Version() {
				t.Errorf("rule version %q, want %q", got.RuleVersion, set.Version())
			}
		})
	}
}

func TestDefaultIsOnePointPerFullYuan(t *testing.T) {
	t.Parallel()
	for amount, want := range map[int64]int64{0: 0, 1: 0, 99: 0, 100: 1, 12345: 123, 1 << 40: (1 << 40) / 100} {
		got := rules.Default().Evaluate(rules.Payment{MchID: "1900000109", ShopNumber: "S01", Amount: amount, TimeEnd: time.Now()}, 1<<40)
		if got.Points != want || got.Capped {
			t.Errorf("amount %d: %d points (capped %v), want %d", amount, got.Points, got.Capped, want)
		}
	}
}

func TestEarnedPointsStopAtMaxPointsAndSaySo(t *testing.T) {
	t.Parallel()
	set := mustParse(t, `{default: {shops: [{shop_number: S, multiplier: 100}], promotions: [{name: p, multiplier: 100, start: 2000-01-01, end: 2099-12-31}]}}`)
	for _, amount := range []int64{1<<63 - 1, 1 << 62, rules.MaxPoints * 100} {
		got := set.Evaluate(rules.Payment{ShopNumber: "S", Amount: amount, TimeEnd: at("2026-01-01T00:00:00")}, 0)
		if got.Points != rules.MaxPoints || !got.Limited || !got.EarnPoints || !strings.Contains(got.Explain, "limit") {
			t.Errorf("amount %d: points %d, limited %v, explain %q; want MaxPoints, limited, explained", amount,
				got.Points, got.Limited, got.Explain)
		}
	}
	within := set.Evaluate(rules.Payment{ShopNumber: "S", Amount: 100, TimeEnd: at("2026-01-01T00:00:00")}, 0)
	if within.Points != 10000 || within.Limited {
		t.Errorf("1 yuan ×100 ×100: points %d, limited %v; want 10000, not limited", within.Points, within.Limited)
	}
}

func TestLimitCutsPointsToWhatTheBalanceCanTake(t *testing.T) {
	t.Parallel()
	earned := rules.Outcome{Points: 50, EarnPoints: true, Uncapped: 50}
	for _, c := range []struct {
		name       string
		room       int64
		points     int64
		limited    bool
		earnPoints bool
	}{
		{"room to spare", 100, 50, false, true},
		{"exactly enough room", 50, 50, false, true},
		{"less room", 20, 20, true, true},
		{"no room", 0, 0, true, false},
		{"a balance above the maximum", -5, 0, true, false},
	} {
		got := rules.Limit(earned, c.room)
		if got.Points != c.points || got.Limited != c.limited || got.EarnPoints != c.earnPoints {
			t.Errorf("%s: %+v", c.name, got)
		}
		if !c.earnPoints && (got.Reason != rules.ReasonBalanceLimit || got.NoPointsRemarks == "") {
			t.Errorf("%s: reason %q, remark %q", c.name, got.Reason, got.NoPointsRemarks)
		}
	}
}

// The daily cap counts the member's Beijing day of time_end: 16:00 UTC is
// midnight in Beijing, not in UTC.
func TestBeijingDay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		t    time.Time
		day  string // Beijing date of start
	}{
		{"just before Beijing midnight (15:59:59Z)", time.Date(2026, 11, 10, 15, 59, 59, 999999999, time.UTC), "2026-11-10"},
		{"Beijing midnight (16:00Z) starts the next day", time.Date(2026, 11, 10, 16, 0, 0, 0, time.UTC), "2026-11-11"},
		{"UTC midnight is 08:00 in Beijing, mid-day", time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC), "2026-11-11"},
		{"a time given in another zone", time.Date(2026, 11, 11, 10, 30, 0, 0, time.FixedZone("PST", -8*3600)), "2026-11-12"},
		{"new year in Beijing while still the old year in UTC", time.Date(2026, 12, 31, 16, 30, 0, 0, time.UTC), "2027-01-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start, end := rules.BeijingDay(tt.t)
			if got := start.In(beijing).Format("2006-01-02T15:04:05"); got != tt.day+"T00:00:00" {
				t.Errorf("start %s, want %sT00:00:00 in Beijing", got, tt.day)
			}
			if end.Sub(start) != 24*time.Hour || tt.t.Before(start) || !tt.t.Before(end) {
				t.Errorf("[%s, %s) does not hold %s as one 24h day", start, end, tt.t)
			}
		})
	}
}

// Two payments at 23:30 and 00:30 Beijing time share a UTC day but not a
// Beijing day, so the second is not capped by the first: the caller asks
// BeijingDay for the day to sum earnedToday over.
func TestDailyCapResetsAtBeijingMidnight(t *testing.T) {
	t.Parallel()
	set := mustParse(t, "default: {daily_cap: 100}")
	first := rules.Payment{MchID: "m", ShopNumber: "S", Amount: 10000, TimeEnd: time.Date(2026, 11, 10, 15, 30, 0, 0, time.UTC)}
	second := first
	second.TimeEnd = time.Date(2026, 11, 10, 16, 30, 0, 0, time.UTC)

	ledger := map[time.Time]int64{} // Beijing day start → points earned
	for _, p := range []rules.Payment{first, second} {
		day, _ := rules.BeijingDay(p.TimeEnd)
		out := set.Evaluate(p, ledger[day])
		if out.Points != 100 || out.Capped {
			t.Errorf("payment at %s: %d points (capped %v), want 100", p.TimeEnd, out.Points, out.Capped)
		}
		ledger[day] += out.Points
	}
	third := second
	day, _ := rules.BeijingDay(third.TimeEnd)
	if out := set.Evaluate(third, ledger[day]); out.Points != 0 || out.Reason != rules.ReasonDailyCapReached {
		t.Errorf("a second payment in the same Beijing day: %+v, want capped to 0", out)
	}
}

// BenchmarkEvaluate measures one payment through every kind of rule: the
// service pays it once per notification.
func BenchmarkEvaluate(b *testing.B) {
	set := mustParse(b, mallRules)
	p := rules.Payment{MchID: "1900000222", ShopNumber: "S02", Amount: 12345, TimeEnd: at("2026-11-11T18:30:00")}
	b.ReportAllocs()
	for b.Loop() {
		set.Evaluate(p, 100)
	}
}

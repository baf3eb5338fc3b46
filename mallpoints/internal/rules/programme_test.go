package rules_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

// programme is a typical mall's file with every key of the points
// programme; the table below runs payments through it.
const programme = `
default:
  fen_per_point: 100
  categories:
    - {name: 餐饮, shops: [F01, F02]}
    - {name: 零售, shops: [R01, R02], multiplier: 2}
    - {name: 超市, shops: [M01, M02], excluded: true, remark: 超市商品不参与积分}
  shops:
    - {shop_number: R02, multiplier: 3}       # overrides 零售's ×2, stays in 零售
    - {shop_number: M02, multiplier: 1}       # overrides 超市's exclusion
  tiers:
    window_months: 12
    levels:
      - {name: 普卡, min_spend_fen: 0, multiplier: 1}
      - {name: 银卡, min_spend_fen: 500000, multiplier: 1.2}
      - {name: 金卡, min_spend_fen: 2000000, multiplier: 1.5}
  promotions:
    - {name: 会员日, multiplier: 2, weekdays: [wed]}
    - {name: 金卡日, multiplier: 3, month_days: [8, 18], tiers: [金卡]}
    - {name: 零售周末, multiplier: 2.5, weekdays: [sat, sun], categories: [零售], shops: [F01]}
    - {name: 双十一, multiplier: 4, start: 2026-11-11, end: 2026-11-11, weekdays: [wed]}
  per_payment_cap: 5000
  daily_cap: 8000
  monthly_cap: 20000
  first_payment_bonus: 100
malls:
  - mchid: "1900000200"
    fen_per_point: 1000   # a point per 10 yuan
    monthly_cap: 0
`

var beijingTZ = time.FixedZone("UTC+8", 8*3600)

// Days of November 2026 in Beijing: the 2nd is a Monday, the 4th a
// Wednesday, the 7th a Saturday, the 8th a Sunday, the 11th a Wednesday.
func nov(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, beijingTZ) }

func TestProgrammeEveryKeyAndCombination(t *testing.T) {
	t.Parallel()
	set, err := rules.Parse([]byte(programme))
	if err != nil {
		t.Fatal(err)
	}
	const mall = "1900000109"
	for _, tt := range []struct {
		name   string
		mall   string
		shop   string
		amount int64
		when   time.Time
		h      rules.History
		points int64
		bonus  int64
		tier   string
		reason rules.Reason
		remark string
	}{
		{"fen_per_point: base is floor(amount / 100), tier 普卡 ×1", mall, "X", 12399, nov(2, 12), rules.History{}, 123, 0, "普卡", "", ""},
		{"fen_per_point of a mall replaces the default's", "1900000200", "X", 12399, nov(2, 12), rules.History{}, 12, 0, "普卡", "", ""},
		{"a category with no multiplier multiplies by 1", mall, "F01", 10000, nov(2, 12), rules.History{}, 100, 0, "普卡", "", ""},
		{"a category's multiplier", mall, "R01", 10000, nov(2, 12), rules.History{}, 200, 0, "普卡", "", ""},
		{"a shop's own entry overrides its category's multiplier", mall, "R02", 10000, nov(2, 12), rules.History{}, 300, 0, "普卡", "", ""},
		{"an excluded category earns 0 with its remark", mall, "M01", 10000, nov(2, 12), rules.History{FirstEarning: true}, 0, 0, "", rules.ReasonExcludedShop, "超市商品不参与积分"},
		{"a shop's own entry overrides its category's exclusion", mall, "M02", 10000, nov(2, 12), rules.History{}, 100, 0, "普卡", "", ""},
		{"weekdays: Wednesday is 会员日 ×2", mall, "X", 10000, nov(4, 12), rules.History{}, 200, 0, "普卡", "", ""},
		{"weekdays in Beijing time: Tuesday 16:30 UTC is Wednesday", mall, "X", 10000, time.Date(2026, 11, 3, 16, 30, 0, 0, time.UTC), rules.History{}, 200, 0, "普卡", "", ""},
		{"month_days restricted by tiers: 普卡 does not get 金卡日", mall, "X", 10000, nov(8, 12), rules.History{}, 100, 0, "普卡", "", ""},
		{"month_days and tiers: 金卡 on the 8th ×3 ×1.5", mall, "X", 10000, nov(8, 12), rules.History{SpendFen: 2000000}, 450, 0, "金卡", "", ""},
		{"tier: the threshold reached exactly", mall, "X", 10000, nov(2, 12), rules.History{SpendFen: 500000}, 120, 0, "银卡", "", ""},
		{"tier: one fen short of the threshold", mall, "X", 10000, nov(2, 12), rules.History{SpendFen: 499999}, 100, 0, "普卡", "", ""},
		{"categories restrict a promotion: 零售 on Saturday", mall, "R01", 10000, nov(7, 12), rules.History{}, 500, 0, "普卡", "", ""},
		{"shops ∪ categories: F01 listed by shop", mall, "F01", 10000, nov(8, 12), rules.History{}, 250, 0, "普卡", "", ""},
		{"not in the promotion's shop set", mall, "F02", 10000, nov(8, 12), rules.History{}, 100, 0, "普卡", "", ""},
		{"dates AND weekdays: 双十一 on Wednesday the 11th ×4 outranks 会员日", mall, "X", 10000, nov(11, 12), rules.History{}, 400, 0, "普卡", "", ""},
		{"category × promotion × tier, exact: 123 ×2 ×2 ×1.2", mall, "R01", 12399, nov(4, 12), rules.History{SpendFen: 600000}, 590, 0, "银卡", "", ""},
		{"per_payment_cap", mall, "X", 1000000, nov(2, 12), rules.History{}, 5000, 0, "普卡", "", ""},
		{"daily_cap counts what was earned that day", mall, "X", 500000, nov(2, 12), rules.History{EarnedToday: 7000}, 1000, 0, "普卡", "", ""},
		{"daily_cap reached", mall, "X", 500000, nov(2, 12), rules.History{EarnedToday: 8000}, 0, 0, "普卡", rules.ReasonDailyCapReached, rules.DefaultRemarkCapReached},
		{"monthly_cap counts what was earned that month", mall, "X", 500000, nov(2, 12), rules.History{EarnedThisMonth: 19000}, 1000, 0, "普卡", "", ""},
		{"monthly_cap reached", mall, "X", 500000, nov(2, 12), rules.History{EarnedThisMonth: 20000}, 0, 0, "普卡", rules.ReasonMonthlyCapReached, "本月积分已达上限"},
		{"monthly_cap 0 in a mall: no cap", "1900000200", "X", 5000000, nov(2, 12), rules.History{EarnedThisMonth: 20000}, 5000, 0, "普卡", "", ""},
		{"first_payment_bonus on the first earning payment", mall, "X", 10000, nov(2, 12), rules.History{FirstEarning: true}, 100, 100, "普卡", "", ""},
		{"first_payment_bonus is not capped", mall, "X", 10000, nov(2, 12), rules.History{FirstEarning: true, EarnedToday: 7950}, 50, 100, "普卡", "", ""},
		{"no bonus when the caps left nothing", mall, "X", 10000, nov(2, 12), rules.History{FirstEarning: true, EarnedToday: 8000}, 0, 0, "普卡", rules.ReasonDailyCapReached, rules.DefaultRemarkCapReached},
		{"no bonus when the amount earns less than a point", mall, "X", 99, nov(2, 12), rules.History{FirstEarning: true}, 0, 0, "普卡", rules.ReasonNoPoints, rules.DefaultRemarkNoPoints},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := set.EvaluateWith(rules.Payment{MchID: tt.mall, ShopNumber: tt.shop, Amount: tt.amount, TimeEnd: tt.when}, tt.h)
			if o.Points != tt.points || o.Bonus != tt.bonus || o.Tier != tt.tier || o.Reason != tt.reason || o.NoPointsRemarks != tt.remark {
				t.Errorf("points %d bonus %d tier %q reason %q remark %q (%s); want %d %d %q %q %q",
					o.Points, o.Bonus, o.Tier, o.Reason, o.NoPointsRemarks, o.Explain, tt.points, tt.bonus, tt.tier, tt.reason, tt.remark)
			}
			if o.EarnPoints != (tt.points > 0) {
				t.Errorf("earn_points %v with %d points", o.EarnPoints, o.Points)
			}
			if len(o.Steps) == 0 {
				t.Error("no steps")
			}
		})
	}
}

// The explanation is data: steps with the multipliers, caps and bonus.
func TestProgrammeStepsAreData(t *testing.T) {
	t.Parallel()
	set, err := rules.Parse([]byte(programme))
	if err != nil {
		t.Fatal(err)
	}
	o := set.EvaluateWith(rules.Payment{MchID: "1900000109", ShopNumber: "R01", Amount: 12399, TimeEnd: nov(4, 12)},
		rules.History{SpendFen: 600000, FirstEarning: true, EarnedToday: 7800})
	got, _ := json.Marshal(o.Steps)
	want := `[{"step":"base","points":123},{"step":"category","name":"零售","multiplier":"2","points":246},` +
		`{"step":"promotion","name":"会员日","multiplier":"2","points":492},{"step":"tier","name":"银卡","multiplier":"1.2","points":590},` +
		`{"step":"per_payment_cap","cap":5000,"points":590},{"step":"daily_cap","cap":8000,"points":200},` +
		`{"step":"monthly_cap","cap":20000,"points":200},{"step":"first_payment_bonus","bonus":100,"points":200}]`
	if string(got) != want {
		t.Errorf("steps\n%s\nwant\n%s", got, want)
	}
	if wantExplain := "floor(12399/100)=123 ×2 (category 零售) ×2 (promo 会员日) ×1.2 (tier 银卡) = 590.4, floor 590, per-payment cap 5000, cap 8000 (200 left), monthly cap 20000 (20000 left) → 200 + first-payment bonus 100"; o.Explain != wantExplain {
		t.Errorf("explain %q\nwant %q", o.Explain, wantExplain)
	}
}

// Rules clamped to MaxPoints are flagged; the balance limit cuts the bonus first.
func TestProgrammeLimits(t *testing.T) {
	t.Parallel()
	set, err := rules.Parse([]byte("default:\n  fen_per_point: 1\n  first_payment_bonus: 10\n  shops: [{shop_number: S, multiplier: 100}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := set.EvaluateWith(rules.Payment{MchID: "m", ShopNumber: "S", Amount: 1 << 62, TimeEnd: nov(2, 12)}, rules.History{FirstEarning: true})
	if o.Points != rules.MaxPoints || !o.Limited || o.Bonus != 10 {
		t.Errorf("points %d limited %v bonus %d; want MaxPoints, true, 10", o.Points, o.Limited, o.Bonus)
	}
	l := rules.Limit(rules.Outcome{Points: 50, Bonus: 10, EarnPoints: true}, 55)
	if l.Points != 50 || l.Bonus != 5 || !l.Limited {
		t.Errorf("Limit: %d + %d, limited %v; want 50 + 5, true", l.Points, l.Bonus, l.Limited)
	}
}

func TestProgrammeTierWindow(t *testing.T) {
	t.Parallel()
	set, err := rules.Parse([]byte("default:\n  tiers: {window_months: 3, levels: [{name: a, min_spend_fen: 0, multiplier: 1}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 31, 10, 0, 0, 0, beijingTZ)
	from, to, ok := set.TierWindow("m", at)
	if !ok || !from.Equal(time.Date(2026, 2, 28, 10, 0, 0, 0, beijingTZ)) || !to.Equal(at) {
		t.Errorf("window %s – %s, %v; want 2026-02-28T10:00 – %s", from, to, ok, at)
	}
	if _, _, ok := rules.Default().TierWindow("m", at); ok {
		t.Error("a mall without tiers has a tier window")
	}
}

func TestProgrammeLoadErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, yaml, want string }{
		{"a shop in two categories names both lines",
			"default:\n  categories:\n    - name: a\n      shops: [S1]\n    - name: b\n      shops:\n        - S1\n",
			"line 7: default.categories[1].shops: shop S1 is in category a (line 4) and in category b (line 7)"},
		{"fen_per_point 0", "default:\n  fen_per_point: 0\n", "line 2: default.fen_per_point: must be 1 to 1000000 fen"},
		{"a promotion without a time", "default:\n  promotions:\n    - {name: p, multiplier: 2, shops: [S]}\n", "needs a time"},
		{"start without end", "default:\n  promotions:\n    - {name: p, multiplier: 2, start: 2026-01-01, weekdays: [mon]}\n", "needs end"},
		{"a weekday misspelt", "default:\n  promotions:\n    - {name: p, multiplier: 2, weekdays: [wednesday]}\n", `"wednesday" is not a day`},
		{"month day 32", "default:\n  promotions:\n    - {name: p, multiplier: 2, month_days: [32]}\n", "1 to 31, got 32"},
		{"an unknown category", "default:\n  promotions:\n    - {name: p, multiplier: 2, weekdays: [mon], categories: [x]}\n", "names category x"},
		{"an unknown tier", "default:\n  promotions:\n    - {name: p, multiplier: 2, weekdays: [mon], tiers: [金卡]}\n", "names tier 金卡"},
		{"tiers not starting at 0", "default:\n  tiers: {levels: [{name: a, min_spend_fen: 5, multiplier: 1}]}\n", "the first level starts at 0"},
		{"tiers not ascending", "default:\n  tiers: {levels: [{name: a, min_spend_fen: 0, multiplier: 1}, {name: b, min_spend_fen: 0, multiplier: 2}]}\n", "ascending"},
		{"window_months 0", "default:\n  tiers: {window_months: 0, levels: [{name: a, min_spend_fen: 0, multiplier: 1}]}\n", "1 to 120 months"},
		{"a cap above MaxPoints", "default:\n  monthly_cap: 1000000000001\n", "at most 1000000000000"},
		{"a remark on a category not excluded", "default:\n  categories: [{name: a, shops: [S], remark: x}]\n", "only an excluded category"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rules.Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

// The new keys are part of the version, and a file without them keeps the
// version it had (TestVersion… checks the old ones); the normalised rules
// read back to the same version.
func TestProgrammeVersionRoundTrip(t *testing.T) {
	t.Parallel()
	set, err := rules.Parse([]byte(programme))
	if err != nil {
		t.Fatal(err)
	}
	j, err := set.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	again, err := rules.Parse(j)
	if err != nil {
		t.Fatalf("the normalised rules do not load: %v\n%s", err, j)
	}
	if again.Version() != set.Version() {
		t.Errorf("version %s after a round trip, was %s", again.Version(), set.Version())
	}
	if set.Version() == rules.Default().Version() {
		t.Error("the programme's keys do not change the version")
	}
	explicit, _ := rules.Parse([]byte("default:\n  fen_per_point: 100\n  monthly_cap: 0\n"))
	if explicit.Version() != rules.Default().Version() {
		t.Error("keys set to their defaults change the default section's version")
	}
}

// FuzzProgrammeInvariants: under the programme, whatever the payment and
// the member's history, no cap is exceeded (this payment's points, and the
// day's and the month's totals with them), the bonus goes only with points,
// and a larger amount never earns fewer points.
func FuzzProgrammeInvariants(f *testing.F) {
	set, err := rules.Parse([]byte(programme))
	if err != nil {
		f.Fatal(err)
	}
	m := set.Mall("1900000109")
	shops := []string{"X", "F01", "F02", "R01", "R02", "M01", "M02"}
	f.Add(int64(12399), int64(100), uint8(2), uint8(4), int64(0), int64(0), int64(0), true)
	f.Add(int64(1<<40), int64(1), uint8(3), uint8(8), int64(7999), int64(19999), int64(2000000), false)
	f.Fuzz(func(t *testing.T, amount, more int64, shop, day uint8, today, month, spend int64, first bool) {
		if amount < 0 || more < 0 || amount > 1<<50 || more > 1<<50 {
			return
		}
		p := rules.Payment{MchID: m.MchID, ShopNumber: shops[int(shop)%len(shops)], Amount: amount,
			TimeEnd: nov(1+int(day)%30, 12)}
		h := rules.History{EarnedToday: today, EarnedThisMonth: month, SpendFen: spend, FirstEarning: first}
		o := set.EvaluateWith(p, h)
		switch {
		case o.Points < 0 || o.Points > rules.MaxPoints:
			t.Fatalf("points %d out of range", o.Points)
		case o.Points > m.PerPaymentCap:
			t.Fatalf("points %d above per_payment_cap %d", o.Points, m.PerPaymentCap)
		case o.Points > 0 && max(today, 0)+o.Points > m.DailyCap:
			t.Fatalf("%d earned that day + %d above daily_cap %d", today, o.Points, m.DailyCap)
		case o.Points > 0 && max(month, 0)+o.Points > m.MonthlyCap:
			t.Fatalf("%d earned that month + %d above monthly_cap %d", month, o.Points, m.MonthlyCap)
		case o.Bonus != 0 && (o.Points == 0 || !first || o.Bonus != m.FirstPaymentBonus):
			t.Fatalf("bonus %d with %d points, first %v", o.Bonus, o.Points, first)
		}
		p.Amount += more
		if larger := set.EvaluateWith(p, h); larger.Points < o.Points || larger.Points+larger.Bonus < o.Points+o.Bonus {
			t.Fatalf("%d fen earns %d+%d, %d fen earns %d+%d", amount, o.Points, o.Bonus, p.Amount, larger.Points, larger.Bonus)
		}
	})
}

package rules_test

import (
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

// birthdayRules has a birthday-month promotion alone and one ANDed with a
// weekday, and a mall with its own not_authorized remark.
const birthdayRules = `
default:
  promotions:
    - {name: 生日月, multiplier: 2, birthday_month: true}
    - {name: 生日月周三, multiplier: 3, birthday_month: true, weekdays: [wed]}
malls:
  - mchid: "1900000200"
    remarks: {not_authorized: 请重新授权积分服务}
`

// A birthday_month promotion covers a payment whose Beijing month is the
// member's birthday month, and every other condition it sets must hold too;
// a member without a birthday never meets it.
func TestBirthdayMonthPromotionIsANDedWithTheOtherConditions(t *testing.T) {
	t.Parallel()
	set, err := rules.Parse([]byte(birthdayRules))
	if err != nil {
		t.Fatal(err)
	}
	may := func(day, hour int) time.Time { return time.Date(2026, 5, day, hour, 0, 0, 0, beijingTZ) }
	for _, tt := range []struct {
		name     string
		at       time.Time
		birthday int
		points   int64
		promo    string
	}{
		{"in the birthday month", may(5, 12), 5, 200, "生日月"}, // a Tuesday
		{"in the birthday month on a Wednesday: the higher one", may(6, 12), 5, 300, "生日月周三"},
		{"another month", may(5, 12), 6, 100, ""},
		{"no birthday known", may(6, 12), 0, 100, ""},
		{"30 April 16:30 UTC is 1 May in Beijing", time.Date(2026, 4, 30, 16, 30, 0, 0, time.UTC), 5, 200, "生日月"},
		{"31 May 16:30 UTC is 1 June in Beijing", time.Date(2026, 5, 31, 16, 30, 0, 0, time.UTC), 5, 100, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := set.EvaluateWith(rules.Payment{MchID: "1900000109", Amount: 10000, TimeEnd: tt.at}, rules.History{BirthdayMonth: tt.birthday})
			var promo string
			for _, s := range o.Steps {
				if s.Step == "promotion" {
					promo = s.Name
				}
			}
			if o.Points != tt.points || promo != tt.promo {
				t.Errorf("%d points by promotion %q (%s); want %d by %q", o.Points, promo, o.Explain, tt.points, tt.promo)
			}
		})
	}
	if p := set.Mall("1900000109").Promotions; len(p) != 2 || !p[0].BirthdayMonth || !p[1].BirthdayMonth {
		t.Errorf("the mall's promotions %+v: want both with BirthdayMonth", p)
	}
}

// birthday_month is a time of its own: it needs no dates, and only true
// means anything.
func TestBirthdayMonthParses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, yaml, err string
	}{
		{"alone", "default:\n  promotions:\n    - {name: b, multiplier: 2, birthday_month: true}\n", ""},
		{"with dates", "default:\n  promotions:\n    - {name: b, multiplier: 2, birthday_month: true, start: 2026-01-01, end: 2026-12-31}\n", ""},
		{"false", "default:\n  promotions:\n    - {name: b, multiplier: 2, birthday_month: false}\n", "only true is meaningful"},
		{"not a boolean", "default:\n  promotions:\n    - {name: b, multiplier: 2, birthday_month: may}\n", "must be true or false"},
		{"no time at all", "default:\n  promotions:\n    - {name: b, multiplier: 2}\n", "start and end, weekdays, month_days or birthday_month"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rules.Parse([]byte(tt.yaml))
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("error %v, want one saying %q", err, tt.err)
			}
		})
	}
	// A file without the key keeps its version: the key is left out of the
	// normalised rules when not set.
	a, _ := rules.Parse([]byte("default:\n  promotions:\n    - {name: b, multiplier: 2, weekdays: [wed]}\n"))
	b, _ := rules.Parse([]byte("default:\n  promotions:\n    - {name: b, multiplier: 2, weekdays: [wed], birthday_month: true}\n"))
	if a.Version() == b.Version() {
		t.Error("birthday_month does not change the version")
	}
	if raw, _ := a.MarshalJSON(); strings.Contains(string(raw), "birthday_month") {
		t.Errorf("a file without birthday_month normalises with it: %s", raw)
	}
}

// A withdrawn member's payment earns nothing, with the mall's remark.
func TestNotAuthorizedEarnsNothingWithTheMallsRemark(t *testing.T) {
	t.Parallel()
	set, err := rules.Parse([]byte(birthdayRules))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ mall, remark string }{
		{"1900000109", rules.DefaultRemarkNotAuthorized},
		{"1900000200", "请重新授权积分服务"},
	} {
		o := set.NotAuthorized(tt.mall)
		if o.Points != 0 || o.EarnPoints || o.Reason != rules.ReasonNotAuthorized || o.NoPointsRemarks != tt.remark ||
			o.RuleVersion != set.Version() || len(o.Steps) != 1 || o.Steps[0].Step != "not_authorized" {
			t.Errorf("mall %s: %+v", tt.mall, o)
		}
	}
}

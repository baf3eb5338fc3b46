package rules_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

// docsBlock is one ```yaml block of docs/rules.md and what the comment in
// front of it says: <!-- rules-test: loads --> (also the default), or
// <!-- rules-test: refused "error" --> for an example of an error.
type docsBlock struct {
	line    int // of the opening fence
	yaml    string
	refused string // the error it must give; "" when it must load
}

var docsMarker = regexp.MustCompile(`^<!-- rules-test: (loads|refused "(.*)") -->$`)

func docsBlocks(t *testing.T) []docsBlock {
	t.Helper()
	raw, err := os.ReadFile("../../../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []docsBlock
	var cur *docsBlock
	refused := ""
	for i, l := range strings.Split(string(raw), "\n") {
		switch {
		case cur != nil && strings.HasPrefix(l, "```"):
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.yaml += l + "\n"
		case l == "```yaml":
			cur = &docsBlock{line: i + 1, refused: refused}
			refused = ""
		case docsMarker.MatchString(l):
			refused = docsMarker.FindStringSubmatch(l)[2]
		case strings.HasPrefix(l, "```"):
			refused = ""
		}
	}
	if cur != nil {
		t.Fatalf("docs/rules.md:%d: a yaml block that never ends", cur.line)
	}
	if len(out) == 0 {
		t.Fatal("docs/rules.md has no yaml block")
	}
	return out
}

// Every yaml block of docs/rules.md loads, or is refused with the error the
// page shows.
func TestDocsRulesExamplesLoad(t *testing.T) {
	t.Parallel()
	for _, b := range docsBlocks(t) {
		_, err := rules.Parse([]byte(b.yaml))
		switch {
		case b.refused == "" && err != nil:
			t.Errorf("docs/rules.md:%d: the example does not load: %v", b.line, err)
		case b.refused != "" && err == nil:
			t.Errorf("docs/rules.md:%d: the example is marked refused but loads", b.line)
		case b.refused != "" && err.Error() != b.refused:
			t.Errorf("docs/rules.md:%d: refused with %q, the page says %q", b.line, err, b.refused)
		}
	}
}

// The worked arithmetic of docs/rules.md, on its first example.
func TestDocsRulesWorkedArithmetic(t *testing.T) {
	t.Parallel()
	set, err := rules.Parse([]byte(docsBlocks(t)[0].yaml))
	if err != nil {
		t.Fatal(err)
	}
	beijing := time.FixedZone("UTC+8", 8*3600)
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, beijing) }
	const mall = "1900000109"
	for _, tt := range []struct {
		shop        string
		amount      int64
		when        time.Time
		earned      int64
		points      int64
		remark      string
		explanation string
	}{
		{"S02", 12345, at(11, 19, 0), 0, 553, "", "floor(12345/100)=123 ×1.5 (shop S02) ×3 (promo evening-flagship; outranks 双十一 ×2) = 553.5, floor 553, cap 2000 (2000 left) → 553"},
		{"S02", 12345, at(11, 19, 0), 1800, 200, "", ""},
		{"S02", 12345, at(11, 19, 0), 2000, 0, "今日积分已达上限", ""},
		{"S01", 8800, at(10, 12, 0), 0, 176, "", ""},
		{"S01", 8800, at(11, 10, 0), 0, 352, "", ""},
		{"S07", 6660, time.Date(2026, 11, 11, 15, 59, 0, 0, time.UTC), 0, 132, "", ""},
		{"007", 50000, at(10, 12, 0), 0, 0, "超市商品不参与积分", ""},
		{"S01", 999, at(10, 12, 0), 0, 0, "消费满10元可获得积分", ""},
	} {
		o := set.Evaluate(rules.Payment{MchID: mall, ShopNumber: tt.shop, Amount: tt.amount, TimeEnd: tt.when}, tt.earned)
		if o.Points != tt.points || o.NoPointsRemarks != tt.remark || (tt.explanation != "" && o.Explain != tt.explanation) {
			t.Errorf("%d fen in %s at %s, %d earned that day: %d points, remark %q, %s; the page says %d, %q, %s",
				tt.amount, tt.shop, tt.when, tt.earned, o.Points, o.NoPointsRemarks, o.Explain, tt.points, tt.remark, tt.explanation)
		}
	}
	for _, tt := range []struct{ earned, paid, before, refund, want int64 }{
		{553, 12345, 0, 5000, 223}, {553, 12345, 5000, 7345, 330},
		{10, 300, 0, 100, 3}, {10, 300, 100, 100, 3}, {10, 300, 200, 100, 4},
	} {
		if got := rules.RefundDeduction(tt.earned, tt.paid, tt.before, tt.refund); got != tt.want {
			t.Errorf("RefundDeduction(%d, %d, %d, %d) = %d, the page says %d", tt.earned, tt.paid, tt.before, tt.refund, got, tt.want)
		}
	}
}

// The worked arithmetic of the points programme's example in docs/rules.md.
func TestDocsRulesProgrammeArithmetic(t *testing.T) {
	t.Parallel()
	var yaml string
	for _, b := range docsBlocks(t) {
		if strings.Contains(b.yaml, "first_payment_bonus") && b.refused == "" {
			yaml = b.yaml
		}
	}
	set, err := rules.Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("the programme's example: %v", err)
	}
	beijing := time.FixedZone("UTC+8", 8*3600)
	at := func(d int) time.Time { return time.Date(2026, 11, d, 12, 0, 0, 0, beijing) }
	for _, tt := range []struct {
		shop          string
		amount        int64
		when          time.Time
		h             rules.History
		points, bonus int64
		remark        string
	}{
		{"R01", 12399, at(2), rules.History{FirstEarning: true}, 246, 100, ""},
		{"R01", 12399, at(4), rules.History{SpendFen: 600000}, 590, 0, ""},
		{"R02", 12399, at(2), rules.History{}, 369, 0, ""},
		{"F01", 10000, at(8), rules.History{SpendFen: 2000000}, 450, 0, ""},
		{"M01", 10000, at(2), rules.History{FirstEarning: true}, 0, 0, "超市商品不参与积分"},
		{"F02", 1000000, at(2), rules.History{}, 5000, 0, ""},
		{"F01", 10000, at(2), rules.History{EarnedToday: 7950, FirstEarning: true}, 50, 100, ""},
		{"F01", 10000, at(2), rules.History{EarnedThisMonth: 20000}, 0, 0, "本月积分已达上限"},
	} {
		o := set.EvaluateWith(rules.Payment{MchID: "1900000109", ShopNumber: tt.shop, Amount: tt.amount, TimeEnd: tt.when}, tt.h)
		if o.Points != tt.points || o.Bonus != tt.bonus || o.NoPointsRemarks != tt.remark {
			t.Errorf("%d fen in %s at %s (%+v): %d + %d, %q (%s); the page says %d + %d, %q",
				tt.amount, tt.shop, tt.when, tt.h, o.Points, o.Bonus, o.NoPointsRemarks, o.Explain, tt.points, tt.bonus, tt.remark)
		}
	}
}

// The worked arithmetic of the birthday-month example in docs/rules.md.
func TestDocsRulesBirthdayArithmetic(t *testing.T) {
	t.Parallel()
	var yaml string
	for _, b := range docsBlocks(t) {
		if strings.Contains(b.yaml, "birthday_month") && b.refused == "" {
			yaml = b.yaml
		}
	}
	set, err := rules.Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("the birthday example: %v", err)
	}
	beijing := time.FixedZone("UTC+8", 8*3600)
	at := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 12, 0, 0, 0, beijing) }
	for _, tt := range []struct {
		shop     string
		when     time.Time
		birthday int
		points   int64
	}{
		{"F01", at(5, 5), 5, 200},
		{"R01", at(5, 6), 5, 300},
		{"F01", at(5, 6), 5, 200},
		{"R01", at(6, 3), 5, 100},
		{"R01", time.Date(2026, 4, 30, 16, 30, 0, 0, time.UTC), 5, 200},
		{"F01", at(5, 5), 0, 100},
		{"R01", at(5, 6), 0, 100},
	} {
		o := set.EvaluateWith(rules.Payment{MchID: "1900000109", ShopNumber: tt.shop, Amount: 10000, TimeEnd: tt.when},
			rules.History{BirthdayMonth: tt.birthday})
		if o.Points != tt.points {
			t.Errorf("100 yuan in %s at %s, birthday month %d: %d points (%s); the page says %d",
				tt.shop, tt.when, tt.birthday, o.Points, o.Explain, tt.points)
		}
	}
}

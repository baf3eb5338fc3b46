package rules_test

import (
	"fmt"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

func ExampleParse() {
	set, err := rules.Parse([]byte(`
default:
  daily_cap: 500
  shops:
    - {shop_number: S01, multiplier: 2}
  promotions:
    - {name: 双十一, multiplier: 2, start: 2026-11-11, end: 2026-11-11}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	paid := time.Date(2026, 11, 11, 20, 15, 0, 0, time.FixedZone("UTC+8", 8*3600))
	out := set.Evaluate(rules.Payment{MchID: "1900000109", ShopNumber: "S01", Amount: 12345, TimeEnd: paid}, 492)
	fmt.Println(out.Points, out.EarnPoints, out.Capped)
	fmt.Println(out.Explain)
	// Output:
	// 8 true true
	// floor(12345/100)=123 ×2 (shop S01) ×2 (promo 双十一) = 492, cap 500 (8 left) → 8
}

func ExampleParse_error() {
	_, err := rules.Parse([]byte("default:\n  shops:\n    - {shop_number: S01, multiplier: -2}\n"))
	fmt.Println(err)
	// Output:
	// line 3: default.shops[0].multiplier: must be greater than 0, got -2 (exclude the shop instead)
}

func ExampleLoad() {
	set, err := rules.Load("testdata/example.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	m := set.Mall("1900000109")
	fmt.Println(set.Version(), m.BrandID, m.AppIDs, m.DailyCap)
	// Output:
	// r-ec3deba8eeef 1001 [wx1234567890abcdef] 2000
}

func ExampleDefault() {
	out := rules.Default().Evaluate(rules.Payment{MchID: "1900000109", ShopNumber: "S01", Amount: 99, TimeEnd: time.Now()}, 0)
	fmt.Println(out.Points, out.EarnPoints, out.Reason)
	fmt.Println(out.NoPointsRemarks)
	// Output:
	// 0 false no_points
	// 消费金额不足一积分 (amount earns less than one point)
}

func ExampleSet_Evaluate_excludedShop() {
	set, _ := rules.Parse([]byte("default:\n  shops: [{shop_number: S09, excluded: true, remark: 超市商品不参与积分}]\n"))
	out := set.Evaluate(rules.Payment{MchID: "1900000109", ShopNumber: "S09", Amount: 50000, TimeEnd: time.Now()}, 0)
	fmt.Println(out.EarnPoints, out.Reason, out.NoPointsRemarks)
	// Output:
	// false excluded_shop 超市商品不参与积分
}

func ExampleSet_Version() {
	a, _ := rules.Parse([]byte("default: {daily_cap: 500, min_amount_fen: 100}"))
	b, _ := rules.Parse([]byte("# reordered\ndefault:\n  min_amount_fen: 100\n  daily_cap: 500\n"))
	c, _ := rules.Parse([]byte("default: {daily_cap: 600, min_amount_fen: 100}"))
	fmt.Println(a.Version() == b.Version(), a.Version() == c.Version())
	fmt.Println(rules.Default().Version())
	// Output:
	// true false
	// r-a2168b897cac
}

func ExampleSet_MarshalJSON() {
	set, _ := rules.Parse([]byte("malls:\n  - {mchid: \"1900000109\", brand_id: 1001, daily_cap: 300}\n"))
	j, _ := set.MarshalJSON()
	again, _ := rules.Parse(j) // the normalised rules are a rules file too
	fmt.Println(again.Version() == set.Version(), again.Mall("1900000109").DailyCap)
	// Output:
	// true 300
}

func ExampleBeijingDay() {
	// 16:30 UTC on 10 November is already 11 November in Beijing.
	start, end := rules.BeijingDay(time.Date(2026, 11, 10, 16, 30, 0, 0, time.UTC))
	fmt.Println(start, "→", end)
	// Output:
	// 2026-11-11 00:00:00 +0800 UTC+8 → 2026-11-12 00:00:00 +0800 UTC+8
}

func ExampleRefundDeduction() {
	// A payment of 300 fen earned 10 points; it is refunded in three parts of 100.
	var refunded int64
	for range 3 {
		fmt.Print(rules.RefundDeduction(10, 300, refunded, 100), " ")
		refunded += 100
	}
	fmt.Println()
	// Output:
	// 3 3 4
}

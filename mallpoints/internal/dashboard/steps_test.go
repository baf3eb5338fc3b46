package dashboard

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

func TestStepRowsReadEveryStepInWordsWithTheRunningPoints(t *testing.T) {
	limit := int64(300)
	raw, _ := json.Marshal([]rules.Step{
		{Step: "base", Points: 123},
		{Step: "category", Name: "零售", Multiplier: "2", Points: 246},
		{Step: "daily_cap", Cap: &limit, Points: 246},
		{Step: "first_payment_bonus", Bonus: 50, Points: 246},
	})
	d := newTestDashboard(t)
	for _, c := range []struct {
		lang string
		want []stepRow
	}{
		{English, []stepRow{
			{Key: "base", Label: "Base points (amount ÷ fen per point)", Points: 123},
			{Key: "category", Label: "Category multiplier", Name: "零售", Figure: "×2", Points: 246},
			{Key: "daily_cap", Label: "Daily cap", Figure: "cap 300", Points: 246},
			{Key: "first_payment_bonus", Label: "First-payment bonus", Figure: "+50", Points: 296},
		}},
		{Chinese, []stepRow{
			{Key: "base", Label: "基础积分（金额 ÷ 每积分所需分）", Points: 123},
			{Key: "category", Label: "品类倍数", Name: "零售", Figure: "×2", Points: 246},
			{Key: "daily_cap", Label: "每日上限", Figure: "上限 300", Points: 246},
			{Key: "first_payment_bonus", Label: "首笔消费奖励", Figure: "+50", Points: 296},
		}},
	} {
		l := d.langs[c.lang]
		if got := storedSteps(l, raw); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s rows:\n got %+v\nwant %+v", c.lang, got, c.want)
		}
		if storedSteps(l, nil) != nil || storedSteps(l, json.RawMessage(`{"not":"a list"}`)) != nil {
			t.Error("no or bad steps should show no rows")
		}
		if got := l.label("step", "something_new"); got != "something_new" {
			t.Errorf("an unknown step reads %q, want its key", got)
		}
	}
}

// Every step rules.EvaluateWith writes has a label, and so has the one the
// ledger writes for a payment its mall's CRM decides.
func TestEveryStepHasALabel(t *testing.T) {
	for _, s := range []string{"base", "category", "shop", "promotion", "tier", "max_points", "per_payment_cap",
		"daily_cap", "monthly_cap", "first_payment_bonus", "excluded", "below_minimum", "not_authorized", "crm"} {
		if !slices.Contains(steps, s) {
			t.Errorf("step %s is not among the steps the catalogues name", s)
		}
	}
}

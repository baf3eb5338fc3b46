package dashboard

import (
	"encoding/json"
	"reflect"
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
	got := storedSteps(raw)
	want := []stepRow{
		{Key: "base", Label: stepLabels["base"], Points: 123},
		{Key: "category", Label: stepLabels["category"], Name: "零售", Figure: "×2", Points: 246},
		{Key: "daily_cap", Label: stepLabels["daily_cap"], Figure: "cap 300", Points: 246},
		{Key: "first_payment_bonus", Label: stepLabels["first_payment_bonus"], Figure: "+50", Points: 296},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows:\n got %+v\nwant %+v", got, want)
	}
	if storedSteps(nil) != nil || storedSteps(json.RawMessage(`{"not":"a list"}`)) != nil {
		t.Error("no or bad steps should show no rows")
	}
	if l := stepLabel("something_new"); l != "something_new" {
		t.Errorf("an unknown step reads %q, want its key", l)
	}
}

// Every step rules.EvaluateWith writes has a label, and so has the one the
// ledger writes for a payment its mall's CRM decides.
func TestEveryStepHasALabel(t *testing.T) {
	for _, s := range []string{"base", "category", "shop", "promotion", "tier", "max_points", "per_payment_cap",
		"daily_cap", "monthly_cap", "first_payment_bonus", "excluded", "below_minimum", "not_authorized", "crm"} {
		if stepLabels[s] == "" {
			t.Errorf("step %s has no label", s)
		}
	}
}

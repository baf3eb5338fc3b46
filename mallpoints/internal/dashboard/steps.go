package dashboard

import (
	"encoding/json"
	"strconv"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

// stepLabels name the steps of an earning's explanation (rules.Step.Step)
// for people. They are kept here, and only here, so that a catalogue in
// another language (zh-CN) can replace them; a step missing from the map
// shows its key.
var stepLabels = map[string]string{
	"base":                "Base points (amount ÷ fen per point)",
	"shop":                "Shop multiplier",
	"category":            "Category multiplier",
	"promotion":           "Promotion",
	"tier":                "Member tier",
	"max_points":          "Most points a payment can carry",
	"per_payment_cap":     "Per-payment cap",
	"daily_cap":           "Daily cap",
	"monthly_cap":         "Monthly cap",
	"first_payment_bonus": "First-payment bonus",
	"excluded":            "Shop excluded: no points",
	"below_minimum":       "Amount below the minimum: no points",
	"not_authorized":      "The member withdrew the points authorisation: no points",
	"crm":                 "Decided by the mall's CRM",
}

// stepRow is one step as the transaction page and the preview show it.
type stepRow struct {
	Key    string // rules.Step.Step
	Label  string // the step in words
	Name   string // the shop, category, promotion or tier; "" for none
	Figure string // ×1.5, cap 500, +50; "" for none
	Points int64  // the running points after the step, the bonus included
}

// stepLabel is the step's label, or its key when it has none.
func stepLabel(step string) string {
	if l, ok := stepLabels[step]; ok {
		return l
	}
	return step
}

// stepRows turns an explanation into rows.
func stepRows(steps []rules.Step) []stepRow {
	rows := make([]stepRow, 0, len(steps))
	for _, s := range steps {
		r := stepRow{Key: s.Step, Label: stepLabel(s.Step), Name: s.Name, Points: s.Points}
		switch {
		case s.Multiplier != "":
			r.Figure = "×" + s.Multiplier
		case s.Cap != nil:
			r.Figure = "cap " + strconv.FormatInt(*s.Cap, 10)
		case s.Bonus != 0:
			r.Figure = "+" + strconv.FormatInt(s.Bonus, 10)
			r.Points += s.Bonus
		}
		rows = append(rows, r)
	}
	return rows
}

// storedSteps reads a stored explanation (storage.Transaction.Steps); one
// that does not decode shows no rows, and the page keeps the summary.
func storedSteps(raw json.RawMessage) []stepRow {
	if len(raw) == 0 {
		return nil
	}
	var steps []rules.Step
	if err := json.Unmarshal(raw, &steps); err != nil {
		return nil
	}
	return stepRows(steps)
}

package dashboard

import (
	"encoding/json"
	"strconv"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

// steps are the steps of an earning's explanation (rules.Step.Step), each
// named in the catalogues as "step.<key>"; a step missing there shows its
// key.
var steps = []string{"base", "shop", "category", "promotion", "tier", "max_points", "per_payment_cap", "daily_cap",
	"monthly_cap", "first_payment_bonus", "excluded", "below_minimum", "not_authorized", "crm"}

// stepRow is one step as the transaction page and the preview show it.
type stepRow struct {
	Key    string // rules.Step.Step
	Label  string // the step in words
	Name   string // the shop, category, promotion or tier; "" for none
	Figure string // ×1.5, cap 500, +50; "" for none
	Points int64  // the running points after the step, the bonus included
}

// stepRows turns an explanation into rows, in language l.
func stepRows(l *language, list []rules.Step) []stepRow {
	rows := make([]stepRow, 0, len(list))
	for _, s := range list {
		r := stepRow{Key: s.Step, Label: l.label("step", s.Step), Name: s.Name, Points: s.Points}
		switch {
		case s.Multiplier != "":
			r.Figure = "×" + s.Multiplier
		case s.Cap != nil:
			r.Figure = l.T("steps.cap", *s.Cap)
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
func storedSteps(l *language, raw json.RawMessage) []stepRow {
	if len(raw) == 0 {
		return nil
	}
	var list []rules.Step
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil
	}
	return stepRows(l, list)
}

package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

// fact is one key of a rules section as the Rules page shows it.
type fact struct {
	Key   string // the rules file's key
	Label string
	Value string
}

// section is a rules section: the default, or a mall's own keys.
type section struct {
	MchID string // "" for the default section
	Facts []fact
}

type rulesData struct {
	Version string
	MchID   string // the merchant's own mall, the preview's default
	Default section
	Malls   []section
	JSON    string
	Form    previewForm
	// Result is the preview's answer, after the form was sent.
	Result *previewResult
}

// previewForm is what the preview form was sent with, to show it again.
type previewForm struct {
	Mall, OpenID, ShopNumber, Amount, TimeEnd, Tier string
}

// previewResult is one previewed payment.
type previewResult struct {
	Points     int64
	Bonus      int64
	EarnPoints bool
	Remark     string
	Tier       string
	Steps      []stepRow
}

func (d *Dashboard) rules(w http.ResponseWriter, r *http.Request) {
	now := d.cfg.Now().In(beijing)
	d.renderRules(w, r, http.StatusOK, previewForm{Mall: d.defaultMall(r), TimeEnd: now.Format(previewTimeLayout)}, nil, "")
}

// defaultMall is the mall a form starts with: the merchant's own, or the
// viewer's first when it is confined to others.
func (d *Dashboard) defaultMall(r *http.Request) string {
	if v := viewer(r); !v.Sees(d.cfg.MchID) && len(v.Malls) > 0 {
		return v.Malls[0]
	}
	return d.cfg.MchID
}

func (d *Dashboard) renderRules(w http.ResponseWriter, r *http.Request, status int, form previewForm, result *previewResult, problem string) {
	set := d.cfg.Rules.Load()
	v := viewer(r) // an account confined to some malls sees theirs and the default section
	doc, err := set.MarshalMalls(v.Sees)
	if err != nil {
		d.fail(w, r, errors.Join(errors.New("dashboard: rules"), err))
		return
	}
	def := set.Mall("")
	data := rulesData{Version: set.Version(), MchID: d.defaultMall(r), Default: section{Facts: mallFacts(def)}, JSON: string(doc),
		Form: form, Result: result}
	for _, m := range set.Malls() {
		if v.Sees(m.MchID) {
			data.Malls = append(data.Malls, section{MchID: m.MchID, Facts: ownFacts(m, def)})
		}
	}
	d.render(w, r, status, "rules", page{Title: "Rules", Nav: "rules", Error: problem, Data: data})
}

// ownFacts are the facts of m that differ from the default section's: the
// keys the mall sets itself (a key set to the default's value reads as not
// set, which means the same).
func ownFacts(m, def rules.Mall) []fact {
	base := map[string]string{}
	for _, f := range mallFacts(def) {
		base[f.Key] = f.Value
	}
	var out []fact
	for _, f := range mallFacts(m) {
		if v, ok := base[f.Key]; !ok || v != f.Value {
			out = append(out, f)
		}
	}
	return out
}

// mallFacts reads a mall's rules in words, one key a row, in the order the
// rules apply.
func mallFacts(m rules.Mall) []fact {
	var fs []fact
	add := func(key, label, value string) { fs = append(fs, fact{Key: key, Label: label, Value: value}) }
	if m.BrandID != 0 {
		add("brand_id", "Brand id", strconv.FormatInt(m.BrandID, 10))
	}
	if len(m.AppIDs) > 0 {
		add("app_ids", "App ids", strings.Join(m.AppIDs, ", "))
	}
	add("fen_per_point", "Base points", fmt.Sprintf("1 point per %s (fen_per_point %d), rounded down", yuan(m.FenPerPoint), m.FenPerPoint))
	add("min_amount_fen", "Minimum amount", orNone(m.MinAmountFen, yuan))
	var cats []string
	for _, c := range m.Categories {
		s := c.Name + " (" + strings.Join(c.Shops, ", ") + "): "
		switch {
		case c.Excluded:
			s += "excluded"
			if c.Remark != "" {
				s += " (" + c.Remark + ")"
			}
		case c.Multiplier != "":
			s += "×" + c.Multiplier
		default:
			s += "×1"
		}
		cats = append(cats, s)
	}
	add("categories", "Categories", listOrNone(cats))
	var shops []string
	for _, sh := range m.Shops {
		s := sh.Number + ": "
		if sh.Excluded {
			s += "excluded"
			if sh.Remark != "" {
				s += " (" + sh.Remark + ")"
			}
		} else {
			s += "×" + sh.Multiplier
		}
		shops = append(shops, s)
	}
	add("shops", "Shops", listOrNone(shops))
	var promos []string
	for _, p := range m.Promotions {
		s := p.Name + " ×" + p.Multiplier
		if !p.Start.IsZero() {
			s += " from " + bj(p.Start) + " to " + bj(p.End)
		}
		if len(p.Weekdays) > 0 {
			s += " on " + strings.Join(p.Weekdays, ", ")
		}
		if len(p.MonthDays) > 0 {
			days := make([]string, len(p.MonthDays))
			for i, d := range p.MonthDays {
				days[i] = strconv.Itoa(d)
			}
			s += " on day " + strings.Join(days, ", ") + " of the month"
		}
		if p.BirthdayMonth {
			s += " in the member's birthday month"
		}
		if len(p.Shops) > 0 {
			s += " in shops " + strings.Join(p.Shops, ", ")
		}
		if len(p.Categories) > 0 {
			s += " in categories " + strings.Join(p.Categories, ", ")
		}
		if len(p.Tiers) > 0 {
			s += " for tiers " + strings.Join(p.Tiers, ", ")
		}
		promos = append(promos, s)
	}
	add("promotions", "Promotions (Beijing time; the best applies)", listOrNone(promos))
	if len(m.Tiers) == 0 {
		add("tiers", "Tiers", "none")
	} else {
		levels := make([]string, len(m.Tiers))
		for i, t := range m.Tiers {
			levels[i] = fmt.Sprintf("%s from %s ×%s", t.Name, yuan(t.MinSpendFen), t.Multiplier)
		}
		add("tiers", "Tiers", fmt.Sprintf("by spend in the last %d months: %s", m.TierWindowMonths, strings.Join(levels, "; ")))
	}
	points := func(n int64) string { return strconv.FormatInt(n, 10) + " points" }
	add("per_payment_cap", "Per-payment cap", orNone(m.PerPaymentCap, points))
	add("daily_cap", "Daily cap (Beijing day)", orNone(m.DailyCap, points))
	add("monthly_cap", "Monthly cap (Beijing month)", orNone(m.MonthlyCap, points))
	add("first_payment_bonus", "First-payment bonus", orNone(m.FirstPaymentBonus, points))
	add("expiry", "Expiry", expiryText(m.Expiry))
	add("remarks", "Remarks synced with no points", fmt.Sprintf("excluded shop: %s; below the minimum: %s; less than a point: %s; daily cap: %s; monthly cap: %s; authorisation withdrawn: %s",
		m.Remarks.Excluded, m.Remarks.BelowMinimum, m.Remarks.NoPoints, m.Remarks.CapReached, m.Remarks.MonthlyCapReached, m.Remarks.NotAuthorized))
	return fs
}

func expiryText(e rules.Expiry) string {
	var s string
	switch e.Policy {
	case rules.ExpiryEndOfYear:
		switch e.Years {
		case 0:
			s = "at the end of the Beijing year they are earned in"
		case 1:
			s = "at the end of the Beijing year after the one they are earned in"
		default:
			s = fmt.Sprintf("at the end of the Beijing year %d years after the one they are earned in", e.Years)
		}
	case rules.ExpiryRolling:
		s = fmt.Sprintf("at the end of the Beijing day %d months after the payment", e.Months)
	default:
		return "never"
	}
	if !e.Start.IsZero() {
		s += ", never before " + e.Start.In(beijing).Format(time.DateOnly)
	}
	return "points expire " + s
}

func orNone(n int64, f func(int64) string) string {
	if n == 0 {
		return "none"
	}
	return f(n)
}

func listOrNone(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, "; ")
}

// previewTimeLayout is how the form reads time_end: Beijing time.
const previewTimeLayout = "2006-01-02 15:04"

// previewPayment previews one payment under the rules in force with
// ledger.Preview, the function of POST /api/rules/preview, reading the
// member's history and writing nothing.
func (d *Dashboard) previewPayment(w http.ResponseWriter, r *http.Request) {
	form := previewForm{
		Mall: strings.TrimSpace(r.PostFormValue("mall")), OpenID: strings.TrimSpace(r.PostFormValue("openid")),
		ShopNumber: strings.TrimSpace(r.PostFormValue("shop_number")), Amount: strings.TrimSpace(r.PostFormValue("amount")),
		TimeEnd: strings.TrimSpace(r.PostFormValue("time_end")), Tier: strings.TrimSpace(r.PostFormValue("tier")),
	}
	set := d.cfg.Rules.Load()
	bad := func(msg string) { d.renderRules(w, r, http.StatusBadRequest, form, nil, "Not previewed: "+msg) }
	if form.Mall == "" {
		form.Mall = d.defaultMall(r)
	}
	switch {
	case !viewer(r).Sees(form.Mall):
		d.renderRules(w, r, http.StatusForbidden, form, nil, "Not previewed: mall "+form.Mall+" is not one of yours.")
		return
	case form.Mall == "" || len(form.Mall) > 32:
		bad("the mall is required, at most 32 characters.")
		return
	case form.OpenID == "" || len(form.OpenID) > 128:
		bad("the openid is required, at most 128 bytes.")
		return
	case len(form.ShopNumber) > 32:
		bad("the shop number is at most 32 characters.")
		return
	case form.Tier != "" && !set.HasTier(form.Mall, form.Tier):
		bad(fmt.Sprintf("the rules give mall %s no tier %q.", form.Mall, form.Tier))
		return
	}
	amount, err := parseYuan(form.Amount)
	if err != nil {
		bad(err.Error() + ".")
		return
	}
	t, err := time.ParseInLocation(previewTimeLayout, form.TimeEnd, beijing)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, form.TimeEnd); err != nil {
			bad("the time is Beijing time such as 2026-05-20 12:00 (or RFC 3339).")
			return
		}
	}
	outs, err := ledger.Preview(r.Context(), d.cfg.DB, set, []ledger.PreviewPayment{{
		Payment: rules.Payment{MchID: form.Mall, ShopNumber: form.ShopNumber, Amount: amount, TimeEnd: t},
		OpenID:  form.OpenID, Tier: form.Tier,
	}}, d.cfg.Logger)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	o := outs[0]
	d.renderRules(w, r, http.StatusOK, form, &previewResult{Points: o.Points, Bonus: o.Bonus, EarnPoints: o.EarnPoints,
		Remark: o.NoPointsRemarks, Tier: o.Tier, Steps: stepRows(o.Steps)}, "")
}

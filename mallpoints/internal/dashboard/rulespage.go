package dashboard

import (
	"errors"
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
	// AsWritten: the value is the file's own text (app ids, the remarks
	// sent to WeChat Pay), in no language of the console's.
	AsWritten bool
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

// renderRules shows the rules in force: the default section, then each
// mall the rules file names, once (rules.Set.Malls, in mchid order), with
// the keys it sets itself; and the preview form, with its result.
func (d *Dashboard) renderRules(w http.ResponseWriter, r *http.Request, status int, form previewForm, result *previewResult, problem string) {
	l := d.lang(r)
	set := d.cfg.Rules.Load()
	v := viewer(r) // an account confined to some malls sees theirs and the default section
	doc, err := set.MarshalMalls(v.Sees)
	if err != nil {
		d.fail(w, r, errors.Join(errors.New("dashboard: rules"), err))
		return
	}
	def := set.Mall("")
	data := rulesData{Version: set.Version(), MchID: d.defaultMall(r), Default: section{Facts: mallFacts(l, def)}, JSON: string(doc),
		Form: form, Result: result}
	for _, m := range set.Malls() {
		if v.Sees(m.MchID) {
			data.Malls = append(data.Malls, section{MchID: m.MchID, Facts: ownFacts(l, m, def)})
		}
	}
	d.render(w, r, status, "rules", page{Title: l.T("title.rules"), Nav: "rules", Error: problem, Here: "/rules", Data: data})
}

// ownFacts are the facts of m that differ from the default section's: the
// keys the mall sets itself (a key set to the default's value reads as not
// set, which means the same).
func ownFacts(l *language, m, def rules.Mall) []fact {
	base := map[string]string{}
	for _, f := range mallFacts(l, def) {
		base[f.Key] = f.Value
	}
	var out []fact
	for _, f := range mallFacts(l, m) {
		if v, ok := base[f.Key]; !ok || v != f.Value {
			out = append(out, f)
		}
	}
	return out
}

// mallFacts reads a mall's rules in words, in l, one key a row, in the
// order the rules apply. Names from the rules file (categories, shops,
// promotions, tiers, remarks) are shown as written.
func mallFacts(l *language, m rules.Mall) []fact {
	var fs []fact
	add := func(key, value string) {
		fs = append(fs, fact{Key: key, Label: l.label("rules.key", key), Value: value})
	}
	none := l.T("rules.none")
	orNone := func(n int64, f func(int64) string) string {
		if n == 0 {
			return none
		}
		return f(n)
	}
	listOrNone := func(items []string) string {
		if len(items) == 0 {
			return none
		}
		return strings.Join(items, l.T("rules.list.sep"))
	}
	and := l.T("rules.and.sep")
	if m.BrandID != 0 {
		add("brand_id", strconv.FormatInt(m.BrandID, 10))
	}
	if len(m.AppIDs) > 0 {
		add("app_ids", strings.Join(m.AppIDs, ", "))
		fs[len(fs)-1].AsWritten = true
	}
	add("fen_per_point", l.T("rules.base", l.yuan(m.FenPerPoint), m.FenPerPoint))
	add("min_amount_fen", orNone(m.MinAmountFen, l.yuan))
	excluded := func(remark string) string {
		if remark != "" {
			return l.T("rules.excluded.because", remark)
		}
		return l.T("rules.excluded")
	}
	var cats []string
	for _, c := range m.Categories {
		s := c.Name + " (" + strings.Join(c.Shops, ", ") + "): "
		switch {
		case c.Excluded:
			s += excluded(c.Remark)
		case c.Multiplier != "":
			s += "×" + c.Multiplier
		default:
			s += "×1"
		}
		cats = append(cats, s)
	}
	add("categories", listOrNone(cats))
	var shops []string
	for _, sh := range m.Shops {
		s := sh.Number + ": "
		if sh.Excluded {
			s += excluded(sh.Remark)
		} else {
			s += "×" + sh.Multiplier
		}
		shops = append(shops, s)
	}
	add("shops", listOrNone(shops))
	var promos []string
	for _, p := range m.Promotions {
		s := p.Name + " ×" + p.Multiplier
		if !p.Start.IsZero() {
			s += l.T("rules.promotion.dates", l.when(p.Start), l.when(p.End))
		}
		if len(p.Weekdays) > 0 {
			days := make([]string, len(p.Weekdays))
			for i, wd := range p.Weekdays {
				days[i] = l.label("weekday", wd)
			}
			s += l.T("rules.promotion.weekdays", strings.Join(days, and))
		}
		if len(p.MonthDays) > 0 {
			days := make([]string, len(p.MonthDays))
			for i, d := range p.MonthDays {
				days[i] = strconv.Itoa(d)
			}
			s += l.T("rules.promotion.monthdays", strings.Join(days, and))
		}
		if p.BirthdayMonth {
			s += " in the member's birthday month"
		}
		if len(p.Shops) > 0 {
			s += l.T("rules.promotion.shops", strings.Join(p.Shops, and))
		}
		if len(p.Categories) > 0 {
			s += l.T("rules.promotion.categories", strings.Join(p.Categories, and))
		}
		if len(p.Tiers) > 0 {
			s += l.T("rules.promotion.tiers", strings.Join(p.Tiers, and))
		}
		promos = append(promos, s)
	}
	add("promotions", listOrNone(promos))
	if len(m.Tiers) == 0 {
		add("tiers", none)
	} else {
		levels := make([]string, len(m.Tiers))
		for i, t := range m.Tiers {
			levels[i] = l.T("rules.tier", t.Name, l.yuan(t.MinSpendFen), t.Multiplier)
		}
		add("tiers", l.T("rules.tiers", m.TierWindowMonths, strings.Join(levels, l.T("rules.list.sep"))))
	}
	points := func(n int64) string { return l.T("rules.points", n) }
	add("per_payment_cap", orNone(m.PerPaymentCap, points))
	add("daily_cap", orNone(m.DailyCap, points))
	add("monthly_cap", orNone(m.MonthlyCap, points))
	add("first_payment_bonus", orNone(m.FirstPaymentBonus, points))
	add("expiry", expiryText(l, m.Expiry))
	add("remarks", l.T("rules.remarks", m.Remarks.Excluded, m.Remarks.BelowMinimum, m.Remarks.NoPoints,
		m.Remarks.CapReached, m.Remarks.MonthlyCapReached, m.Remarks.NotAuthorized))
	fs[len(fs)-1].AsWritten = true
	return fs
}

// ruleKeys are the rules file's keys the Rules page names
// ("rules.key.<key>" in the catalogues).
var ruleKeys = []string{"brand_id", "app_ids", "fen_per_point", "min_amount_fen", "categories", "shops", "promotions",
	"tiers", "per_payment_cap", "daily_cap", "monthly_cap", "first_payment_bonus", "expiry", "remarks"}

func expiryText(l *language, e rules.Expiry) string {
	var s string
	switch e.Policy {
	case rules.ExpiryEndOfYear:
		switch e.Years {
		case 0:
			s = l.T("rules.expiry.year0")
		case 1:
			s = l.T("rules.expiry.year1")
		default:
			s = l.T("rules.expiry.years", e.Years)
		}
	case rules.ExpiryRolling:
		s = l.T("rules.expiry.rolling", e.Months)
	default:
		return l.T("rules.expiry.never")
	}
	if !e.Start.IsZero() {
		s += l.T("rules.expiry.start", l.date(e.Start))
	}
	return s
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
	l := d.lang(r)
	bad := func(msg string) { d.renderRules(w, r, http.StatusBadRequest, form, nil, l.T("preview.failed", msg)) }
	if form.Mall == "" {
		form.Mall = d.defaultMall(r)
	}
	switch {
	case !viewer(r).Sees(form.Mall):
		d.renderRules(w, r, http.StatusForbidden, form, nil, l.T("preview.failed", l.T("preview.bad.scope", form.Mall)))
		return
	case form.Mall == "" || len(form.Mall) > 32:
		bad(l.T("preview.bad.mall"))
		return
	case form.OpenID == "" || len(form.OpenID) > 128:
		bad(l.T("preview.bad.openid"))
		return
	case len(form.ShopNumber) > 32:
		bad(l.T("preview.bad.shop"))
		return
	case form.Tier != "" && !set.HasTier(form.Mall, form.Tier):
		bad(l.T("preview.bad.tier", form.Mall, form.Tier))
		return
	}
	amount, err := parseYuan(form.Amount)
	if err != nil {
		bad(amountProblem(l, err))
		return
	}
	t, err := time.ParseInLocation(previewTimeLayout, form.TimeEnd, beijing)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, form.TimeEnd); err != nil {
			bad(l.T("preview.bad.time"))
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
		Remark: o.NoPointsRemarks, Tier: o.Tier, Steps: stepRows(l, o.Steps)}, "")
}

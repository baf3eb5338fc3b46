package rules

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/strictyaml"
)

// The rules file as written: the structs yaml decodes it into (with
// KnownFields, so an unknown key is an error), and the checks that turn them
// into sections. Every value is a scalar, which keeps its text and line, and
// every list item records its line, so a check made after decoding still
// names its line. A nil field is a key the file leaves out (check refuses
// an empty value, which yaml would decode as nil too).
// docs/rules.md describes every key.

type fileDoc struct {
	Default *sectionDoc `yaml:"default"`
	Malls   []mallDoc   `yaml:"malls"`
}

// sectionDoc is the default section, and the part of a mall's section that
// replaces the default's keys.
type sectionDoc struct {
	MinAmountFen *scalar         `yaml:"min_amount_fen"`
	DailyCap     *scalar         `yaml:"daily_cap"`
	Shops        *[]shopDoc      `yaml:"shops"`
	Promotions   *[]promotionDoc `yaml:"promotions"`
	Remarks      *remarksDoc     `yaml:"remarks"`
	FenPerPoint  *scalar         `yaml:"fen_per_point"`
	Categories   *[]categoryDoc  `yaml:"categories"`
	PerPayment   *scalar         `yaml:"per_payment_cap"`
	MonthlyCap   *scalar         `yaml:"monthly_cap"`
	Bonus        *scalar         `yaml:"first_payment_bonus"`
	Tiers        *tiersDoc       `yaml:"tiers"`
	Expiry       *expiryDoc      `yaml:"expiry"`
	Decide       *decideDoc      `yaml:"decide"`
	Webhooks     *[]webhookDoc   `yaml:"webhooks"`
	SilenceAlert *scalar         `yaml:"silence_alert"`
}

type categoryDoc struct {
	At         strictyaml.At `yaml:",inline"`
	Name       *scalar       `yaml:"name"`
	Shops      *scalars      `yaml:"shops"`
	Multiplier *scalar       `yaml:"multiplier"`
	Excluded   *scalar       `yaml:"excluded"`
	Remark     *scalar       `yaml:"remark"`
}

type tiersDoc struct {
	At           strictyaml.At `yaml:",inline"`
	WindowMonths *scalar       `yaml:"window_months"`
	Levels       *[]levelDoc   `yaml:"levels"`
}

type levelDoc struct {
	At          strictyaml.At `yaml:",inline"`
	Name        *scalar       `yaml:"name"`
	MinSpendFen *scalar       `yaml:"min_spend_fen"`
	Multiplier  *scalar       `yaml:"multiplier"`
}

type mallDoc struct {
	At         strictyaml.At `yaml:",inline"`
	MchID      *scalar       `yaml:"mchid"`
	BrandID    *scalar       `yaml:"brand_id"`
	AppIDs     *scalars      `yaml:"app_ids"`
	sectionDoc `yaml:",inline"`
}

type shopDoc struct {
	At         strictyaml.At `yaml:",inline"`
	Number     *scalar       `yaml:"shop_number"`
	Multiplier *scalar       `yaml:"multiplier"`
	Excluded   *scalar       `yaml:"excluded"`
	Remark     *scalar       `yaml:"remark"`
}

type promotionDoc struct {
	At         strictyaml.At `yaml:",inline"`
	Name       *scalar       `yaml:"name"`
	Multiplier *scalar       `yaml:"multiplier"`
	Start      *scalar       `yaml:"start"`
	End        *scalar       `yaml:"end"`
	Shops      *scalars      `yaml:"shops"`
	Weekdays   *scalars      `yaml:"weekdays"`
	MonthDays  *scalars      `yaml:"month_days"`
	Categories *scalars      `yaml:"categories"`
	Tiers      *scalars      `yaml:"tiers"`
	Birthday   *scalar       `yaml:"birthday_month"`
}

type remarksDoc struct {
	Excluded     *scalar `yaml:"excluded_shop"`
	BelowMinimum *scalar `yaml:"below_minimum"`
	CapReached   *scalar `yaml:"daily_cap_reached"`
	NoPoints     *scalar `yaml:"no_points"`
	MonthlyCap   *scalar `yaml:"monthly_cap_reached"`
	NoAuth       *scalar `yaml:"not_authorized"`
}

// scalar is a value as written, with its line, and the checks of the
// file's values; scalars is a list of them, such as app_ids.
type scalar struct{ strictyaml.Scalar }

type scalars struct {
	strictyaml.List[scalar, *scalar]
}

// validate checks the whole file and resolves it into a Set.
func (f *fileDoc) validate() (*Set, error) {
	def := defaultSection()
	if f.Default != nil {
		own, err := f.Default.section("default")
		if err != nil {
			return nil, err
		}
		def = resolveDefault(own)
	}
	malls := map[string]section{}
	for i, d := range f.Malls {
		field := strictyaml.Index("malls", i)
		sec, err := d.mall(field)
		if err != nil {
			return nil, err
		}
		if first, dup := malls[sec.mchid]; dup {
			return nil, strictyaml.Fail(sec.mchidLine, field+".mchid", "mall %s is already listed at line %d", sec.mchid, first.mchidLine)
		}
		malls[sec.mchid] = sec
	}
	return build(def, malls)
}

// resolveDefault fills what the default section leaves out with the
// built-in defaults.
func resolveDefault(own section) section {
	d := defaultSection()
	d.minAmount = cmpOr(own.minAmount, d.minAmount)
	d.dailyCap = cmpOr(own.dailyCap, d.dailyCap)
	d.shops = cmpOr(own.shops, d.shops)
	d.promotions = cmpOr(own.promotions, d.promotions)
	d.remarks.excluded = cmpOr(own.remarks.excluded, d.remarks.excluded)
	d.remarks.belowMinimum = cmpOr(own.remarks.belowMinimum, d.remarks.belowMinimum)
	d.remarks.capReached = cmpOr(own.remarks.capReached, d.remarks.capReached)
	d.remarks.noPoints = cmpOr(own.remarks.noPoints, d.remarks.noPoints)
	d.remarks.monthlyCapReached = cmpOr(own.remarks.monthlyCapReached, d.remarks.monthlyCapReached)
	d.remarks.notAuthorized = cmpOr(own.remarks.notAuthorized, d.remarks.notAuthorized)
	d.fenPerPoint = cmpOr(own.fenPerPoint, d.fenPerPoint)
	d.categories = cmpOr(own.categories, d.categories)
	d.perPayment = cmpOr(own.perPayment, d.perPayment)
	d.monthlyCap = cmpOr(own.monthlyCap, d.monthlyCap)
	d.bonus = cmpOr(own.bonus, d.bonus)
	d.tiers = cmpOr(own.tiers, d.tiers)
	d.expiry = cmpOr(own.expiry, d.expiry)
	d.decide = own.decide
	d.webhooks = own.webhooks
	d.silenceAlert = cmpOr(own.silenceAlert, d.silenceAlert)
	return d
}

// section checks the default section or the shared part of a mall's.
func (d *sectionDoc) section(field string) (sec section, err error) {
	if sec.minAmount, err = optional(d.MinAmountFen, strictyaml.Join(field, "min_amount_fen"), (*scalar).count); err != nil {
		return sec, err
	}
	if sec.dailyCap, err = optional(d.DailyCap, strictyaml.Join(field, "daily_cap"), (*scalar).count); err != nil {
		return sec, err
	}
	if sec.fenPerPoint, err = optional(d.FenPerPoint, strictyaml.Join(field, "fen_per_point"), (*scalar).fenPerPoint); err != nil {
		return sec, err
	}
	if sec.silenceAlert, err = optional(d.SilenceAlert, strictyaml.Join(field, "silence_alert"), (*scalar).silenceAlert); err != nil {
		return sec, err
	}
	for _, k := range []struct {
		v   *scalar
		key string
		dst **int64
	}{{d.PerPayment, "per_payment_cap", &sec.perPayment}, {d.MonthlyCap, "monthly_cap", &sec.monthlyCap}, {d.Bonus, "first_payment_bonus", &sec.bonus}} {
		if *k.dst, err = optional(k.v, strictyaml.Join(field, k.key), (*scalar).points); err != nil {
			return sec, err
		}
	}
	if d.Shops != nil {
		if sec.shops, err = shops(*d.Shops, strictyaml.Join(field, "shops")); err != nil {
			return sec, err
		}
	}
	if d.Categories != nil {
		if sec.categories, err = categories(*d.Categories, strictyaml.Join(field, "categories")); err != nil {
			return sec, err
		}
	}
	if d.Tiers != nil {
		if sec.tiers, err = d.Tiers.tiers(strictyaml.Join(field, "tiers")); err != nil {
			return sec, err
		}
	}
	if d.Expiry != nil {
		if sec.expiry, err = d.Expiry.expiry(strictyaml.Join(field, "expiry")); err != nil {
			return sec, err
		}
	}
	if d.Decide != nil {
		if sec.decide, err = d.Decide.decide(strictyaml.Join(field, "decide")); err != nil {
			return sec, err
		}
	}
	if d.Webhooks != nil {
		if sec.webhooks, err = webhooks(*d.Webhooks, strictyaml.Join(field, "webhooks")); err != nil {
			return sec, err
		}
	}
	if d.Promotions != nil {
		if sec.promotions, err = promotions(*d.Promotions, strictyaml.Join(field, "promotions")); err != nil {
			return sec, err
		}
	}
	if d.Remarks != nil {
		sec.remarks, err = d.Remarks.remarks(strictyaml.Join(field, "remarks"))
	}
	return sec, err
}

// optional reads a key with read, or gives nil when the key is left out.
func optional[T any](s *scalar, field string, read func(*scalar, string) (T, error)) (*T, error) {
	if s == nil {
		return nil, nil
	}
	v, err := read(s, field)
	return &v, err
}

// mall checks one mall's section.
func (d *mallDoc) mall(field string) (section, error) {
	if d.MchID == nil {
		return section{}, d.At.Fail(field, "a mall needs its mchid (the sub_mchid in partner mode)")
	}
	sec, err := d.section(field)
	if err != nil {
		return sec, err
	}
	if sec.mchid, err = d.MchID.mchID(strictyaml.Join(field, "mchid")); err != nil {
		return sec, err
	}
	sec.mchidLine = d.MchID.Line
	if d.BrandID != nil {
		if sec.brandID, err = d.BrandID.brandID(strictyaml.Join(field, "brand_id")); err != nil {
			return sec, err
		}
	}
	if d.AppIDs != nil {
		sec.appIDs, err = d.AppIDs.appIDs(strictyaml.Join(field, "app_ids"))
	}
	return sec, err
}

func shops(docs []shopDoc, field string) (*[]shop, error) {
	out := []shop{}
	seen := map[string]int{}
	for i, d := range docs {
		f := strictyaml.Index(field, i)
		sh, err := d.shop(f)
		if err != nil {
			return nil, err
		}
		if line, dup := seen[sh.number]; dup {
			return nil, d.Number.Fail(strictyaml.Join(f, "shop_number"), "shop %s is already listed at line %d", sh.number, line)
		}
		seen[sh.number] = d.Number.Line
		out = append(out, sh)
	}
	return &out, nil
}

func (d *shopDoc) shop(field string) (sh shop, err error) {
	if d.Number == nil {
		return sh, d.At.Fail(field, "a shop needs its shop_number")
	}
	if sh.number, err = d.Number.name(strictyaml.Join(field, "shop_number")); err != nil {
		return sh, err
	}
	if d.Excluded != nil {
		if sh.excluded, err = d.Excluded.boolean(strictyaml.Join(field, "excluded")); err != nil {
			return sh, err
		}
	}
	switch {
	case sh.excluded && d.Multiplier != nil:
		return sh, d.Multiplier.Fail(strictyaml.Join(field, "multiplier"), "an excluded shop earns nothing; remove the multiplier or excluded: true")
	case !sh.excluded && d.Multiplier == nil:
		return sh, d.At.Fail(field, "shop %s needs a multiplier or excluded: true", sh.number)
	case d.Multiplier != nil:
		if sh.multiplier, err = d.Multiplier.multiplier(strictyaml.Join(field, "multiplier")); err != nil {
			return sh, err
		}
	}
	if d.Remark != nil {
		if !sh.excluded {
			return sh, d.Remark.Fail(strictyaml.Join(field, "remark"), "only an excluded shop syncs a remark")
		}
		sh.remark, err = d.Remark.remark(strictyaml.Join(field, "remark"))
	}
	return sh, err
}

func promotions(docs []promotionDoc, field string) (*[]promotion, error) {
	out := []promotion{}
	seen := map[string]int{}
	for i, d := range docs {
		f := strictyaml.Index(field, i)
		pr, err := d.promotion(f)
		if err != nil {
			return nil, err
		}
		if line, dup := seen[pr.name]; dup {
			return nil, d.Name.Fail(strictyaml.Join(f, "name"), "promotion %s is already listed at line %d", pr.name, line)
		}
		seen[pr.name] = d.Name.Line
		out = append(out, pr)
	}
	return &out, nil
}

// Promotion times must lie in [earliest, latest]: a typo such as 9999
// fails at load rather than running a promotion for ever.
var (
	earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, beijing)
	latest   = time.Date(2100, 1, 1, 0, 0, 0, 0, beijing)
)

func (d *promotionDoc) promotion(field string) (pr promotion, err error) {
	for _, k := range []struct {
		v   *scalar
		key string
	}{{d.Name, "name"}, {d.Multiplier, "multiplier"}} {
		if k.v == nil {
			return pr, d.At.Fail(field, "a promotion needs %s (it has name, multiplier, start and end or weekdays or month_days or birthday_month, and optionally shops, categories and tiers)", k.key)
		}
	}
	pr.line = d.At.Line
	if pr.name, err = d.Name.name(strictyaml.Join(field, "name")); err != nil {
		return pr, err
	}
	if pr.multiplier, err = d.Multiplier.multiplier(strictyaml.Join(field, "multiplier")); err != nil {
		return pr, err
	}
	switch {
	case d.Start != nil && d.End == nil:
		return pr, d.At.Fail(field, "a promotion with a start needs end (dates are both or neither)")
	case d.Start == nil && d.End != nil:
		return pr, d.At.Fail(field, "a promotion with an end needs start (dates are both or neither)")
	case d.Start == nil && d.Weekdays == nil && d.MonthDays == nil && d.Birthday == nil:
		return pr, d.At.Fail(field, "a promotion needs a time: start and end, weekdays, month_days or birthday_month")
	}
	if d.Birthday != nil {
		if pr.birthdayMonth, err = d.Birthday.boolean(strictyaml.Join(field, "birthday_month")); err != nil {
			return pr, err
		}
		if !pr.birthdayMonth {
			return pr, d.Birthday.Fail(strictyaml.Join(field, "birthday_month"), "only true is meaningful: leave the key out for a promotion without it")
		}
	}
	if d.Start != nil {
		if err := d.dates(field, &pr); err != nil {
			return pr, err
		}
	}
	if d.Weekdays != nil {
		if pr.weekdays, err = d.Weekdays.weekdays(strictyaml.Join(field, "weekdays")); err != nil {
			return pr, err
		}
	}
	if d.MonthDays != nil {
		if pr.monthDays, err = d.MonthDays.monthDays(strictyaml.Join(field, "month_days")); err != nil {
			return pr, err
		}
	}
	if d.Shops != nil {
		if pr.shops, err = d.Shops.shopNumbers(strictyaml.Join(field, "shops")); err != nil {
			return pr, err
		}
	}
	if d.Categories != nil {
		if pr.categories, err = d.Categories.names(strictyaml.Join(field, "categories"), "category"); err != nil {
			return pr, err
		}
	}
	if d.Tiers != nil {
		pr.tiers, err = d.Tiers.names(strictyaml.Join(field, "tiers"), "tier")
	}
	return pr, err
}

// dates reads a promotion's start and end.
func (d *promotionDoc) dates(field string, pr *promotion) (err error) {
	if pr.start, _, err = d.Start.beijingTime(strictyaml.Join(field, "start")); err != nil {
		return err
	}
	end, dateOnly, err := d.End.beijingTime(strictyaml.Join(field, "end"))
	if err != nil {
		return err
	}
	if dateOnly {
		end = end.AddDate(0, 0, 1) // a date as end means through that whole day
	}
	for _, b := range []struct {
		t   time.Time
		v   *scalar
		key string
	}{{pr.start, d.Start, "start"}, {end, d.End, "end"}} {
		if b.t.Before(earliest) || b.t.After(latest) {
			return b.v.Fail(strictyaml.Join(field, b.key), "must be in the years 2000 to 2099")
		}
	}
	if !end.After(pr.start) {
		return d.End.Fail(strictyaml.Join(field, "end"), "ends (%s) before it starts (%s)", d.End.Text, d.Start.Text)
	}
	pr.end = end
	return nil
}

// categories reads a section's categories: names unique, and a shop in at
// most one category.
func categories(docs []categoryDoc, field string) (*[]category, error) {
	out := []category{}
	names := map[string]int{}
	shopAt := map[string]struct {
		line int
		cat  string
	}{}
	for i, d := range docs {
		f := strictyaml.Index(field, i)
		c, err := d.category(f)
		if err != nil {
			return nil, err
		}
		if line, dup := names[c.name]; dup {
			return nil, d.Name.Fail(strictyaml.Join(f, "name"), "category %s is already listed at line %d", c.name, line)
		}
		names[c.name] = d.Name.Line
		for _, n := range c.shops {
			if first, dup := shopAt[n]; dup {
				return nil, strictyaml.Fail(c.shopLines[n], strictyaml.Join(f, "shops"), "shop %s is in category %s (line %d) and in category %s (line %d); a shop belongs to at most one category",
					n, first.cat, first.line, c.name, c.shopLines[n])
			}
			shopAt[n] = struct {
				line int
				cat  string
			}{c.shopLines[n], c.name}
		}
		out = append(out, c)
	}
	return &out, nil
}

func (d *categoryDoc) category(field string) (c category, err error) {
	if d.Name == nil || d.Shops == nil {
		return c, d.At.Fail(field, "a category needs a name and shops (and optionally multiplier, or excluded and remark)")
	}
	c.line = d.At.Line
	if c.name, err = d.Name.name(strictyaml.Join(field, "name")); err != nil {
		return c, err
	}
	if !d.Shops.IsList || len(d.Shops.Items) == 0 {
		return c, d.Shops.Fail(strictyaml.Join(field, "shops"), "must be a list of at least one shop_number")
	}
	if c.shops, err = d.Shops.each(strictyaml.Join(field, "shops"), (*scalar).name, "shop"); err != nil {
		return c, err
	}
	c.shopLines = map[string]int{}
	for i, n := range c.shops {
		c.shopLines[n] = d.Shops.Items[i].Line
	}
	if d.Excluded != nil {
		if c.excluded, err = d.Excluded.boolean(strictyaml.Join(field, "excluded")); err != nil {
			return c, err
		}
	}
	c.multiplier = one
	switch {
	case c.excluded && d.Multiplier != nil:
		return c, d.Multiplier.Fail(strictyaml.Join(field, "multiplier"), "an excluded category earns nothing; remove the multiplier or excluded: true")
	case d.Multiplier != nil:
		if c.multiplier, err = d.Multiplier.multiplier(strictyaml.Join(field, "multiplier")); err != nil {
			return c, err
		}
	case c.excluded:
		c.multiplier = 0
	}
	if d.Remark != nil {
		if !c.excluded {
			return c, d.Remark.Fail(strictyaml.Join(field, "remark"), "only an excluded category syncs a remark")
		}
		c.remark, err = d.Remark.remark(strictyaml.Join(field, "remark"))
	}
	return c, err
}

// maxWindowMonths bounds tiers.window_months: ten years is more than any
// programme looks back.
const maxWindowMonths = 120

func (d *tiersDoc) tiers(field string) (*tiers, error) {
	t := &tiers{windowMonths: 12}
	if d.WindowMonths != nil {
		n, err := d.WindowMonths.count(strictyaml.Join(field, "window_months"))
		if err != nil {
			return nil, err
		}
		if n < 1 || n > maxWindowMonths {
			return nil, d.WindowMonths.Fail(strictyaml.Join(field, "window_months"), "must be 1 to %d months, got %d", maxWindowMonths, n)
		}
		t.windowMonths = int(n)
	}
	if d.Levels == nil || len(*d.Levels) == 0 {
		return nil, d.At.Fail(field, "tiers need levels: [{name, min_spend_fen, multiplier}…], the first at min_spend_fen 0")
	}
	names := map[string]int{}
	for i, ld := range *d.Levels {
		f := strictyaml.Index(strictyaml.Join(field, "levels"), i)
		if ld.Name == nil || ld.MinSpendFen == nil || ld.Multiplier == nil {
			return nil, ld.At.Fail(f, "a level needs name, min_spend_fen and multiplier")
		}
		var l level
		var err error
		if l.name, err = ld.Name.name(strictyaml.Join(f, "name")); err != nil {
			return nil, err
		}
		if line, dup := names[l.name]; dup {
			return nil, ld.Name.Fail(strictyaml.Join(f, "name"), "tier %s is already listed at line %d", l.name, line)
		}
		names[l.name] = ld.Name.Line
		if l.minSpend, err = ld.MinSpendFen.count(strictyaml.Join(f, "min_spend_fen")); err != nil {
			return nil, err
		}
		switch {
		case i == 0 && l.minSpend != 0:
			return nil, ld.MinSpendFen.Fail(strictyaml.Join(f, "min_spend_fen"), "the first level starts at 0, got %d", l.minSpend)
		case i > 0 && l.minSpend <= t.levels[i-1].minSpend:
			return nil, ld.MinSpendFen.Fail(strictyaml.Join(f, "min_spend_fen"), "levels go in ascending min_spend_fen: %d is not above %d", l.minSpend, t.levels[i-1].minSpend)
		}
		if l.multiplier, err = ld.Multiplier.multiplier(strictyaml.Join(f, "multiplier")); err != nil {
			return nil, err
		}
		t.levels = append(t.levels, l)
	}
	return t, nil
}

func (d *remarksDoc) remarks(field string) (r remarks, err error) {
	for _, k := range []struct {
		v   *scalar
		key string
		dst **string
	}{
		{d.Excluded, "excluded_shop", &r.excluded}, {d.BelowMinimum, "below_minimum", &r.belowMinimum},
		{d.CapReached, "daily_cap_reached", &r.capReached}, {d.NoPoints, "no_points", &r.noPoints},
		{d.MonthlyCap, "monthly_cap_reached", &r.monthlyCapReached}, {d.NoAuth, "not_authorized", &r.notAuthorized},
	} {
		if *k.dst, err = optional(k.v, strictyaml.Join(field, k.key), (*scalar).remark); err != nil {
			return r, err
		}
	}
	return r, nil
}

// The checks of single values. Each takes the path of its key, to name it.

var wholeNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// count reads a whole number that must not be negative.
func (s *scalar) count(field string) (int64, error) {
	text, err := s.Value(field)
	if err != nil {
		return 0, err
	}
	if !wholeNumber.MatchString(text) {
		return 0, s.Fail(field, "must be a whole number, got %q", text)
	}
	v, err := strconv.ParseInt(text, 10, 64)
	switch {
	case err != nil:
		return 0, s.Fail(field, "%s is too large", text)
	case v < 0:
		return 0, s.Fail(field, "must not be negative, got %d", v)
	}
	return v, nil
}

func (s *scalar) boolean(field string) (bool, error) {
	if s.Single && s.Tag == "!!bool" {
		switch s.Text {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, s.Fail(field, "must be true or false")
}

func (s *scalar) multiplier(field string) (multiplier, error) {
	text, err := s.Value(field)
	if err != nil {
		return 0, err
	}
	m, err := parseMultiplier(text)
	if err != nil {
		return 0, s.Fail(field, "%s", err)
	}
	return m, nil
}

// name reads a shop number or a promotion's name: at most 64 bytes, no
// control characters, no spaces at either end (the SDK trims notification
// strings, so such a shop number would never match).
func (s *scalar) name(field string) (string, error) {
	const maxBytes = 64
	text, err := s.Value(field)
	switch {
	case err != nil:
		return "", err
	case len(text) > maxBytes:
		return "", s.Fail(field, "must be at most %d bytes, got %d", maxBytes, len(text))
	case strings.TrimSpace(text) != text:
		return "", s.Fail(field, "%q has spaces at an end", text)
	case strings.IndexFunc(text, unicode.IsControl) >= 0:
		return "", s.Fail(field, "must not contain control characters")
	}
	return text, nil
}

// mchID reads a mall's mchid: letters and digits, at most 32 bytes, the
// length sub_mchid has in the parking and commit-status calls.
func (s *scalar) mchID(field string) (string, error) {
	text, err := s.Value(field)
	if err != nil {
		return "", err
	}
	if len(text) > 32 || !alnum(text) {
		return "", s.Fail(field, "must be 1 to 32 letters or digits, got %q", text)
	}
	return text, nil
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

func (s *scalar) brandID(field string) (int64, error) {
	text, err := s.Value(field)
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseInt(text, 10, 64)
	if err != nil || !wholeNumber.MatchString(text) || id <= 0 {
		return 0, s.Fail(field, "must be a positive whole number (品牌ID), got %q", text)
	}
	return id, nil
}

// Promotion times are Beijing wall-clock times: a date, or a date and a
// time of day. An offset or Z is refused, so that no one has to work out
// which day 2026-11-10T16:00:00Z is in Beijing.
var timeLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"}

func (s *scalar) beijingTime(field string) (t time.Time, dateOnly bool, err error) {
	text, err := s.Value(field)
	if err != nil {
		return t, false, err
	}
	if t, err := time.ParseInLocation("2006-01-02", text, beijing); err == nil {
		return t, true, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, text, beijing); err == nil {
			return t, false, nil
		}
	}
	return t, false, s.Fail(field, "%q is not a Beijing date (2026-11-11) or date and time (2026-11-11T18:00), without offset", text)
}

// remarkLimit is no_points_remarks' limit, string(128), counted in bytes of
// UTF-8 as WeChat Pay and the SDK count it: a Chinese character is three.
const remarkLimit = 128

// remark checks a no_points_remarks text the way the SDK validates the
// sync: valid UTF-8 without four-byte characters (WeChat Pay refuses
// emoji), at most 128 bytes; control characters are refused as well.
func (s *scalar) remark(field string) (string, error) {
	text, err := s.Value(field)
	if err != nil {
		return "", err
	}
	if problem := remarkProblem(text); problem != "" {
		return "", s.Fail(field, "%s", problem)
	}
	return text, nil
}

func remarkProblem(s string) string {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			return fmt.Sprintf("is not valid UTF-8 (byte %d)", i)
		case r > 0xFFFF:
			return fmt.Sprintf("U+%04X needs four bytes in UTF-8, which WeChat Pay does not accept in no_points_remarks", r)
		case unicode.IsControl(r):
			return "must not contain control characters (line breaks, tabs)"
		}
	}
	if len(s) > remarkLimit {
		return fmt.Sprintf("is %d bytes of UTF-8 (%d characters); no_points_remarks takes at most %d bytes, and a Chinese character is 3", len(s), utf8.RuneCountInString(s), remarkLimit)
	}
	return ""
}

// each reads the list l with read, refusing an item listed twice.
func (l *scalars) each(field string, read func(s *scalar, field string) (string, error), dup string) ([]string, error) {
	seen := map[string]int{}
	return strictyaml.Each(&l.List, field, func(s *scalar, field string) (string, error) {
		v, err := read(s, field)
		if line, ok := seen[v]; ok && err == nil {
			return "", s.Fail(field, "%s %s is already listed at line %d", dup, v, line)
		}
		seen[v] = s.Line
		return v, err
	})
}

// appIDs reads a mall's AppIDs, in the file's order. Every WeChat AppID
// starts with "wx" and is letters and digits; the parking sync allows at
// most 32 bytes.
func (l *scalars) appIDs(field string) ([]string, error) {
	return l.each(field, func(s *scalar, field string) (string, error) {
		text, err := s.Value(field)
		if err == nil && (!strings.HasPrefix(text, "wx") || len(text) > 32 || !alnum(text)) {
			err = s.Fail(field, "%q is not an AppID: \"wx\" then letters and digits, at most 32 bytes", text)
		}
		return text, err
	}, "AppID")
}

// shopNumbers reads the shops a promotion is limited to.
func (l *scalars) shopNumbers(field string) ([]string, error) {
	if l.IsList && len(l.Items) == 0 {
		return nil, l.Fail(field, "an empty list would limit the promotion to no shop; leave shops out for every shop")
	}
	return l.each(field, (*scalar).name, "shop")
}

// fenPerPoint reads fen_per_point: at least 1 fen, at most 1,000,000 (a
// point per 10,000 yuan).
func (s *scalar) fenPerPoint(field string) (int64, error) {
	v, err := s.count(field)
	if err == nil && (v < 1 || v > 1_000_000) {
		err = s.Fail(field, "must be 1 to 1000000 fen, got %d", v)
	}
	return v, err
}

// points reads a cap or a bonus: a count of points of at most MaxPoints.
func (s *scalar) points(field string) (int64, error) {
	v, err := s.count(field)
	if err == nil && v > MaxPoints {
		err = s.Fail(field, "must be at most %d points, got %d", MaxPoints, v)
	}
	return v, err
}

// names reads a promotion's categories or tiers.
func (l *scalars) names(field, what string) ([]string, error) {
	if l.IsList && len(l.Items) == 0 {
		return nil, l.Fail(field, "an empty list would limit the promotion to no %s; leave the key out", what)
	}
	return l.each(field, (*scalar).name, what)
}

// weekdays reads [mon…sun].
func (l *scalars) weekdays(field string) ([]time.Weekday, error) {
	if l.IsList && len(l.Items) == 0 {
		return nil, l.Fail(field, "must list at least one day (mon, tue, wed, thu, fri, sat, sun)")
	}
	names, err := l.each(field, func(s *scalar, field string) (string, error) {
		text, err := s.Value(field)
		if err == nil && !slices.Contains(weekdayKeys, text) {
			err = s.Fail(field, "%q is not a day: mon, tue, wed, thu, fri, sat or sun", text)
		}
		return text, err
	}, "day")
	var out []time.Weekday
	for _, n := range names {
		out = append(out, time.Weekday(slices.Index(weekdayKeys, n)))
	}
	return out, err
}

// monthDays reads [1…31].
func (l *scalars) monthDays(field string) ([]int, error) {
	if l.IsList && len(l.Items) == 0 {
		return nil, l.Fail(field, "must list at least one day of the month (1 to 31)")
	}
	texts, err := l.each(field, func(s *scalar, field string) (string, error) {
		n, err := s.count(field)
		if err == nil && (n < 1 || n > 31) {
			err = s.Fail(field, "must be a day of the month, 1 to 31, got %d", n)
		}
		return strconv.FormatInt(n, 10), err
	}, "day")
	var out []int
	for _, t := range texts {
		n, _ := strconv.Atoi(t)
		out = append(out, n)
	}
	return out, err
}

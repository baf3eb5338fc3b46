package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/strictyaml"
)

// Set is one loaded rules file: the default section, the malls it names and
// the version that identifies its content. A Set is immutable after Parse,
// Load or Default, so one Set may be shared by every goroutine and swapped
// whole on reload (an atomic.Pointer[Set]); the zero Set is not usable.
type Set struct {
	def     section            // the default section, every field resolved
	malls   map[string]*mall   // listed malls, by mchid, resolved over def
	unnamed *mall              // what a mall the file does not name gets
	source  map[string]section // the malls' own sections, for MarshalJSON
	version string
}

// section is one section of the file. In the default section every field is
// set; in a mall's section a nil field is inherited from the default.
type section struct {
	minAmount   *int64
	dailyCap    *int64
	shops       *[]shop
	promotions  *[]promotion
	remarks     remarks
	fenPerPoint *int64
	categories  *[]category
	perPayment  *int64 // per_payment_cap
	monthlyCap  *int64
	bonus       *int64 // first_payment_bonus
	tiers       *tiers
	expiry      *Expiry
	decide      *Decide // nil: the file's rules decide
	webhooks    *[]*Webhook
	// silenceAlert is silence_alert; 0: never.
	silenceAlert *time.Duration
	// Only in a mall's section.
	mchid     string
	mchidLine int // where the mchid is written, for duplicate errors
	brandID   int64
	appIDs    []string
}

// remarks are the four no_points_remarks texts; nil means inherited.
type remarks struct {
	excluded, belowMinimum, capReached, noPoints, monthlyCapReached, notAuthorized *string
}

type shop struct {
	number     string
	multiplier multiplier // zero when excluded
	excluded   bool
	remark     string // for an excluded shop; "" means the section's text
}

type promotion struct {
	name       string
	multiplier multiplier
	start, end time.Time // [start, end), Beijing time; zero when the promotion has no dates
	shops      []string  // nil: every shop (with categories: their union)
	weekdays   []time.Weekday
	monthDays  []int
	categories []string // their shops join shops; checked against the mall's categories
	tiers      []string // nil: every tier; checked against the mall's tier levels
	// birthdayMonth limits the promotion to payments in the member's
	// birthday month (Beijing time); a member without a birthday never
	// meets it.
	birthdayMonth bool
	line          int // of the promotion, for errors found once a mall is resolved
}

// category is a named group of shops with one multiplier or exclusion.
type category struct {
	name       string
	shops      []string
	multiplier multiplier // one when neither set nor excluded
	excluded   bool
	remark     string
	line       int
	shopLines  map[string]int // where each shop is listed, for errors
}

// tiers are the member levels by spend over the last windowMonths.
type tiers struct {
	windowMonths int
	levels       []level // ascending min_spend_fen, the first at 0
}

type level struct {
	name       string
	minSpend   int64
	multiplier multiplier
}

// mall is one mall's effective rules, ready for Evaluate.
type mall struct {
	mchid       string
	listed      bool
	brandID     int64
	appIDs      []string
	minAmount   int64
	dailyCap    int64
	shops       map[string]shop
	promotions  []promotion // in canonical order: start, end, name
	remarks     Remarks
	fenPerPoint int64
	categories  map[string]*category // by shop number
	catNames    map[string]*category // by name
	perPayment  int64
	monthlyCap  int64
	bonus       int64
	tiers       tiers
	expiry      Expiry
	decide      *Decide
	webhooks    []*Webhook
	silence     time.Duration
}

// Mall is one mall's rules in force, with the default section's settings
// filled in where the mall's own section leaves them out. It is a copy: changing
// it changes nothing in the Set.
type Mall struct {
	// MchID is the mall (商户号; sub_mchid in partner mode).
	MchID string `json:"mchid"`
	// Listed is true when the rules file has a section for this mall; an
	// unlisted mall gets the default section and no brand id or app ids.
	Listed bool `json:"listed"`
	// BrandID is the mall's brand (品牌ID) for parking sync; 0 when not set.
	BrandID int64 `json:"brand_id,omitempty"`
	// AppIDs are the mini programs bound to the brand, in the file's order:
	// the first is the mall's main AppID, for a call that must name one
	// when the member's own is not known.
	AppIDs []string `json:"app_ids,omitempty"`
	// MinAmountFen is the smallest amount, in fen, that earns points.
	MinAmountFen int64 `json:"min_amount_fen"`
	// DailyCap is the most points a member earns at this mall in one Beijing
	// day; 0 means no cap.
	DailyCap int64 `json:"daily_cap"`
	// Shops are the shops with their own multiplier or excluded, by number.
	Shops []Shop `json:"shops"`
	// Promotions are the time-boxed multipliers, by start, end and name.
	Promotions []Promotion `json:"promotions"`
	// Remarks are the no_points_remarks texts this mall syncs.
	Remarks Remarks `json:"remarks"`
	// FenPerPoint is the amount, in fen, of one base point (100: a point per yuan).
	FenPerPoint int64 `json:"fen_per_point"`
	// Categories are the mall's shop categories, by name.
	Categories []Category `json:"categories,omitempty"`
	// PerPaymentCap, MonthlyCap: the most points one payment earns, and a
	// member earns at this mall in one Beijing calendar month; 0: no cap.
	PerPaymentCap int64 `json:"per_payment_cap"`
	MonthlyCap    int64 `json:"monthly_cap"`
	// FirstPaymentBonus is added to a member's first earning payment here.
	FirstPaymentBonus int64 `json:"first_payment_bonus"`
	// TierWindowMonths and Tiers are the member levels; no Tiers: none.
	TierWindowMonths int    `json:"tier_window_months,omitempty"`
	Tiers            []Tier `json:"tiers,omitempty"`
	// Expiry is when this mall's points expire; the zero Expiry: never.
	Expiry Expiry `json:"expiry"`
	// Decide, when set, is the mall's CRM, which decides its points
	// instead of the file's rules.
	Decide *Decide `json:"decide,omitempty"`
	// Webhooks are told of the mall's events: its own section's, else the
	// default section's.
	Webhooks []*Webhook `json:"webhooks,omitempty"`
	// SilenceAlert is how long the mall may go without a notification
	// before the silence alert pages (silence_alert); 0: never.
	SilenceAlert time.Duration `json:"-"`
}

// Category is a named group of shops with one rule.
type Category struct {
	Name       string   `json:"name"`
	Shops      []string `json:"shops"`
	Multiplier string   `json:"multiplier,omitempty"`
	Excluded   bool     `json:"excluded,omitempty"`
	Remark     string   `json:"remark,omitempty"`
}

// Tier is one member level: from MinSpendFen of spend, points × Multiplier.
type Tier struct {
	Name        string `json:"name"`
	MinSpendFen int64  `json:"min_spend_fen"`
	Multiplier  string `json:"multiplier"`
}

// Shop is a shop with a rule of its own.
type Shop struct {
	Number string `json:"shop_number"`
	// Multiplier is an exact decimal such as "1.5"; empty when Excluded.
	Multiplier string `json:"multiplier,omitempty"`
	Excluded   bool   `json:"excluded,omitempty"`
	// Remark replaces Remarks.Excluded for this shop; empty when not set.
	Remark string `json:"remark,omitempty"`
}

// Promotion multiplies the points of payments made from Start (inclusive)
// until End (exclusive), optionally only in some shops.
type Promotion struct {
	Name string `json:"name"`
	// Multiplier is an exact decimal such as "2" or "1.5".
	Multiplier string    `json:"multiplier"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	// Shops limits the promotion to these shop numbers; empty means all.
	Shops []string `json:"shops,omitempty"`
	// Weekdays and MonthDays repeat the promotion (Beijing time); a zero
	// Start and End mean no date range.
	Weekdays   []string `json:"weekdays,omitempty"`
	MonthDays  []int    `json:"month_days,omitempty"`
	Categories []string `json:"categories,omitempty"`
	Tiers      []string `json:"tiers,omitempty"`
	// BirthdayMonth limits the promotion to payments made in the member's
	// birthday month, in Beijing time.
	BirthdayMonth bool `json:"birthday_month,omitempty"`
}

// Remarks are the no_points_remarks a mall syncs with earn_points=false,
// one per reason.
type Remarks struct {
	Excluded     string `json:"excluded_shop"`
	BelowMinimum string `json:"below_minimum"`
	CapReached   string `json:"daily_cap_reached"`
	NoPoints     string `json:"no_points"`
	// MonthlyCapReached is synced when the monthly cap left nothing.
	MonthlyCapReached string `json:"monthly_cap_reached"`
	// NotAuthorized is synced for a payment of a member who withdrew the
	// authorisation of the points service.
	NotAuthorized string `json:"not_authorized"`
}

// The remarks synced when the rules file sets none. Each is at most 128
// bytes of UTF-8, the limit of no_points_remarks; a test checks them with
// the SDK's own validation.
const (
	DefaultRemarkExcluded      = "本店不参与积分 (this shop does not earn points)"
	DefaultRemarkBelowMinimum  = "消费金额未达积分起点 (amount below the minimum for points)"
	DefaultRemarkCapReached    = "今日积分已达上限 (daily points cap reached)"
	DefaultRemarkNoPoints      = "消费金额不足一积分 (amount earns less than one point)"
	DefaultRemarkMonthlyCap    = "本月积分已达上限"
	DefaultRemarkNotAuthorized = "未授权商圈积分服务 (the member withdrew the points authorisation)"
)

// DefaultFenPerPoint is fen_per_point when no section sets it: a point per yuan.
const DefaultFenPerPoint = 100

// defaultSection is what an empty rules file means: one point per full
// yuan, no minimum, no cap, no shop rules, no promotions.
func defaultSection() section {
	zero := int64(0)
	return section{
		minAmount:    &zero,
		dailyCap:     &zero,
		shops:        &[]shop{},
		promotions:   &[]promotion{},
		fenPerPoint:  ptr(int64(DefaultFenPerPoint)),
		categories:   &[]category{},
		perPayment:   &zero,
		monthlyCap:   &zero,
		bonus:        &zero,
		tiers:        &tiers{},
		expiry:       &Expiry{},
		silenceAlert: ptr(DefaultSilenceAlert),
		remarks: remarks{
			excluded:          ptr(DefaultRemarkExcluded),
			belowMinimum:      ptr(DefaultRemarkBelowMinimum),
			capReached:        ptr(DefaultRemarkCapReached),
			noPoints:          ptr(DefaultRemarkNoPoints),
			monthlyCapReached: ptr(DefaultRemarkMonthlyCap),
			notAuthorized:     ptr(DefaultRemarkNotAuthorized),
		},
	}
}

func ptr[T any](v T) *T { return &v }

// Default returns the rules of a service without a rules file: one point
// per full yuan of the amount, for every mall. Its version is stable, and
// equal to that of an empty rules file.
func Default() *Set {
	s, err := build(defaultSection(), nil)
	if err != nil {
		panic("rules: the default rules do not build: " + err.Error()) // a bug, caught by the tests
	}
	return s
}

// build resolves every mall over the default section and computes the
// version.
func build(def section, malls map[string]section) (*Set, error) {
	s := &Set{def: def, malls: make(map[string]*mall, len(malls)), source: malls}
	s.unnamed = resolve("", false, def, section{})
	if err := s.unnamed.check("default"); err != nil {
		return nil, err
	}
	for id, sec := range malls {
		s.malls[id] = resolve(id, true, def, sec)
		if err := s.malls[id].check("mall " + id); err != nil {
			return nil, err
		}
	}
	v, err := s.computeVersion()
	if err != nil {
		return nil, err
	}
	s.version = v
	return s, nil
}

// resolve applies the rule that a key a mall sets replaces the default's
// value whole (lists are not merged) and a key it leaves out is inherited.
func resolve(mchid string, listed bool, def, own section) *mall {
	pick := func(own, def *string) string {
		if own != nil {
			return *own
		}
		return *def
	}
	m := &mall{
		mchid:     mchid,
		listed:    listed,
		brandID:   own.brandID,
		appIDs:    own.appIDs,
		minAmount: *cmpOr(own.minAmount, def.minAmount),
		dailyCap:  *cmpOr(own.dailyCap, def.dailyCap),
		shops:     make(map[string]shop),
		remarks: Remarks{
			Excluded:          pick(own.remarks.excluded, def.remarks.excluded),
			BelowMinimum:      pick(own.remarks.belowMinimum, def.remarks.belowMinimum),
			CapReached:        pick(own.remarks.capReached, def.remarks.capReached),
			NoPoints:          pick(own.remarks.noPoints, def.remarks.noPoints),
			MonthlyCapReached: pick(own.remarks.monthlyCapReached, def.remarks.monthlyCapReached),
			NotAuthorized:     pick(own.remarks.notAuthorized, def.remarks.notAuthorized),
		},
		fenPerPoint: *cmpOr(own.fenPerPoint, def.fenPerPoint),
		perPayment:  *cmpOr(own.perPayment, def.perPayment),
		monthlyCap:  *cmpOr(own.monthlyCap, def.monthlyCap),
		bonus:       *cmpOr(own.bonus, def.bonus),
		tiers:       *cmpOr(own.tiers, def.tiers),
		expiry:      *cmpOr(own.expiry, def.expiry),
		decide:      cmpOr(own.decide, def.decide),
		webhooks:    *cmpOr(own.webhooks, cmpOr(def.webhooks, &[]*Webhook{})),
		silence:     *cmpOr(own.silenceAlert, def.silenceAlert),
		categories:  map[string]*category{},
		catNames:    map[string]*category{},
	}
	for _, c := range *cmpOr(own.categories, def.categories) {
		c := c
		m.catNames[c.name] = &c
		for _, n := range c.shops {
			m.categories[n] = &c
		}
	}
	for _, sh := range *cmpOr(own.shops, def.shops) {
		m.shops[sh.number] = sh
	}
	m.promotions = slices.Clone(*cmpOr(own.promotions, def.promotions))
	slices.SortStableFunc(m.promotions, comparePromotions)
	return m
}

func cmpOr[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

// comparePromotions is the canonical order of promotions: by start, then
// end, then name. It also breaks ties between equal multipliers.
func comparePromotions(a, b promotion) int {
	if c := a.start.Compare(b.start); c != 0 {
		return c
	}
	if c := a.end.Compare(b.end); c != 0 {
		return c
	}
	switch {
	case a.name < b.name:
		return -1
	case a.name > b.name:
		return 1
	}
	return 0
}

// Version identifies the rules' content: "r-" and the first 12 hex digits
// of the SHA-256 of the normalised rules (see MarshalJSON). Comments,
// whitespace, key order, the order of malls, shops and promotions, and
// number spelling do not change it; any change to what the rules do does,
// and so does the order of app_ids, whose first is the main AppID.
func (s *Set) Version() string { return s.version }

// Mall returns the rules in force for the mall mchid (sub_mchid in partner
// mode). A mall the file does not name gets the default section, with
// Listed false and no brand id or app ids.
func (s *Set) Mall(mchid string) Mall {
	m := s.mall(mchid)
	out := Mall{
		MchID:             mchid,
		Listed:            m.listed,
		BrandID:           m.brandID,
		AppIDs:            slices.Clone(m.appIDs),
		MinAmountFen:      m.minAmount,
		DailyCap:          m.dailyCap,
		Shops:             []Shop{},
		Promotions:        []Promotion{},
		Remarks:           m.remarks,
		FenPerPoint:       m.fenPerPoint,
		PerPaymentCap:     m.perPayment,
		MonthlyCap:        m.monthlyCap,
		FirstPaymentBonus: m.bonus,
		TierWindowMonths:  m.tiers.windowMonths,
		Expiry:            m.expiry,
		Decide:            m.decide,
		Webhooks:          m.webhooks,
		SilenceAlert:      m.silence,
	}
	for _, c := range m.catNames {
		out.Categories = append(out.Categories, Category{Name: c.name, Shops: sorted(c.shops), Multiplier: c.multiplierText(),
			Excluded: c.excluded, Remark: c.remark})
	}
	slices.SortFunc(out.Categories, func(a, b Category) int { return strings.Compare(a.Name, b.Name) })
	for _, l := range m.tiers.levels {
		out.Tiers = append(out.Tiers, Tier{Name: l.name, MinSpendFen: l.minSpend, Multiplier: l.multiplier.String()})
	}
	for _, sh := range m.shops {
		out.Shops = append(out.Shops, Shop{Number: sh.number, Multiplier: sh.multiplier.String(), Excluded: sh.excluded, Remark: sh.remark})
	}
	slices.SortFunc(out.Shops, func(a, b Shop) int {
		switch {
		case a.Number < b.Number:
			return -1
		case a.Number > b.Number:
			return 1
		}
		return 0
	})
	for _, p := range m.promotions {
		out.Promotions = append(out.Promotions, Promotion{
			Name: p.name, Multiplier: p.multiplier.String(),
			Start: p.start, End: p.end, Shops: slices.Clone(p.shops),
			Weekdays: weekdayNames(p.weekdays), MonthDays: slices.Clone(p.monthDays),
			Categories: slices.Clone(p.categories), Tiers: slices.Clone(p.tiers), BirthdayMonth: p.birthdayMonth,
		})
	}
	return out
}

// Malls returns the malls the rules file names, sorted by mchid.
func (s *Set) Malls() []Mall {
	ids := make([]string, 0, len(s.malls))
	for id := range s.malls {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]Mall, len(ids))
	for i, id := range ids {
		out[i] = s.Mall(id)
	}
	return out
}

func (s *Set) mall(mchid string) *mall {
	if m, ok := s.malls[mchid]; ok {
		return m
	}
	return s.unnamed
}

// multiplierText is a category's multiplier as written; "" when excluded
// or when the category sets none (it then multiplies by 1).
func (c *category) multiplierText() string {
	if c.excluded || c.multiplier == one {
		return ""
	}
	return c.multiplier.String()
}

// check refuses what only a resolved mall shows: a promotion naming a
// category or a tier the mall does not have (the promotion may come from
// the default section and the categories from the mall's, or the reverse).
func (m *mall) check(where string) error {
	for _, p := range m.promotions {
		for _, c := range p.categories {
			if _, ok := m.catNames[c]; !ok {
				return strictyaml.Fail(p.line, "promotions", "promotion %s names category %s, which %s does not have", p.name, c, where)
			}
		}
		for _, t := range p.tiers {
			if !slices.ContainsFunc(m.tiers.levels, func(l level) bool { return l.name == t }) {
				return strictyaml.Fail(p.line, "promotions", "promotion %s names tier %s, which %s does not have", p.name, t, where)
			}
		}
	}
	return nil
}

var weekdayKeys = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func weekdayNames(ds []time.Weekday) []string {
	var out []string
	for _, d := range ds {
		out = append(out, weekdayKeys[d])
	}
	return out
}

var _ = fmt.Sprintf

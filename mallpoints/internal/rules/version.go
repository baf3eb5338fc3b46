package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
)

// versionDomain is hashed before the normalised rules, so that a change to
// what the same file means (a new schema) can be given new versions.
const versionDomain = "mallpoints-rules/1\n"

// The normalised rules are the rules file's own schema written as JSON
// (which is YAML): default section with every key resolved, malls sorted by
// mchid with only the keys they set, shops by number, promotions by start,
// end and name, a promotion's shops sorted, app ids in the file's order
// (the first is the mall's main AppID), multipliers as the shortest
// decimal, times as Beijing wall-clock times. Parsing them gives the same
// Set back.
type fileJSON struct {
	Default sectionJSON `json:"default"`
	Malls   []mallJSON  `json:"malls,omitempty"`
}

type mallJSON struct {
	MchID   string   `json:"mchid"`
	BrandID int64    `json:"brand_id,omitempty"`
	AppIDs  []string `json:"app_ids,omitempty"`
	sectionJSON
}

type sectionJSON struct {
	MinAmountFen *int64           `json:"min_amount_fen,omitempty"`
	DailyCap     *int64           `json:"daily_cap,omitempty"`
	Shops        *[]shopJSON      `json:"shops,omitempty"`
	Promotions   *[]promotionJSON `json:"promotions,omitempty"`
	Remarks      *remarksJSON     `json:"remarks,omitempty"`
	// The points programme's keys, written only when set (in the default
	// section: when not the built-in default), so that adding them left
	// every existing file's version as it was.
	FenPerPoint *int64          `json:"fen_per_point,omitempty"`
	Categories  *[]categoryJSON `json:"categories,omitempty"`
	PerPayment  *int64          `json:"per_payment_cap,omitempty"`
	MonthlyCap  *int64          `json:"monthly_cap,omitempty"`
	Bonus       *int64          `json:"first_payment_bonus,omitempty"`
	Tiers       *tiersJSON      `json:"tiers,omitempty"`
	Expiry      *expiryJSON     `json:"expiry,omitempty"`
	Decide      *decideJSON     `json:"decide,omitempty"`
	Webhooks    *[]webhookJSON  `json:"webhooks,omitempty"`
	// silence_alert, written only when set (in the default section: when
	// not DefaultSilenceAlert).
	SilenceAlert string `json:"silence_alert,omitempty"`
}

type categoryJSON struct {
	Name       string   `json:"name"`
	Shops      []string `json:"shops"`
	Multiplier string   `json:"multiplier,omitempty"`
	Excluded   bool     `json:"excluded,omitempty"`
	Remark     string   `json:"remark,omitempty"`
}

type tiersJSON struct {
	WindowMonths int         `json:"window_months"`
	Levels       []levelJSON `json:"levels"`
}

type levelJSON struct {
	Name        string `json:"name"`
	MinSpendFen int64  `json:"min_spend_fen"`
	Multiplier  string `json:"multiplier"`
}

type shopJSON struct {
	Number     string `json:"shop_number"`
	Multiplier string `json:"multiplier,omitempty"`
	Excluded   bool   `json:"excluded,omitempty"`
	Remark     string `json:"remark,omitempty"`
}

type promotionJSON struct {
	Name       string   `json:"name"`
	Multiplier string   `json:"multiplier"`
	Start      string   `json:"start,omitempty"`
	End        string   `json:"end,omitempty"`
	Shops      []string `json:"shops,omitempty"`
	Weekdays   []string `json:"weekdays,omitempty"`
	MonthDays  []int    `json:"month_days,omitempty"`
	Categories []string `json:"categories,omitempty"`
	Tiers      []string `json:"tiers,omitempty"`
	Birthday   bool     `json:"birthday_month,omitempty"`
}

type remarksJSON struct {
	Excluded     *string `json:"excluded_shop,omitempty"`
	BelowMinimum *string `json:"below_minimum,omitempty"`
	CapReached   *string `json:"daily_cap_reached,omitempty"`
	NoPoints     *string `json:"no_points,omitempty"`
	MonthlyCap   *string `json:"monthly_cap_reached,omitempty"`
	NoAuth       *string `json:"not_authorized,omitempty"`
}

// wallClock is how promotion times are written: Beijing time, no offset.
const wallClock = "2006-01-02T15:04:05"

func (sec section) toJSON(isDefault bool) sectionJSON {
	out := sectionJSON{MinAmountFen: sec.minAmount, DailyCap: sec.dailyCap}
	set := func(v *int64, builtIn int64) *int64 {
		if v == nil || isDefault && *v == builtIn {
			return nil
		}
		return v
	}
	out.FenPerPoint = set(sec.fenPerPoint, DefaultFenPerPoint)
	out.PerPayment, out.MonthlyCap, out.Bonus = set(sec.perPayment, 0), set(sec.monthlyCap, 0), set(sec.bonus, 0)
	if sec.categories != nil && !(isDefault && len(*sec.categories) == 0) {
		list := []categoryJSON{}
		for _, c := range *sec.categories {
			list = append(list, categoryJSON{Name: c.name, Shops: sorted(c.shops), Multiplier: c.multiplierText(), Excluded: c.excluded, Remark: c.remark})
		}
		slices.SortFunc(list, func(a, b categoryJSON) int { return strings.Compare(a.Name, b.Name) })
		out.Categories = &list
	}
	if sec.tiers != nil && !(isDefault && len(sec.tiers.levels) == 0) {
		t := tiersJSON{WindowMonths: sec.tiers.windowMonths, Levels: []levelJSON{}}
		for _, l := range sec.tiers.levels {
			t.Levels = append(t.Levels, levelJSON{Name: l.name, MinSpendFen: l.minSpend, Multiplier: l.multiplier.String()})
		}
		out.Tiers = &t
	}
	if sec.shops != nil {
		shops := make([]shopJSON, 0, len(*sec.shops))
		for _, sh := range *sec.shops {
			shops = append(shops, shopJSON{Number: sh.number, Multiplier: sh.multiplier.String(), Excluded: sh.excluded, Remark: sh.remark})
		}
		slices.SortFunc(shops, func(a, b shopJSON) int { return strings.Compare(a.Number, b.Number) })
		out.Shops = &shops
	}
	if sec.promotions != nil {
		promos := slices.Clone(*sec.promotions)
		slices.SortStableFunc(promos, comparePromotions)
		list := make([]promotionJSON, 0, len(promos))
		for _, p := range promos {
			pj := promotionJSON{
				Name: p.name, Multiplier: p.multiplier.String(), Shops: sorted(p.shops),
				Categories: sorted(p.categories), Tiers: sorted(p.tiers), Birthday: p.birthdayMonth,
			}
			if !p.start.IsZero() {
				pj.Start, pj.End = p.start.In(beijing).Format(wallClock), p.end.In(beijing).Format(wallClock)
			}
			days := slices.Clone(p.weekdays)
			slices.Sort(days)
			pj.Weekdays = weekdayNames(days)
			pj.MonthDays = slices.Clone(p.monthDays)
			slices.Sort(pj.MonthDays)
			list = append(list, pj)
		}
		out.Promotions = &list
	}
	if sec.expiry != nil && !(isDefault && sec.expiry.Policy == "") {
		out.Expiry = sec.expiry.toJSON()
	}
	out.Decide = sec.decide.toJSON()
	out.Webhooks = webhooksJSON(sec.webhooks)
	if v := sec.silenceAlert; v != nil && !(isDefault && *v == DefaultSilenceAlert) {
		out.SilenceAlert = silenceText(*v)
	}
	r := sec.remarks
	monthly := r.monthlyCapReached
	if isDefault && monthly != nil && *monthly == DefaultRemarkMonthlyCap {
		monthly = nil
	}
	noAuth := r.notAuthorized
	if isDefault && noAuth != nil && *noAuth == DefaultRemarkNotAuthorized {
		noAuth = nil
	}
	if r.excluded != nil || r.belowMinimum != nil || r.capReached != nil || r.noPoints != nil || monthly != nil || noAuth != nil {
		out.Remarks = &remarksJSON{Excluded: r.excluded, BelowMinimum: r.belowMinimum, CapReached: r.capReached, NoPoints: r.noPoints,
			MonthlyCap: monthly, NoAuth: noAuth}
	}
	return out
}

func sorted(s []string) []string {
	if s == nil {
		return nil
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// MarshalMalls is MarshalJSON with only the malls keep keeps: what an
// account confined to some malls may see of the rules.
func (s *Set) MarshalMalls(keep func(mchid string) bool) ([]byte, error) { return s.canonicalOf(keep) }

// canonical writes the normalised rules.
func (s *Set) canonical() ([]byte, error) { return s.canonicalOf(func(string) bool { return true }) }

// canonicalOf writes the normalised rules with the malls keep keeps.
func (s *Set) canonicalOf(keep func(mchid string) bool) ([]byte, error) {
	f := fileJSON{Default: s.def.toJSON(true)}
	for id, sec := range s.source {
		if !keep(id) {
			continue
		}
		f.Malls = append(f.Malls, mallJSON{MchID: id, BrandID: sec.brandID, AppIDs: sec.appIDs, sectionJSON: sec.toJSON(false)})
	}
	slices.SortFunc(f.Malls, func(a, b mallJSON) int { return strings.Compare(a.MchID, b.MchID) })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (s *Set) computeVersion() (string, error) {
	c, err := s.canonical()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append([]byte(versionDomain), c...))
	return "r-" + hex.EncodeToString(sum[:6]), nil
}

// MarshalJSON returns the normalised rules whose hash is Version: the rules
// file's schema as indented JSON, which Parse reads back to the same Set.
// It is what an API shows as "the rules in force".
func (s *Set) MarshalJSON() ([]byte, error) { return s.canonical() }

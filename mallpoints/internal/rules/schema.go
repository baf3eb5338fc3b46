package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The schema of the rules file, read from yaml nodes so that every check
// can name its line. testdata/example.yaml shows every key.

// readFile reads the top level: the default section and the malls.
func readFile(doc *yaml.Node) (*Set, error) {
	def := defaultSection()
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return build(def, nil)
	}
	top, err := fields(doc.Content[0], "", "default", "malls")
	if err != nil {
		return nil, err
	}
	if n, ok := top["default"]; ok && !isNull(n) {
		own, err := readSection(n, "default", false)
		if err != nil {
			return nil, err
		}
		def = resolveDefault(own)
	}
	malls := map[string]section{}
	if n, ok := top["malls"]; ok && !isNull(n) {
		items, err := list(n, "malls")
		if err != nil {
			return nil, err
		}
		seen := map[string]int{}
		for i, item := range items {
			field := index("malls", i)
			sec, err := readSection(item, field, true)
			if err != nil {
				return nil, err
			}
			if line, dup := seen[sec.mchid]; dup {
				return nil, &Error{Line: sec.mchidLine, Field: field + ".mchid", Problem: fmt.Sprintf("mall %s is already listed at line %d", sec.mchid, line)}
			}
			seen[sec.mchid] = sec.mchidLine
			malls[sec.mchid] = sec
		}
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
	return d
}

var (
	sectionKeys = []string{"min_amount_fen", "daily_cap", "shops", "promotions", "remarks"}
	mallKeys    = append([]string{"mchid", "brand_id", "app_ids"}, sectionKeys...)
)

// readSection reads the default section or one mall's.
func readSection(n *yaml.Node, field string, isMall bool) (section, error) {
	var sec section
	keys := sectionKeys
	if isMall {
		keys = mallKeys
	}
	f, err := fields(n, field, keys...)
	if err != nil {
		return sec, err
	}
	if v, ok := f["min_amount_fen"]; ok {
		c, err := count(v, join(field, "min_amount_fen"))
		if err != nil {
			return sec, err
		}
		sec.minAmount = &c
	}
	if v, ok := f["daily_cap"]; ok {
		c, err := count(v, join(field, "daily_cap"))
		if err != nil {
			return sec, err
		}
		sec.dailyCap = &c
	}
	if v, ok := f["shops"]; ok {
		shops, err := readShops(v, join(field, "shops"))
		if err != nil {
			return sec, err
		}
		sec.shops = &shops
	}
	if v, ok := f["promotions"]; ok {
		promos, err := readPromotions(v, join(field, "promotions"))
		if err != nil {
			return sec, err
		}
		sec.promotions = &promos
	}
	if v, ok := f["remarks"]; ok {
		if sec.remarks, err = readRemarks(v, join(field, "remarks")); err != nil {
			return sec, err
		}
	}
	if !isMall {
		return sec, nil
	}
	v, ok := f["mchid"]
	if !ok {
		return sec, fail(n, field, "a mall needs its mchid (the sub_mchid in partner mode)")
	}
	if sec.mchid, err = mchID(v, field); err != nil {
		return sec, err
	}
	sec.mchidLine = v.Line
	if v, ok := f["brand_id"]; ok {
		s, err := scalar(v, join(field, "brand_id"))
		if err != nil {
			return sec, err
		}
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || !wholeNumber.MatchString(s) || id <= 0 {
			return sec, fail(v, join(field, "brand_id"), "must be a positive whole number (品牌ID), got %q", s)
		}
		sec.brandID = id
	}
	if v, ok := f["app_ids"]; ok {
		if sec.appIDs, err = appIDs(v, join(field, "app_ids")); err != nil {
			return sec, err
		}
	}
	return sec, nil
}

// mchID reads a mall's mchid: letters and digits, at most 32 bytes, the
// length sub_mchid has in the parking and commit-status calls.
func mchID(v *yaml.Node, field string) (string, error) {
	field = join(field, "mchid")
	s, err := scalar(v, field)
	if err != nil {
		return "", err
	}
	if len(s) > 32 || !alnum(s) {
		return "", fail(v, field, "must be 1 to 32 letters or digits, got %q", s)
	}
	return s, nil
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

// appIDs reads a mall's AppIDs. Every WeChat AppID starts with "wx" and is
// letters and digits; the parking sync allows at most 32 bytes.
func appIDs(n *yaml.Node, field string) ([]string, error) {
	items, err := list(n, field)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]int{}
	for i, item := range items {
		f := index(field, i)
		s, err := scalar(item, f)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(s, "wx") || len(s) > 32 || !alnum(s) {
			return nil, fail(item, f, "%q is not an AppID: \"wx\" then letters and digits, at most 32 bytes", s)
		}
		if line, dup := seen[s]; dup {
			return nil, fail(item, f, "AppID %s is already listed at line %d", s, line)
		}
		seen[s] = item.Line
		out = append(out, s)
	}
	return out, nil
}

// text reads a name or shop number: 1 to max bytes, no control characters,
// no spaces at either end (the SDK trims notification strings, so such a
// shop number would never match).
func text(n *yaml.Node, field string, maxBytes int) (string, error) {
	s, err := scalar(n, field)
	if err != nil {
		return "", err
	}
	switch {
	case len(s) > maxBytes:
		return "", fail(n, field, "must be at most %d bytes, got %d", maxBytes, len(s))
	case strings.TrimSpace(s) != s:
		return "", fail(n, field, "%q has spaces at an end", s)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "", fail(n, field, "must not contain control characters")
	}
	return s, nil
}

func readShops(n *yaml.Node, field string) ([]shop, error) {
	items, err := list(n, field)
	if err != nil {
		return nil, err
	}
	shops := []shop{}
	seen := map[string]int{}
	for i, item := range items {
		f := index(field, i)
		kv, err := fields(item, f, "shop_number", "multiplier", "excluded", "remark")
		if err != nil {
			return nil, err
		}
		var sh shop
		num, ok := kv["shop_number"]
		if !ok {
			return nil, fail(item, f, "a shop needs its shop_number")
		}
		if sh.number, err = text(num, join(f, "shop_number"), 64); err != nil {
			return nil, err
		}
		if line, dup := seen[sh.number]; dup {
			return nil, fail(num, join(f, "shop_number"), "shop %s is already listed at line %d", sh.number, line)
		}
		seen[sh.number] = num.Line
		if v, ok := kv["excluded"]; ok {
			if sh.excluded, err = boolean(v, join(f, "excluded")); err != nil {
				return nil, err
			}
		}
		m, hasMul := kv["multiplier"]
		switch {
		case sh.excluded && hasMul:
			return nil, fail(m, join(f, "multiplier"), "an excluded shop earns nothing; remove the multiplier or excluded: true")
		case !sh.excluded && !hasMul:
			return nil, fail(item, f, "shop %s needs a multiplier or excluded: true", sh.number)
		case hasMul:
			if sh.multiplier, err = multiplierAt(m, join(f, "multiplier")); err != nil {
				return nil, err
			}
		}
		if v, ok := kv["remark"]; ok {
			if !sh.excluded {
				return nil, fail(v, join(f, "remark"), "only an excluded shop syncs a remark")
			}
			if sh.remark, err = remark(v, join(f, "remark")); err != nil {
				return nil, err
			}
		}
		shops = append(shops, sh)
	}
	return shops, nil
}

func multiplierAt(n *yaml.Node, field string) (multiplier, error) {
	s, err := scalar(n, field)
	if err != nil {
		return 0, err
	}
	m, err := parseMultiplier(s)
	if err != nil {
		return 0, fail(n, field, "%s", err)
	}
	return m, nil
}

func readPromotions(n *yaml.Node, field string) ([]promotion, error) {
	items, err := list(n, field)
	if err != nil {
		return nil, err
	}
	promos := []promotion{}
	seen := map[string]int{}
	for i, item := range items {
		f := index(field, i)
		kv, err := fields(item, f, "name", "multiplier", "start", "end", "shops")
		if err != nil {
			return nil, err
		}
		for _, k := range []string{"name", "multiplier", "start", "end"} {
			if _, ok := kv[k]; !ok {
				return nil, fail(item, f, "a promotion needs %s (it has name, multiplier, start, end and optionally shops)", k)
			}
		}
		var pr promotion
		if pr.name, err = text(kv["name"], join(f, "name"), 64); err != nil {
			return nil, err
		}
		if line, dup := seen[pr.name]; dup {
			return nil, fail(kv["name"], join(f, "name"), "promotion %s is already listed at line %d", pr.name, line)
		}
		seen[pr.name] = kv["name"].Line
		if pr.multiplier, err = multiplierAt(kv["multiplier"], join(f, "multiplier")); err != nil {
			return nil, err
		}
		if pr.start, _, err = beijingTime(kv["start"], join(f, "start")); err != nil {
			return nil, err
		}
		end, dateOnly, err := beijingTime(kv["end"], join(f, "end"))
		if err != nil {
			return nil, err
		}
		if dateOnly {
			end = end.AddDate(0, 0, 1) // a date as end means through that whole day
		}
		for _, b := range []struct {
			t   time.Time
			key string
		}{{pr.start, "start"}, {end, "end"}} {
			if b.t.Before(earliest) || b.t.After(latest) {
				return nil, fail(kv[b.key], join(f, b.key), "must be in the years 2000 to 2099")
			}
		}
		if !end.After(pr.start) {
			return nil, fail(kv["end"], join(f, "end"), "ends (%s) before it starts (%s)", kv["end"].Value, kv["start"].Value)
		}
		pr.end = end
		if v, ok := kv["shops"]; ok {
			if pr.shops, err = shopList(v, join(f, "shops")); err != nil {
				return nil, err
			}
		}
		promos = append(promos, pr)
	}
	return promos, nil
}

func shopList(n *yaml.Node, field string) ([]string, error) {
	items, err := list(n, field)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, fail(n, field, "an empty list would limit the promotion to no shop; leave shops out for every shop")
	}
	out := []string{}
	seen := map[string]int{}
	for i, item := range items {
		s, err := text(item, index(field, i), 64)
		if err != nil {
			return nil, err
		}
		if line, dup := seen[s]; dup {
			return nil, fail(item, index(field, i), "shop %s is already listed at line %d", s, line)
		}
		seen[s] = item.Line
		out = append(out, s)
	}
	return out, nil
}

// Promotion times are Beijing wall-clock times: a date, or a date and a
// time of day. An offset or Z is refused, so that no one has to work out
// which day 2026-11-10T16:00:00Z is in Beijing.
var timeLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"}

// Promotion times must lie in [earliest, latest]: a typo such as 9999
// fails at load rather than running a promotion for ever.
var (
	earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, beijing)
	latest   = time.Date(2100, 1, 1, 0, 0, 0, 0, beijing)
)

func beijingTime(n *yaml.Node, field string) (t time.Time, dateOnly bool, err error) {
	s, err := scalar(n, field)
	if err != nil {
		return t, false, err
	}
	if t, err := time.ParseInLocation("2006-01-02", s, beijing); err == nil {
		return t, true, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, beijing); err == nil {
			return t, false, nil
		}
	}
	return t, false, fail(n, field, "%q is not a Beijing date (2026-11-11) or date and time (2026-11-11T18:00), without offset", s)
}

// remarkLimit is no_points_remarks' limit, string(128), counted in bytes of
// UTF-8 as WeChat Pay and the SDK count it: a Chinese character is three.
const remarkLimit = 128

func readRemarks(n *yaml.Node, field string) (remarks, error) {
	var r remarks
	kv, err := fields(n, field, "excluded_shop", "below_minimum", "daily_cap_reached", "no_points")
	if err != nil {
		return r, err
	}
	for _, k := range []struct {
		key string
		dst **string
	}{
		{"excluded_shop", &r.excluded}, {"below_minimum", &r.belowMinimum},
		{"daily_cap_reached", &r.capReached}, {"no_points", &r.noPoints},
	} {
		if v, ok := kv[k.key]; ok {
			s, err := remark(v, join(field, k.key))
			if err != nil {
				return r, err
			}
			*k.dst = &s
		}
	}
	return r, nil
}

// remark checks a no_points_remarks text the way the SDK validates the
// sync: valid UTF-8 without four-byte characters (WeChat Pay refuses
// emoji), at most 128 bytes; control characters are refused as well.
func remark(n *yaml.Node, field string) (string, error) {
	s, err := scalar(n, field)
	if err != nil {
		return "", err
	}
	if problem := remarkProblem(s); problem != "" {
		return "", fail(n, field, "%s", problem)
	}
	return s, nil
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

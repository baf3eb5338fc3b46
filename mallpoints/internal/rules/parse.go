package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// MaxSize is the largest rules file Parse and Load accept: far above any
// real mall's rules, small enough that a wrong path (a log, a dump) fails
// fast instead of filling memory.
const MaxSize = 1 << 20

// maxNodes bounds the work a file can cause, whatever its shape.
const maxNodes = 100_000

// Error is a rules file that cannot be used: where and what.
type Error struct {
	File    string // the file as given to Load; empty from Parse
	Line    int    // 1-based; 0 when the problem is the whole file
	Field   string // the path of the key at fault, such as "malls[0].shops[1].multiplier"
	Problem string // what is wrong, in words
}

// Error returns "rules.yaml:12: malls[0].shops[1].multiplier: must be
// greater than 0, got -2", or "line 12: …" for Parse.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// Load reads the rules file at path (at most MaxSize bytes) and parses it.
// A *Error from Parse gets the file's name.
func Load(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	s, err := Parse(data)
	if e, ok := err.(*Error); ok {
		e.File = path
	}
	return s, err
}

// Parse reads a rules file (YAML; the schema is in testdata/example.yaml)
// and validates all of it. The first problem found is returned as a *Error
// naming its line and key. An empty file means Default.
//
// Decoding is strict: an unknown key, a key given twice, a value of the
// wrong kind, anchors and aliases, custom tags and a second document are
// errors, not silently ignored, so a typo never turns a rule off.
func Parse(data []byte) (*Set, error) {
	if len(data) > MaxSize {
		return nil, &Error{Problem: fmt.Sprintf("the file is larger than %d bytes", MaxSize)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return build(defaultSection(), nil)
		}
		return nil, syntaxError(err)
	}
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case err == nil:
		return nil, &Error{Line: max(second.Line, 1), Problem: "a rules file is one YAML document; remove the second one (after ---)"}
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(err)
	}
	p := &parser{}
	if err := p.check(&doc, 0); err != nil {
		return nil, err
	}
	return p.file(&doc)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns yaml's "yaml: line 3: …" into an *Error.
func syntaxError(err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{Line: line, Problem: "YAML syntax: " + m[2]}
	}
	return &Error{Problem: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
}

type parser struct {
	nodes int
}

func fail(n *yaml.Node, field, format string, args ...any) *Error {
	return &Error{Line: n.Line, Field: field, Problem: fmt.Sprintf(format, args...)}
}

// check refuses what the schema never needs and would make the walk
// unbounded or the file mean something other than it reads: aliases and
// anchors (a billion laughs), custom tags, more than maxNodes nodes.
func (p *parser) check(n *yaml.Node, depth int) error {
	p.nodes++
	switch {
	case p.nodes > maxNodes:
		return fail(n, "", "the file has more than %d YAML nodes", maxNodes)
	case depth > 20:
		return fail(n, "", "nested deeper than any rules file needs")
	case n.Kind == yaml.AliasNode || n.Anchor != "":
		return fail(n, "", "anchors and aliases (&name, *name) are not supported: write the rule out, or put it in the default section")
	case n.Tag != "" && !strings.HasPrefix(n.ShortTag(), "!!"):
		return fail(n, "", "custom YAML tag %s is not supported", n.Tag)
	}
	for _, c := range n.Content {
		if err := p.check(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// fields checks that n is a mapping whose keys are all known and unique,
// and returns the value node of each key present.
func fields(n *yaml.Node, field string, known ...string) (map[string]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fail(n, field, "must be a mapping of %s", strings.Join(known, ", "))
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	keyLine := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fail(k, field, "a key must be a plain name")
		}
		name := k.Value
		if !contains(known, name) {
			return nil, fail(k, join(field, name), "unknown key; known keys here: %s", strings.Join(known, ", "))
		}
		if line, dup := keyLine[name]; dup {
			return nil, fail(k, join(field, name), "given twice (first at line %d)", line)
		}
		keyLine[name] = k.Line
		out[name] = v
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// scalar returns the text of a scalar, as written: "001" stays "001".
func scalar(n *yaml.Node, field string) (string, error) {
	switch {
	case n.Kind != yaml.ScalarNode:
		return "", fail(n, field, "must be a single value, not a list or mapping")
	case isNull(n) || n.Value == "":
		return "", fail(n, field, "must not be empty")
	}
	return n.Value, nil
}

var wholeNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// count reads a whole number that must not be negative.
func count(n *yaml.Node, field string) (int64, error) {
	s, err := scalar(n, field)
	if err != nil {
		return 0, err
	}
	if !wholeNumber.MatchString(s) {
		return 0, fail(n, field, "must be a whole number, got %q", s)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil:
		return 0, fail(n, field, "%s is too large", s)
	case v < 0:
		return 0, fail(n, field, "must not be negative, got %d", v)
	}
	return v, nil
}

func boolean(n *yaml.Node, field string) (bool, error) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		switch n.Value {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, fail(n, field, "must be true or false")
}

// list returns the items of a sequence.
func list(n *yaml.Node, field string) ([]*yaml.Node, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, fail(n, field, "must be a list (items starting with -, or [a, b])")
	}
	return n.Content, nil
}

func index(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }

// file reads the top level: the default section and the malls.
func (p *parser) file(doc *yaml.Node) (*Set, error) {
	def := defaultSection()
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return build(def, nil)
	}
	top, err := fields(doc.Content[0], "", "default", "malls")
	if err != nil {
		return nil, err
	}
	if n, ok := top["default"]; ok && !isNull(n) {
		own, err := p.section(n, "default", false)
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
			sec, err := p.section(item, field, true)
			if err != nil {
				return nil, err
			}
			mf, _ := fields(item, field, mallKeys...)
			id, err := mchID(mf["mchid"], item, field)
			if err != nil {
				return nil, err
			}
			if line, dup := seen[id]; dup {
				return nil, fail(mf["mchid"], field+".mchid", "mall %s is already listed at line %d", id, line)
			}
			seen[id] = mf["mchid"].Line
			malls[id] = sec
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

// section reads the default section or one mall's.
func (p *parser) section(n *yaml.Node, field string, isMall bool) (section, error) {
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
		shops, err := p.shops(v, join(field, "shops"))
		if err != nil {
			return sec, err
		}
		sec.shops = &shops
	}
	if v, ok := f["promotions"]; ok {
		promos, err := p.promotions(v, join(field, "promotions"))
		if err != nil {
			return sec, err
		}
		sec.promotions = &promos
	}
	if v, ok := f["remarks"]; ok {
		if sec.remarks, err = p.remarks(v, join(field, "remarks")); err != nil {
			return sec, err
		}
	}
	if !isMall {
		return sec, nil
	}
	if _, ok := f["mchid"]; !ok {
		return sec, fail(n, field, "a mall needs its mchid (the sub_mchid in partner mode)")
	}
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
func mchID(v, mall *yaml.Node, field string) (string, error) {
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

func (p *parser) shops(n *yaml.Node, field string) ([]shop, error) {
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

func (p *parser) promotions(n *yaml.Node, field string) ([]promotion, error) {
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

func (p *parser) remarks(n *yaml.Node, field string) (remarks, error) {
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

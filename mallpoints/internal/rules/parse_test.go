package rules_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

func TestLoadExample(t *testing.T) {
	t.Parallel()
	set, err := rules.Load("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := set.Mall("1900000109")
	if !m.Listed || m.BrandID != 1001 || !reflect.DeepEqual(m.AppIDs, []string{"wx1234567890abcdef"}) {
		t.Errorf("mall 1900000109: %+v", m)
	}
	if m.MinAmountFen != 1000 || m.DailyCap != 2000 || len(m.Shops) != 4 || len(m.Promotions) != 2 {
		t.Errorf("mall 1900000109 does not inherit the default section: %+v", m)
	}
	if m.Remarks.BelowMinimum != "消费满10元可获得积分 (10 yuan or more earns points)" {
		t.Errorf("remarks: %+v", m.Remarks)
	}
	m = set.Mall("1900000110")
	if m.DailyCap != 0 || len(m.Shops) != 0 || len(m.Promotions) != 1 || m.Promotions[0].Multiplier != "1.25" || m.MinAmountFen != 1000 {
		t.Errorf("mall 1900000110 does not replace the default's keys: %+v", m)
	}
	m = set.Mall("1234")
	if m.Listed || m.MchID != "1234" || m.BrandID != 0 || m.DailyCap != 2000 || len(m.Shops) != 4 {
		t.Errorf("an unlisted mall gets the default section: %+v", m)
	}
	if got := len(set.Malls()); got != 2 {
		t.Errorf("%d malls listed, want 2", got)
	}
}

// Every check at load names the line and the key at fault.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	// A YAML syntax error names the line where the mapping, list or quoted
	// text at fault began.
	tests := []struct {
		name    string
		yaml    string
		line    int
		field   string
		problem string
	}{
		{"a YAML syntax error: an unclosed list", "default:\n  daily_cap: [1\n", 2, "", "YAML syntax: did not find expected ',' or ']'"},
		{"a YAML syntax error: a list item among keys", "default:\n  shops:\n    - {shop_number: S1, multiplier: 2}\n  daily_cap: 1\n  - x\n", 2, "", "YAML syntax: did not find expected key"},
		{"a YAML syntax error: bad indentation", "default:\n  daily_cap: 1\n    min_amount_fen: 2\n", 3, "", "YAML syntax: mapping values are not allowed"},
		{"a YAML syntax error: a tab", "default:\n\tdaily_cap: 1\n", 2, "", "YAML syntax: found character that cannot start any token"},
		{"a YAML syntax error: an unclosed quote", "default:\n  remarks:\n    no_points: \"x\n", 3, "", "YAML syntax: found unexpected end of stream"},
		{"the top level is not a mapping", "- a\n- b\n", 1, "", "must be a mapping of default, malls"},
		{"an unknown top-level key", "defaults:\n  daily_cap: 1\n", 1, "defaults", "unknown key"},
		{"an unknown key in a section", "default:\n  daily_cap: 1\n  dailycap: 2\n", 3, "default.dailycap", "unknown key; known keys here: min_amount_fen, daily_cap"},
		{"an unknown key in a shop", "default:\n  shops:\n    - shop_number: S1\n      multiplyer: 2\n", 4, "default.shops[0].multiplyer", "unknown key"},
		{"a key given twice", "default:\n  daily_cap: 1\n  daily_cap: 2\n", 3, "default.daily_cap", "given twice (first at line 2)"},
		{"a mall key in the default section", "default:\n  brand_id: 5\n", 2, "default.brand_id", "unknown key"},
		{"a negative minimum", "default:\n  min_amount_fen: -1\n", 2, "default.min_amount_fen", "must not be negative"},
		{"a minimum in yuan with decimals", "default:\n  min_amount_fen: 10.5\n", 2, "default.min_amount_fen", "must be a whole number"},
		{"a cap that is a list", "default:\n  daily_cap: [1]\n", 2, "default.daily_cap", "must be a single value"},
		{"a zero multiplier", "default:\n  shops:\n    - shop_number: S1\n      multiplier: 0\n", 4, "default.shops[0].multiplier", "must be greater than 0"},
		{"a negative multiplier", "default:\n  shops:\n    - {shop_number: S1, multiplier: -2}\n", 3, "default.shops[0].multiplier", "must be greater than 0, got -2"},
		{"a multiplier in exponent form", "default:\n  shops:\n    - {shop_number: S1, multiplier: 1e2}\n", 3, "default.shops[0].multiplier", "is not a decimal number"},
		{"a multiplier with five decimals", "default:\n  shops:\n    - {shop_number: S1, multiplier: 1.00001}\n", 3, "default.shops[0].multiplier", "more than 4 decimals"},
		{"a multiplier above 100", "default:\n  shops:\n    - {shop_number: S1, multiplier: 100.5}\n", 3, "default.shops[0].multiplier", "at most 100"},
		{"a duplicate shop", "default:\n  shops:\n    - {shop_number: S1, multiplier: 2}\n    - {shop_number: S2, multiplier: 2}\n    - {shop_number: S1, excluded: true}\n", 5, "default.shops[2].shop_number", "shop S1 is already listed at line 3"},
		{"a shop without a rule", "default:\n  shops:\n    - shop_number: S1\n", 3, "default.shops[0]", "needs a multiplier or excluded: true"},
		{"an excluded shop with a multiplier", "default:\n  shops:\n    - {shop_number: S1, excluded: true, multiplier: 2}\n", 3, "default.shops[0].multiplier", "an excluded shop earns nothing"},
		{"excluded that is not a boolean", "default:\n  shops:\n    - {shop_number: S1, excluded: yes}\n", 3, "default.shops[0].excluded", "must be true or false"},
		{"a remark on a shop that earns", "default:\n  shops:\n    - {shop_number: S1, multiplier: 2, remark: x}\n", 3, "default.shops[0].remark", "only an excluded shop"},
		{"a shop number with a trailing space", "default:\n  shops:\n    - {shop_number: \"S1 \", multiplier: 2}\n", 3, "default.shops[0].shop_number", "spaces at an end"},
		{"a shop without a number", "default:\n  shops:\n    - {multiplier: 2}\n", 3, "default.shops[0]", "needs its shop_number"},
		{"a promotion without an end", "default:\n  promotions:\n    - name: p\n      multiplier: 2\n      start: 2026-11-11\n", 3, "default.promotions[0]", "needs end"},
		{"a bad date", "default:\n  promotions:\n    - {name: p, multiplier: 2, start: 2026-11-31, end: 2026-12-01}\n", 3, "default.promotions[0].start", "is not a Beijing date"},
		{"a date with an offset", "default:\n  promotions:\n    - {name: p, multiplier: 2, start: \"2026-11-11T00:00:00Z\", end: 2026-12-01}\n", 3, "default.promotions[0].start", "without offset"},
		{"a year out of range", "default:\n  promotions:\n    - {name: p, multiplier: 2, start: 2026-11-11, end: 2100-01-01}\n", 3, "default.promotions[0].end", "years 2000 to 2099"},
		{"an end before the start", "default:\n  promotions:\n    - name: p\n      multiplier: 2\n      start: 2026-11-11\n      end: 2026-11-10\n", 6, "default.promotions[0].end", "ends (2026-11-10) before it starts (2026-11-11)"},
		{"an end equal to a timed start", "default:\n  promotions:\n    - {name: p, multiplier: 2, start: \"2026-11-11T18:00\", end: \"2026-11-11T18:00\"}\n", 3, "default.promotions[0].end", "before it starts"},
		{"a duplicate promotion name", "default:\n  promotions:\n    - {name: p, multiplier: 2, start: 2026-11-11, end: 2026-11-11}\n    - {name: p, multiplier: 3, start: 2026-12-11, end: 2026-12-11}\n", 4, "default.promotions[1].name", "promotion p is already listed at line 3"},
		{"a promotion for no shop", "default:\n  promotions:\n    - {name: p, multiplier: 2, start: 2026-11-11, end: 2026-11-11, shops: []}\n", 3, "default.promotions[0].shops", "leave shops out for every shop"},
		{"a promotion listing a shop twice", "default:\n  promotions:\n    - {name: p, multiplier: 2, start: 2026-11-11, end: 2026-11-11, shops: [S1, S1]}\n", 3, "default.promotions[0].shops[1]", "already listed"},
		{"a mall without mchid", "malls:\n  - brand_id: 5\n", 2, "malls[0]", "needs its mchid"},
		{"a duplicate mall", "malls:\n  - mchid: \"1900000109\"\n  - mchid: \"1900000110\"\n  - mchid: \"1900000109\"\n", 4, "malls[2].mchid", "mall 1900000109 is already listed at line 2"},
		{"a malformed mchid", "malls:\n  - mchid: 1900-0001\n", 2, "malls[0].mchid", "letters or digits"},
		{"a brand id of 0", "malls:\n  - mchid: \"1\"\n    brand_id: 0\n", 3, "malls[0].brand_id", "must be a positive whole number"},
		{"a negative brand id", "malls:\n  - mchid: \"1\"\n    brand_id: -5\n", 3, "malls[0].brand_id", "must be a positive whole number"},
		{"a brand id that is not a number", "malls:\n  - mchid: \"1\"\n    brand_id: abc\n", 3, "malls[0].brand_id", "must be a positive whole number"},
		{"an app id that is not an AppID", "malls:\n  - mchid: \"1\"\n    app_ids: [wx1, gh_123]\n", 3, "malls[0].app_ids[1]", "is not an AppID"},
		{"an app id longer than parking sync allows", "malls:\n  - mchid: \"1\"\n    app_ids: [wx" + strings.Repeat("a", 31) + "]\n", 3, "malls[0].app_ids[0]", "at most 32 bytes"},
		{"a duplicate app id", "malls:\n  - mchid: \"1\"\n    app_ids:\n      - wx1\n      - wx1\n", 5, "malls[0].app_ids[1]", "AppID wx1 is already listed at line 4"},
		{"app ids that are not a list", "malls:\n  - mchid: \"1\"\n    app_ids: wx1\n", 3, "malls[0].app_ids", "must be a list"},
		{"a remark over 128 bytes of UTF-8", "default:\n  remarks:\n    daily_cap_reached: " + strings.Repeat("积", 43) + "\n", 3, "default.remarks.daily_cap_reached", "is 129 bytes of UTF-8 (43 characters)"},
		{"a shop remark over 128 bytes", "default:\n  shops:\n    - shop_number: S1\n      excluded: true\n      remark: " + strings.Repeat("a", 129) + "\n", 5, "default.shops[0].remark", "at most 128 bytes"},
		{"an emoji in a remark", "default:\n  remarks:\n    no_points: \"no points 😀\"\n", 3, "default.remarks.no_points", "four bytes"},
		{"an empty remark", "default:\n  remarks:\n    no_points: \"\"\n", 3, "default.remarks.no_points", "must not be empty"},
		{"a line break in a remark", "default:\n  remarks:\n    no_points: \"a\\nb\"\n", 3, "default.remarks.no_points", "control characters"},
		{"an unknown remark", "default:\n  remarks:\n    capped: x\n", 3, "default.remarks.capped", "unknown key"},
		{"an alias", "default:\n  shops: &s\n    - {shop_number: S1, multiplier: 2}\nmalls:\n  - mchid: \"1\"\n    shops: *s\n", 2, "", "anchors and aliases"},
		{"a custom tag", "default:\n  daily_cap: !cap 5\n", 2, "", "custom YAML tag"},
		{"a second document", "default: {}\n---\nmalls: []\n", 2, "", "one YAML document"},
		{"a merge key", "default:\n  <<: {daily_cap: 5}\n", 2, "", "merge keys (<<) are not supported"},
		{"an empty value", "default:\n  daily_cap:\n  min_amount_fen: 1\n", 2, "default.daily_cap", "must not be empty"},
		{"an empty shops list in a mall", "malls:\n  - mchid: \"1\"\n    shops: ~\n", 3, "malls[0].shops", "must not be empty"},
		{"an empty list item", "malls:\n  - mchid: \"1\"\n    app_ids: [wx1, ~]\n", 3, "malls[0].app_ids[1]", "must not be empty"},
		{"an empty key", "default:\n  ~: 5\n", 2, "", "a key must be a name"},
		{"a number as a key", "default:\n  5: x\n", 2, "", "a key must be a name"},
		{"a mall that is not a mapping", "malls:\n  - x\n", 2, "malls[0]", "must be a mapping of mchid, brand_id, app_ids, min_amount_fen"},
		{"shops that are not a list", "default:\n  shops: S1\n", 2, "default.shops", "must be a list"},
		{"an unknown key in a mall", "malls:\n  - mchid: \"1\"\n    dailycap: 5\n", 3, "malls[0].dailycap", "unknown key; known keys here: mchid, brand_id, app_ids, min_amount_fen"},
		{"an unknown key known elsewhere", "default:\n  shops:\n    - {shop_number: S1, excluded: true, remark: x}\n  promotions:\n    - {name: p, multiplier: 2, start: 2026-11-11, end: 2026-11-11, remark: y}\n", 5, "default.promotions[0].remark", "unknown key; known keys here: name, multiplier, start, end, shops"},
		{"a mapping of too many keys", "default:\n  remarks:\n" + manyKeys(1001), 3, "default.remarks", "more than 1000 keys"},
		{"a key given twice in a list item", "malls:\n  - {mchid: \"1\", mchid: \"2\"}\n", 2, "malls[0].mchid", "given twice (first at line 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := rules.Parse([]byte(tt.yaml))
			var e *rules.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse: %v, want a *rules.Error", err)
			}
			if e.Line != tt.line || e.Field != tt.field || !strings.Contains(e.Problem, tt.problem) {
				t.Errorf("got line %d, field %q, problem %q\nwant line %d, field %q, problem containing %q", e.Line, e.Field, e.Problem, tt.line, tt.field, tt.problem)
			}
		})
	}
}

// manyKeys writes n distinct keys of a mapping indented under a key.
func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "    k%d: x\n", i)
	}
	return b.String()
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(bad, []byte("default:\n  daily_cap: 1\n  promos: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := rules.Load(bad)
	if want := bad + ":3: default.promos: unknown key"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Load: %v, want it to start with %q", err, want)
	}

	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", rules.MaxSize)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = rules.Load(big)
	if err == nil || !strings.HasPrefix(err.Error(), big+": ") || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load of a file over MaxSize: %v", err)
	}

	_, err = rules.Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Load of a missing file: %v, want os.ErrNotExist naming it", err)
	}
}

// An empty file, or one with only comments or an empty default section,
// means the built-in rules.
func TestEmptyFileIsDefault(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"", "# no rules yet\n", "---\n", "default:\n", "default: {}\nmalls: []\n"} {
		s := mustParse(t, src)
		if s.Version() != rules.Default().Version() {
			t.Errorf("%q: version %s, want Default's %s", src, s.Version(), rules.Default().Version())
		}
	}
}

// Numbers as YAML would read them (001 as 1, 1900000109 as an integer) are
// taken as written: shop numbers and mchids are codes, not numbers.
func TestCodesAreTakenAsWritten(t *testing.T) {
	t.Parallel()
	s := mustParse(t, "default:\n  shops: [{shop_number: 007, excluded: true}]\nmalls:\n  - mchid: 1900000109\n")
	if m := s.Mall("1900000109"); !m.Listed || m.Shops[0].Number != "007" {
		t.Errorf("%+v", m)
	}
}

// The first AppID is the mall's main one, so the file's order is kept.
func TestAppIDsKeepTheFilesOrder(t *testing.T) {
	t.Parallel()
	s := mustParse(t, "malls:\n  - {mchid: \"1\", app_ids: [wx9, wx1]}\n")
	if got := s.Mall("1").AppIDs; !reflect.DeepEqual(got, []string{"wx9", "wx1"}) {
		t.Errorf("AppIDs %v, want [wx9 wx1]", got)
	}
}

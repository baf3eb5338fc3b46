package rules_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

// The versions of the built-in rules and of the example file are pinned:
// ledger entries keep them, so a change to how rules are normalised must be
// a deliberate one (with a new versionDomain), never a side effect.
func TestVersionsArePinned(t *testing.T) {
	t.Parallel()
	if got, want := rules.Default().Version(), "r-a2168b897cac"; got != want {
		t.Errorf("Default().Version() = %s, want %s", got, want)
	}
	set, err := rules.Load("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := set.Version(), "r-ec3deba8eeef"; got != want {
		t.Errorf("example.yaml version = %s, want %s", got, want)
	}
}

const base = `
default:
  daily_cap: 500
  shops:
    - {shop_number: S01, multiplier: 2}
    - {shop_number: S02, multiplier: 1.5}
  promotions:
    - {name: a, multiplier: 2, start: 2026-11-11, end: 2026-11-11}
    - {name: b, multiplier: 3, start: 2026-12-01, end: 2026-12-02, shops: [S01, S02]}
malls:
  - mchid: "1"
    brand_id: 7
    app_ids: [wx1, wx2]
  - mchid: "2"
    min_amount_fen: 100
`

func TestVersionIgnoresHowTheRulesAreWritten(t *testing.T) {
	t.Parallel()
	want := mustParse(t, base).Version()
	for name, src := range map[string]string{
		"comments and blank lines": "# rules\n" + base + "\n# end\n",
		"key order, block style, order of malls, shops and promotions, number spelling and quoting": `
malls:
  - min_amount_fen: 100
    mchid: 2
  - app_ids:
      - wx1
      - wx2
    brand_id: 7
    mchid: "1"
default:
  promotions:
    - shops: [S02, S01]
      end: "2026-12-02"
      start: 2026-12-01T00:00
      multiplier: 3.000
      name: b
    - {end: 2026-11-12T00:00:00, start: "2026-11-11 00:00", multiplier: "2", name: a}
  shops:
    - {multiplier: "1.50", shop_number: S02}
    - {multiplier: 02, shop_number: S01}
  daily_cap: 500
  min_amount_fen: 0
`,
		"JSON": `{"default": {"daily_cap": 500, "shops": [{"shop_number": "S01", "multiplier": 2}, {"shop_number": "S02", "multiplier": 1.5}],
"promotions": [{"name": "a", "multiplier": 2, "start": "2026-11-11", "end": "2026-11-11"},
{"name": "b", "multiplier": 3, "start": "2026-12-01", "end": "2026-12-02", "shops": ["S01", "S02"]}]},
"malls": [{"mchid": "1", "brand_id": 7, "app_ids": ["wx1", "wx2"]}, {"mchid": "2", "min_amount_fen": 100}]}`,
	} {
		if got := mustParse(t, src).Version(); got != want {
			t.Errorf("%s: version %s, want %s", name, got, want)
		}
	}
}

func TestVersionChangesWithAnyRule(t *testing.T) {
	t.Parallel()
	seen := map[string]string{mustParse(t, base).Version(): "base"}
	for name, edit := range map[string][2]string{
		"a multiplier":                          {"multiplier: 1.5}", "multiplier: 1.25}"},
		"the daily cap":                         {"daily_cap: 500", "daily_cap: 501"},
		"a promotion's end":                     {"end: 2026-11-11}", "end: 2026-11-12}"},
		"a promotion's shops":                   {"shops: [S01, S02]", "shops: [S01]"},
		"a promotion's name":                    {"name: a,", "name: A,"},
		"a brand id":                            {"brand_id: 7", "brand_id: 8"},
		"an app id":                             {"[wx1, wx2]", "[wx1, wx3]"},
		"the main (first) app id":               {"[wx1, wx2]", "[wx2, wx1]"},
		"a mall's own setting":                  {"min_amount_fen: 100", "min_amount_fen: 101"},
		"a mall key set to its default's value": {"min_amount_fen: 100", "min_amount_fen: 100\n    daily_cap: 500"},
		"a shop excluded":                       {"{shop_number: S02, multiplier: 1.5}", "{shop_number: S02, excluded: true}"},
		"a remark":                              {"daily_cap: 500", "daily_cap: 500\n  remarks: {no_points: 不足一分}"},
		"a listed mall with no keys":            {"malls:\n", "malls:\n  - mchid: \"3\"\n"},
	} {
		src := bytes.Replace([]byte(base), []byte(edit[0]), []byte(edit[1]), 1)
		if bytes.Equal(src, []byte(base)) {
			t.Fatalf("%s: the edit %q does not apply", name, edit[0])
		}
		v := mustParse(t, string(src)).Version()
		if other, dup := seen[v]; dup {
			t.Errorf("changing %s gives version %s, the same as %s", name, v, other)
		}
		seen[v] = name
	}
}

// MarshalJSON is the normalised rules, in the file's own schema: parsed
// again it gives the same rules and the same version.
func TestMarshalJSONRoundTrips(t *testing.T) {
	t.Parallel()
	example, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{base, string(example), ""} {
		set := mustParse(t, src)
		j, err := set.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		again := mustParse(t, string(j))
		j2, _ := again.MarshalJSON()
		if again.Version() != set.Version() || !bytes.Equal(j, j2) {
			t.Errorf("round trip changed the rules: %s → %s\n%s\n%s", set.Version(), again.Version(), j, j2)
		}
	}
}

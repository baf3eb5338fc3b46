package rules_test

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

// FuzzParse: whatever the file, Parse returns a *Error or a Set; a Set it
// accepts reads back from its own MarshalJSON to the same version, and
// evaluates any payment to points >= 0 with a remark the API accepts.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(example), base, mallRules, "", "default: {}", "{}", "[]", "null", "---\n---\n",
		"default:\n  shops:\n    - {shop_number: S1, multiplier: 1.00005}\n",
		"default:\n  promotions:\n    - {name: p, multiplier: 2, start: 2026-11-11, end: 2026-11-10}\n",
		"malls:\n  - mchid: \"1\"\n    brand_id: 9223372036854775808\n",
		"a: &a [*a]\n", "default: !!binary aGVsbG8=\n", "default:\n  remarks: {no_points: \"\\xff\"}\n",
		"malls: [{mchid: '1', promotions: [{name: x, multiplier: 100, start: 0001-01-01, end: 9999-12-31}]}]",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := rules.Parse(data)
		if err != nil {
			var e *rules.Error
			if !errors.As(err, &e) || e.Problem == "" || e.Line < 0 {
				t.Fatalf("Parse error %#v is not a *rules.Error with a problem", err)
			}
			return
		}
		j, err := set.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		again, err := rules.Parse(j)
		if err != nil {
			t.Fatalf("the normalised rules do not parse: %v\n%s", err, j)
		}
		if again.Version() != set.Version() {
			t.Fatalf("round trip changed the version %s → %s\n%s", set.Version(), again.Version(), j)
		}
		for _, m := range append(set.Malls(), set.Mall("unlisted")) {
			for _, shop := range append([]string{"", "S1"}, shopNumbers(m)...) {
				out := set.Evaluate(rules.Payment{MchID: m.MchID, ShopNumber: shop, Amount: 12345, TimeEnd: time.Date(2026, 11, 11, 4, 0, 0, 0, time.UTC)}, 10)
				if out.Points < 0 || out.EarnPoints != (out.Points > 0) || len(out.NoPointsRemarks) > 128 || !out.EarnPoints && out.NoPointsRemarks == "" {
					t.Fatalf("mall %s shop %q: %+v", m.MchID, shop, out)
				}
			}
		}
		if !bytes.Equal(j, mustMarshal(t, again)) {
			t.Fatalf("the normalised rules are not a fixed point:\n%s", j)
		}
	})
}

func shopNumbers(m rules.Mall) []string {
	var out []string
	for _, s := range m.Shops {
		out = append(out, s.Number)
	}
	return out
}

func mustMarshal(t *testing.T, s *rules.Set) []byte {
	t.Helper()
	j, err := s.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return j
}

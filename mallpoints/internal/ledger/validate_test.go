package ledger

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzAFieldTheIntakeAcceptsIsStorableOnBothEngines: whatever a notification
// carries, a value checkString lets through is valid UTF-8 without control
// characters (no NUL for PostgreSQL) and within its limit (no index row too
// large), and a refusal names the field and a known rule.
func FuzzAFieldTheIntakeAcceptsIsStorableOnBothEngines(f *testing.F) {
	for _, s := range []string{"", "oUser", "o\x00x", "Sh\xff\xfeop", "tag\u009b", strings.Repeat("o", 129), "店铺"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		raw, _ := json.Marshal(v)
		if !utf8.ValidString(v) {
			raw = []byte(`"` + v + `"`) // as sent, before decoding replaces the bytes
		}
		r := checkString(field{"openid", v, true}, raw)
		if r == nil {
			if v == "" || !utf8.ValidString(v) || len(v) > fieldLimits["openid"] ||
				strings.ContainsFunc(v, func(c rune) bool { return c < 0x20 || (c >= 0x7f && c <= 0x9f) }) {
				t.Fatalf("%q accepted", v)
			}
			return
		}
		switch r.Rule {
		case RuleMissing, RuleTooLong, RuleControl, RuleInvalidUTF:
		default:
			t.Fatalf("%q: rule %q", v, r.Rule)
		}
		if r.Field != "openid" || v != "" && strings.Contains(r.Error(), v) {
			t.Fatalf("%q: refusal %q names the value or another field", v, r.Error())
		}
	})
}

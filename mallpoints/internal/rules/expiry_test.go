package rules_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

var cst = time.FixedZone("UTC+8", 8*3600)

func bj(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, cst) }

func TestExpiresAt(t *testing.T) {
	t.Parallel()
	start := bj(2026, 1, 1, 0, 0)
	tests := []struct {
		name   string
		expiry rules.Expiry
		earned time.Time
		want   time.Time
	}{
		{"end_of_year counts the Beijing year, not UTC's", rules.Expiry{Policy: rules.ExpiryEndOfYear, Years: 1, Start: start},
			time.Date(2026, 12, 31, 17, 0, 0, 0, time.UTC), bj(2029, 1, 1, 0, 0)}, // 2027-01-01 01:00 in Beijing
		{"end_of_year, years 1", rules.Expiry{Policy: rules.ExpiryEndOfYear, Years: 1, Start: start},
			bj(2026, 5, 19, 12, 0), bj(2028, 1, 1, 0, 0)},
		{"end_of_year, years 0: the year earned", rules.Expiry{Policy: rules.ExpiryEndOfYear, Start: start},
			bj(2026, 12, 31, 23, 59), bj(2027, 1, 1, 0, 0)},
		{"rolling: end of the same day N months later", rules.Expiry{Policy: rules.ExpiryRolling, Months: 12, Start: start},
			bj(2026, 5, 19, 23, 59), bj(2027, 5, 20, 0, 0)},
		{"rolling clamps to the month's end", rules.Expiry{Policy: rules.ExpiryRolling, Months: 1, Start: start},
			bj(2026, 1, 31, 10, 0), bj(2026, 3, 1, 0, 0)},
		{"rolling clamps to 29 February in a leap year", rules.Expiry{Policy: rules.ExpiryRolling, Months: 1, Start: start},
			bj(2028, 1, 30, 10, 0), bj(2028, 3, 1, 0, 0)},
		{"rolling across a year", rules.Expiry{Policy: rules.ExpiryRolling, Months: 2, Start: start},
			bj(2026, 12, 31, 10, 0), bj(2027, 3, 1, 0, 0)},
		{"never before start", rules.Expiry{Policy: rules.ExpiryRolling, Months: 1, Start: bj(2027, 6, 1, 0, 0)},
			bj(2026, 5, 19, 12, 0), bj(2027, 6, 1, 0, 0)},
		{"none never expires", rules.Expiry{Policy: rules.ExpiryNone}, bj(2026, 5, 19, 12, 0), time.Time{}},
		{"zero never expires", rules.Expiry{}, bj(2026, 5, 19, 12, 0), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.expiry.ExpiresAt(tt.earned); !got.Equal(tt.want) {
				t.Errorf("ExpiresAt(%v) = %v, want %v", tt.earned, got, tt.want)
			}
		})
	}
}

func TestExpiryKeys(t *testing.T) {
	t.Parallel()
	set := mustParse(t, `
default:
  expiry: {policy: end_of_year, years: 1, start: 2027-01-01}
malls:
  - mchid: "1900000109"
    expiry: {policy: rolling, months: 24, start: 2027-01-01}
  - mchid: "1900000110"
    expiry: {policy: none}
  - mchid: "1900000111"
`)
	for _, tt := range []struct {
		mchid string
		want  rules.Expiry
	}{
		{"1900000109", rules.Expiry{Policy: rules.ExpiryRolling, Months: 24, Start: bj(2027, 1, 1, 0, 0)}},
		{"1900000110", rules.Expiry{Policy: rules.ExpiryNone}},
		{"1900000111", rules.Expiry{Policy: rules.ExpiryEndOfYear, Years: 1, Start: bj(2027, 1, 1, 0, 0)}},
		{"42", rules.Expiry{Policy: rules.ExpiryEndOfYear, Years: 1, Start: bj(2027, 1, 1, 0, 0)}},
	} {
		got := set.Mall(tt.mchid).Expiry
		if got.Policy != tt.want.Policy || got.Years != tt.want.Years || got.Months != tt.want.Months || !got.Start.Equal(tt.want.Start) {
			t.Errorf("mall %s: expiry %+v, want %+v", tt.mchid, got, tt.want)
		}
	}
	if e := mustParse(t, "").Mall("1").Expiry; e.Expires() {
		t.Errorf("without expiry points expire: %+v", e)
	}
	j, err := set.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	again := mustParse(t, string(j))
	j2, _ := again.MarshalJSON()
	if again.Version() != set.Version() || !bytes.Equal(j, j2) {
		t.Errorf("round trip changed the rules:\n%s\n%s", j, j2)
	}
	if set.Version() == mustParse(t, "").Version() {
		t.Error("expiry does not change the version")
	}
}

func TestExpiryErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		line      int
		field     string
	}{
		{"start is required", "default:\n  expiry: {policy: rolling, months: 12}\n", 2, "default.expiry.start"},
		{"start is a date", "default:\n  expiry:\n    policy: end_of_year\n    years: 1\n    start: 2027-01-01T00:00\n", 5, "default.expiry.start"},
		{"policy is required", "default:\n  expiry: {years: 1, start: 2027-01-01}\n", 2, "default.expiry"},
		{"unknown policy", "default:\n  expiry:\n    policy: forever\n", 3, "default.expiry.policy"},
		{"years needed", "default:\n  expiry: {policy: end_of_year, start: 2027-01-01}\n", 2, "default.expiry.years"},
		{"years bounded", "default:\n  expiry: {policy: end_of_year, years: 11, start: 2027-01-01}\n", 2, "default.expiry.years"},
		{"months needed", "default:\n  expiry: {policy: rolling, start: 2027-01-01}\n", 2, "default.expiry.months"},
		{"months at least 1", "default:\n  expiry: {policy: rolling, months: 0, start: 2027-01-01}\n", 2, "default.expiry.months"},
		{"months belong to rolling", "default:\n  expiry: {policy: end_of_year, years: 1, months: 3, start: 2027-01-01}\n", 2, "default.expiry.months"},
		{"years belong to end_of_year", "default:\n  expiry: {policy: rolling, years: 1, months: 3, start: 2027-01-01}\n", 2, "default.expiry.years"},
		{"none takes nothing else", "malls:\n  - mchid: \"1900000109\"\n    expiry: {policy: none, start: 2027-01-01}\n", 3, "malls[0].expiry.start"},
		{"unknown key", "default:\n  expiry:\n    policy: rolling\n    month: 3\n", 4, "default.expiry.month"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rules.Parse([]byte(tt.src))
			var re *rules.Error
			if !errors.As(err, &re) || re.Line != tt.line || re.Field != tt.field {
				t.Errorf("Parse = %v, want an error at line %d naming %s", err, tt.line, tt.field)
			}
		})
	}
}

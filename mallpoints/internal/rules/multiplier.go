package rules

import (
	"fmt"
	"strconv"
	"strings"
)

// Multipliers are exact decimals with at most four digits after the point,
// kept as an integer count of ten-thousandths. Points are computed on these
// integers (see Evaluate), so 1.1 × 3 is 3.3 and never 3.2999…: a float64
// would floor some payments one point short.
const (
	multiplierScale    = 10000 // 1.0
	multiplierDigits   = 4
	maxMultiplierUnits = 100 * multiplierScale // 100×: more is a typo, not a promotion
)

// multiplier is a positive exact decimal in units of 1/10000; 0 means unset.
type multiplier int64

// one is the multiplier of a shop or a time without a rule of its own.
const one multiplier = multiplierScale

// parseMultiplier reads a decimal such as "2", "1.5" or "0.25". Exponents,
// signs other than a leading minus, and more than four decimals are refused
// rather than rounded, so the number in the file is the number applied.
func parseMultiplier(s string) (multiplier, error) {
	neg := strings.HasPrefix(s, "-")
	digits := strings.TrimPrefix(s, "-")
	whole, frac, hasPoint := strings.Cut(digits, ".")
	if whole == "" || !allDigits(whole) || (hasPoint && (frac == "" || !allDigits(frac))) {
		return 0, fmt.Errorf("%q is not a decimal number such as 2 or 1.5", s)
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > multiplierDigits {
		return 0, fmt.Errorf("%s has more than %d decimals", s, multiplierDigits)
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 3 {
		return 0, fmt.Errorf("must be at most 100, got %s", s)
	}
	w, _ := strconv.ParseInt("0"+whole, 10, 64)
	f, _ := strconv.ParseInt((frac + "0000")[:multiplierDigits], 10, 64)
	units := w*multiplierScale + f
	switch {
	case neg || units == 0:
		return 0, fmt.Errorf("must be greater than 0, got %s (exclude the shop instead)", s)
	case units > maxMultiplierUnits:
		return 0, fmt.Errorf("must be at most 100, got %s", s)
	}
	return multiplier(units), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String is the shortest decimal of m: "2", "1.5", "0.125"; "" when unset.
func (m multiplier) String() string {
	if m == 0 {
		return ""
	}
	return formatScaled(int64(m), multiplierDigits)
}

// formatScaled writes v / 10^digits as the shortest exact decimal.
func formatScaled(v int64, digits int) string {
	s := strconv.FormatInt(v, 10)
	if len(s) <= digits {
		s = strings.Repeat("0", digits-len(s)+1) + s
	}
	whole, frac := s[:len(s)-digits], strings.TrimRight(s[len(s)-digits:], "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}

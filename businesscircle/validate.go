package businesscircle

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ValidationError reports a request field that breaks one of the rules of
// the WeChat Pay documentation. Validate returns it before anything is sent,
// so a request that fails here never reaches WeChat Pay.
//
// Field is the field's JSON (or query, or path) name, such as
// "points_update_time"; Rule says what is wrong with it. Values are quoted in
// Rule only when they are not personal data (times, enums), never openids or
// plate numbers.
type ValidationError struct {
	Field string
	Rule  string
}

// Error returns "businesscircle: <field>: <rule>".
func (e *ValidationError) Error() string {
	return "businesscircle: " + e.Field + ": " + e.Rule
}

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Rule: fmt.Sprintf(format, args...)}
}

// checkText applies the rules every string field shares: valid UTF-8 of one
// to three bytes per character (WeChat Pay refuses four-byte characters such
// as emoji), and a length in bytes within [lo, hi]. A lo of 0 marks an
// optional field, where the empty string means "not sent".
//
// Lengths are counted in bytes of UTF-8, as WeChat Pay's own length errors
// do ("字节数"): for the ASCII ids and times that fill most fields bytes and
// characters are the same, while a Chinese character of no_points_remarks
// or plate_number counts three. The sandbox counts the same way.
func checkText(field, s string, lo, hi int) error {
	if s == "" {
		if lo > 0 {
			return invalid(field, "is required")
		}
		return nil
	}
	n := 0
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return invalid(field, "is not valid UTF-8 (byte %d)", i)
			}
		case r > 0xFFFF:
			return invalid(field, "character %d (U+%04X) needs four bytes in UTF-8, which WeChat Pay does not accept", n+1, r)
		}
		n++
	}
	// WeChat Pay counts lengths in bytes of UTF-8 (its messages say 字节数),
	// so a Chinese character counts three.
	if len(s) > hi {
		return invalid(field, "must be at most %d bytes of UTF-8, got %d (%d characters)", hi, len(s), n)
	}
	return nil
}

// checkTime checks a required RFC 3339 time field of at most 32 characters.
func checkTime(field, s string) error {
	if err := checkText(field, s, 1, 32); err != nil {
		return err
	}
	if _, err := ParseTime(s); err != nil {
		return invalid(field, "%q is not an RFC 3339 time", s)
	}
	return nil
}

// checkBrandID checks a required brand id (品牌ID).
func checkBrandID(id int64) error {
	if id <= 0 {
		return invalid("brandid", "is required and must be a positive brand id, got %d", id)
	}
	return nil
}

// checkPathSegment checks an openid that goes into the path: it is escaped
// there, but "." and ".." would still change the path, so they are refused.
func checkPathSegment(field, s string, maxLen int) error {
	if err := checkText(field, s, 1, maxLen); err != nil {
		return err
	}
	if s == "." || s == ".." {
		return invalid(field, "%q is not usable as a path segment", s)
	}
	return nil
}

// provinces are the one-character abbreviations of the 31 mainland
// provincial-level divisions (省份的中文简称) a plate may start with. The
// documents say only "首位需为省份的中文简称"; 港, 澳 and 台 are not included
// because cars of Hong Kong and Macau drive in the mainland on 粤Z…港 and
// 粤Z…澳 plates, and Taiwan plates are not issued for mainland roads. The
// sandbox keeps the same list, written separately, and a differential test
// holds the two to it.
const provinces = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

// checkPlateNumber applies 首位需为省份的中文简称，第二位起支持大写字母、数字、中文:
// a province abbreviation, then at least one upper-case letter, digit or
// Chinese character. The plate is personal data, so the error names the
// position, not the plate.
func checkPlateNumber(s string) error {
	const field = "plate_number"
	if err := checkText(field, s, 1, 32); err != nil {
		return err
	}
	i := 0
	for _, r := range s {
		i++
		if i == 1 {
			if !strings.ContainsRune(provinces, r) {
				return invalid(field, "character 1 must be one of the 31 mainland province abbreviations, such as 粤")
			}
			continue
		}
		if !('A' <= r && r <= 'Z' || '0' <= r && r <= '9' || unicode.Is(unicode.Han, r)) {
			return invalid(field, "character %d must be an upper-case letter, a digit or Chinese", i)
		}
	}
	if i < 2 {
		return invalid(field, "must have more than the province abbreviation")
	}
	return nil
}

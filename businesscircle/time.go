package businesscircle

import (
	"fmt"
	"strconv"
	"time"
)

// ParseTime parses a WeChat Pay time: RFC 3339 with a numeric offset or Z,
// with or without fractional seconds, such as 2020-05-20T13:29:35+08:00 or
// 2020-05-20T13:29:35.120+08:00. The rule, the same in the sandbox:
// YYYY-MM-DDTHH:MM:SS, an optional fraction of 1 to 9 digits, then Z or
// ±HH:MM (HH at most 23, MM at most 59), upper-case T and Z, and a date and
// time that exist. It is stricter than time.Parse with time.RFC3339, which
// also takes a comma before the fraction and an offset hour of 24.
// "2024-01-06 14:06:00", which WeChat Pay answers with a misleading
// PARAM_ERROR, is refused.
func ParseTime(s string) (time.Time, error) {
	if !rfc3339Shape(s) {
		return time.Time{}, fmt.Errorf("businesscircle: %q is not an RFC 3339 time", s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("businesscircle: %q is not an RFC 3339 time: %w", s, err)
	}
	return t, nil
}

// beijing is China Standard Time, UTC+8 all year (no daylight saving), the
// offset WeChat Pay writes its own times in. A fixed zone needs no tz
// database on the machine.
var beijing = time.FixedZone("CST", 8*60*60)

// FormatTime formats t the way WeChat Pay writes times, in Beijing time with
// milliseconds: 2020-05-20T13:29:35.120+08:00. Use it for
// PointsNotifyRequest.PointsUpdateTime and ParkingRequest.Time; ParseTime
// reads it back to the same instant (to the millisecond).
func FormatTime(t time.Time) string {
	return t.In(beijing).Format("2006-01-02T15:04:05.000Z07:00")
}

// rfc3339Shape checks the syntax of RFC 3339's date-time production
// (YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM), upper-case T and Z); time.Parse
// checks the calendar.
func rfc3339Shape(s string) bool {
	const stem = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(stem)+1 {
		return false
	}
	for i := 0; i < len(stem); i++ {
		if !shapeByte(stem[i], s[i]) {
			return false
		}
	}
	rest := s[len(stem):]
	if rest[0] == '.' {
		j := 1
		for j < len(rest) && isDigit(rest[j]) {
			j++
		}
		if j == 1 || j > 10 { // 1 to 9 digits: nanoseconds, as time.Time holds them
			return false
		}
		rest = rest[j:]
	}
	switch {
	case rest == "Z":
		return true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		for _, i := range []int{1, 2, 4, 5} {
			if !isDigit(rest[i]) {
				return false
			}
		}
		h, _ := strconv.Atoi(rest[1:3])
		m, _ := strconv.Atoi(rest[4:6])
		return h <= 23 && m <= 59
	}
	return false
}

func shapeByte(want, got byte) bool {
	if want == 'd' {
		return isDigit(got)
	}
	return want == got
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

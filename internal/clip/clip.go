// Package clip makes text that came from outside (an answer's body, a
// request's headers) safe to put into an error message or a log record: at
// most a given number of bytes, and no control or formatting characters that
// could move a terminal's cursor, rewrite a line or forge a log entry.
//
// The package imports only the standard library.
package clip

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text returns at most max bytes of s, cut at a character boundary and
// followed by "… (N more bytes)" when it was cut. Runs of white space (line
// breaks included) become one space; other control characters and Unicode
// format characters (bidirectional overrides included) are shown escaped,
// as \x1b or \u202e, so they are visible but inert; invalid UTF-8 becomes
// U+FFFD. The wxpay command prints the same way.
func Text(s string, max int) string {
	var b strings.Builder
	b.Grow(min(len(s), max) + 16)
	space := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if i+size > max {
			b.WriteString("… (")
			b.WriteString(strconv.Itoa(len(s) - i))
			b.WriteString(" more bytes)")
			break
		}
		i += size
		isSpace := unicode.IsSpace(r)
		switch {
		case isSpace && space:
		case isSpace:
			b.WriteByte(' ')
		case r < 0x80 && unicode.IsControl(r):
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			b.WriteString(`\u`)
			b.WriteString(hex2(byte(r >> 8)))
			b.WriteString(hex2(byte(r)))
		default:
			b.WriteRune(r) // an invalid byte decodes as, and is written as, U+FFFD
		}
		space = isSpace
	}
	return b.String()
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}

// Quote is Text in double quotes, with inner quotes escaped, for values
// whose edges matter (an empty or space-padded header, say).
func Quote(s string, max int) string {
	return `"` + strings.ReplaceAll(Text(s, max), `"`, `\"`) + `"`
}

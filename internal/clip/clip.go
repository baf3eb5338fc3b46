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
// followed by "…(N bytes)" with the original length when it was cut. Every
// control character, Unicode format character (bidirectional overrides
// included) and invalid UTF-8 byte becomes U+FFFD; runs of white space
// (line breaks included) become one space.
func Text(s string, max int) string {
	var b strings.Builder
	b.Grow(min(len(s), max) + 16)
	space := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if i+size > max {
			b.WriteString("…(")
			b.WriteString(strconv.Itoa(len(s)))
			b.WriteString(" bytes)")
			break
		}
		i += size
		switch {
		case unicode.IsSpace(r):
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			r = utf8.RuneError
		}
		space = false
		b.WriteRune(r) // an invalid byte decodes as, and is written as, U+FFFD
	}
	return b.String()
}

// Quote is Text in double quotes, with inner quotes escaped, for values
// whose edges matter (an empty or space-padded header, say).
func Quote(s string, max int) string {
	return `"` + strings.ReplaceAll(Text(s, max), `"`, `\"`) + `"`
}

package main

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxLineBytes bounds one line on stderr. Error messages carry text the
// server chose (an error body's message and detail); a line this long holds
// any real one, and a 4 MiB message cannot flood the terminal.
const maxLineBytes = 1024

// failureLine returns the one line printed when a call or check fails:
// "wxpay: " and err's message, fit for a terminal. The packages prefix their
// own errors ("wxpay: ", "notify: "), so a wrapped error repeats them; the
// line keeps only the program's.
func failureLine(err error) string {
	return "wxpay: " + terminalText(withoutPackagePrefixes(err.Error()))
}

// withoutPackagePrefixes drops the "wxpay: " and "notify: " that start msg
// or one of its ": "-separated parts.
func withoutPackagePrefixes(msg string) string {
	for _, p := range []string{"wxpay: ", "notify: "} {
		for strings.HasPrefix(msg, p) {
			msg = msg[len(p):]
		}
		for strings.Contains(msg, ": "+p) {
			msg = strings.ReplaceAll(msg, ": "+p, ": ")
		}
	}
	return msg
}

// terminalText makes s safe to print as (part of) one line on a terminal:
// line breaks and tabs become spaces; other control characters (ESC starts
// the sequences that move the cursor or retitle the window) and the Unicode
// controls that reorder text are shown escaped, as \x1b or \u202e; invalid
// UTF-8 becomes U+FFFD; and the result is cut to maxLineBytes, saying how
// much was left out.
func terminalText(s string) string {
	var b strings.Builder
	for i, r := range s {
		if b.Len() >= maxLineBytes {
			fmt.Fprintf(&b, "… (%d more bytes)", len(s)-i)
			break
		}
		switch {
		case r == '\n' || r == '\r' || r == '\t' || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		case r == utf8.RuneError:
			b.WriteRune(utf8.RuneError)
		case r < 0x80 && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// writeBody writes an answer's body to stdout as received and, unless raw,
// ends it with a line break when it has none, so that a shell prompt or the
// next line does not run into it. An empty body (a 204) prints nothing.
func writeBody(w io.Writer, body []byte, raw bool) {
	w.Write(body)
	if !raw && len(body) > 0 && body[len(body)-1] != '\n' {
		io.WriteString(w, "\n")
	}
}

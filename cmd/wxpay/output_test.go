package main

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

// checkFailureLine checks that a failed command printed one line on stderr
// that names the program once, at its start, and says what want says.
func checkFailureLine(t *testing.T, r result, want error) {
	t.Helper()
	lines := r.lines()
	if len(lines) != 1 {
		t.Fatalf("stderr has %d lines, want 1: %q", len(lines), r.stderr)
	}
	line := lines[0]
	text := withoutPackagePrefixes(want.Error())
	if !strings.HasPrefix(line, "wxpay: ") || !strings.Contains(line, text) {
		t.Errorf("stderr = %q, want \"wxpay: \" and %q", line, text)
	}
	if rest := line[len("wxpay: "):]; strings.Contains(rest, "wxpay: ") || strings.Contains(rest, "notify: ") {
		t.Errorf("stderr = %q: a package prefix is repeated inside the line", line)
	}
}

// The body of an answer is the data: stdout carries it as received, ending
// with a line break so that a terminal's next line does not run into it;
// --raw keeps the exact bytes for scripts that compare them.
func TestCallStdoutIsTheBodyEndingWithALineBreak(t *testing.T) {
	t.Parallel()
	f := writeKeyFiles(t)
	const multiline = "{ \"openid\" : \"oWmnN4xxxxxxxxxxe92NHIGf1xd8\",\n\t\"note\":\"积分 <&>\" }"
	for _, tc := range []struct {
		name   string
		status int
		body   string
		raw    bool
		want   string
	}{
		{"a line break is added", 200, multiline, false, multiline + "\n"},
		{"a final line break is not doubled", 200, "{}\n", false, "{}\n"},
		{"an empty 204 prints nothing", 204, "", false, ""},
		{"--raw prints the exact bytes", 200, multiline, true, multiline},
		{"an error body is printed the same way", 400, `{"code":"PARAM_ERROR","message":"x"}`, false, `{"code":"PARAM_ERROR","message":"x"}` + "\n"},
		{"--raw applies to an error body", 400, `{"code":"PARAM_ERROR","message":"x"}`, true, `{"code":"PARAM_ERROR","message":"x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			s.Handle("GET", "/v3/x", func(*wxtest.Request) (int, []byte) { return tc.status, []byte(tc.body) })
			args := callArgs(f.flags(s.URL), "GET", "v3/x")
			if tc.raw {
				args = append(args, "--raw")
			}
			r := wxpayCLI(t, "", nil, args...)
			if (r.code == 0) != (tc.status < 300) {
				t.Fatalf("exit %d for HTTP %d; stderr:\n%s", r.code, tc.status, r.stderr)
			}
			if r.stdout != tc.want {
				t.Errorf("stdout = %q, want %q", r.stdout, tc.want)
			}
		})
	}
}

// What the server wrote reaches stderr as one bounded line a terminal shows
// as text: escape sequences cannot retitle the window or clear the screen,
// line breaks cannot forge a second line, and a 4 MiB message cannot flood
// it. Stdout still gets the body as received.
func TestCallStderrIsOneSafeLineWhateverTheServerSends(t *testing.T) {
	t.Parallel()
	f := writeKeyFiles(t)
	huge := strings.Repeat("错", 4<<20/3)
	for _, tc := range []struct {
		name, message string
		want          string // on the line
	}{
		{"escape sequences are shown escaped", "\x1b]0;owned\x07\x1b[2Jbad", `\x1b]0;owned\x07\x1b[2Jbad`},
		{"a line break cannot forge a line", "x\nHTTP 200\r\nVerified-By: PUB_KEY_ID_1", "x HTTP 200"},
		{"text-reordering controls are shown escaped", "abc\u202edcba", `abc\u202edcba`},
		{"a C1 control is shown escaped", "a\u009bb", `a\u009bb`},
		{"a 4 MiB message is cut", huge, "more bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := `{"code":"PARAM_ERROR","message":` + jsonString(tc.message) + `}`
			s := newServer(t)
			s.Handle("GET", "/v3/x", func(*wxtest.Request) (int, []byte) { return 400, []byte(body) })
			r := wxpayCLI(t, "", nil, callArgs(f.flags(s.URL), "GET", "v3/x")...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1", r.code)
			}
			if r.stdout != body+"\n" {
				t.Errorf("stdout is not the body as received (%d bytes, want %d)", len(r.stdout), len(body)+1)
			}
			lines := r.lines()
			if len(lines) != 1 || len(lines[0]) > 2*maxLineBytes {
				t.Fatalf("stderr has %d lines of %d bytes, want one bounded line", len(lines), len(r.stderr))
			}
			if strings.ContainsFunc(r.stderr, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r < 0xa0 || r == '\u202e' }) {
				t.Errorf("stderr holds a control character: %q", r.stderr)
			}
			if !strings.Contains(lines[0], tc.want) {
				t.Errorf("stderr = %.300q, want it to contain %q", lines[0], tc.want)
			}
		})
	}
}

// jsonString encodes s as a JSON string, escaping control characters as
// JSON requires.
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func TestTerminalText(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", maxLineBytes+100)
	for _, tc := range []struct{ name, in, want string }{
		{"plain text and Chinese pass", "HTTP 400 PARAM_ERROR: 参数错误", "HTTP 400 PARAM_ERROR: 参数错误"},
		{"line breaks and tabs become spaces", "a\nb\r\nc\td\u2028e", "a b  c d e"},
		{"ESC and BEL are escaped", "\x1b[31mred\a", `\x1b[31mred\x07`},
		{"DEL is escaped", "a\x7fb", `a\x7fb`},
		{"C1 controls are escaped", "a\u0085b", `a\u0085b`},
		{"bidi controls are escaped", "\u2066x\u2069\u200f", `\u2066x\u2069\u200f`},
		{"invalid UTF-8 becomes U+FFFD", "a\xffb", "a\ufffdb"},
		{"a long line is cut, saying how much", long, strings.Repeat("a", maxLineBytes) + "… (100 more bytes)"},
	} {
		if got := terminalText(tc.in); got != tc.want {
			t.Errorf("%s: terminalText(%.40q) = %.80q, want %.80q", tc.name, tc.in, got, tc.want)
		}
	}
}

// The packages prefix their errors, and wrapping repeats the prefixes
// ("wxpay: notify: … wxpay: decryption failed"); the line names the program
// once.
func TestFailureLineNamesTheProgramOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"notify: resource of notification EV-1: wxpay: decryption failed: x", "wxpay: resource of notification EV-1: decryption failed: x"},
		{"wxpay: download platform certificates: wxpay: GET /v3/certificates: EOF", "wxpay: download platform certificates: GET /v3/certificates: EOF"},
		{"wxpay: HTTP 400 PARAM_ERROR: 参数错误", "wxpay: HTTP 400 PARAM_ERROR: 参数错误"},
		{"read: connection reset", "wxpay: read: connection reset"},
	} {
		if got := failureLine(errors.New(tc.in)); got != tc.want {
			t.Errorf("failureLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Whatever the server sends, terminalText returns valid UTF-8 without a
// control character or a text-reordering one, about maxLineBytes long at most
// (with the note of what was cut), and keeps printable text unchanged.
func FuzzTerminalText(f *testing.F) {
	for _, seed := range []string{"", "参数错误", "\x1b]0;x\a", "a\r\nb", "\u202e\u2066", "\xff\xfe", strings.Repeat("错", 400)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := terminalText(s)
		if !utf8.ValidString(out) {
			t.Fatalf("terminalText(%q) = %q: not valid UTF-8", s, out)
		}
		for _, r := range out {
			if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("terminalText(%q) = %q: holds %U", s, out, r)
			}
		}
		// One escape (\u0085, 6 bytes) may pass the limit, then the note.
		if limit := maxLineBytes + 6 + len("… (18446744073709551615 more bytes)"); len(out) > limit {
			t.Fatalf("terminalText of %d bytes is %d bytes long, limit %d", len(s), len(out), limit)
		}
		printable := !strings.ContainsFunc(s, func(r rune) bool {
			return r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
		})
		if printable && len(s) <= maxLineBytes && out != s {
			t.Fatalf("terminalText(%q) = %q, want it unchanged", s, out)
		}
	})
}

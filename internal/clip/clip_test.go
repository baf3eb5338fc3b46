package clip

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTextIsBoundedAndPrintable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in string
		max      int
		want     string
	}{
		{"short text unchanged", "参数错误 PARAM_ERROR", 64, "参数错误 PARAM_ERROR"},
		{"ESC sequence shown escaped", "a\x1b[2Jb", 64, `a\x1b[2Jb`},
		{"line breaks become one space", "a\r\n\tb", 64, "a b"},
		{"bidi override shown escaped", "x\u202Ey", 64, `x\u202ey`},
		{"C1 control shown escaped", "a\u009bb", 64, `a\u009bb`},
		{"invalid UTF-8 replaced", "a\xffb", 64, "a\uFFFDb"},
		{"cut at a character boundary", "商圈商圈", 7, "商圈… (6 more bytes)"},
		{"empty", "", 8, ""},
	}
	for _, tc := range cases {
		if got := Text(tc.in, tc.max); got != tc.want {
			t.Errorf("%s: Text(%q, %d) = %q, want %q", tc.name, tc.in, tc.max, got, tc.want)
		}
	}
	if got := Quote(`a"b`, 8); got != `"a\"b"` {
		t.Errorf("Quote = %s", got)
	}
}

func FuzzText(f *testing.F) {
	f.Add("a\x1b]0;title\x07b", 10)
	f.Add(strings.Repeat("界", 100), 31)
	f.Fuzz(func(t *testing.T, s string, max int) {
		max = max & 0xffff
		got := Text(s, max)
		if len(got) > 6*max+len("… (99999999999 more bytes)") {
			t.Fatalf("Text(%d bytes, %d) is %d bytes", len(s), max, len(got))
		}
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 %q", got)
		}
		for _, r := range got {
			if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("control character %U in %q", r, got)
			}
		}
	})
}

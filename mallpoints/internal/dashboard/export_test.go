package dashboard

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// OWASP's CSV injection advice: a cell a spreadsheet could read as a
// formula or a command (=, +, -, @, tab, carriage return, and so on,
// whatever precedes them that a spreadsheet skips) starts with an
// apostrophe; encoding/csv quotes cells with separators and quotes.
func TestACSVCellThatASpreadsheetCouldReadAsAFormulaStartsWithAnApostrophe(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
		{"4200000000000000001", "4200000000000000001"},
		{"a=b", "a=b"},
		{"redemption: gift card", "redemption: gift card"},
		{"=HYPERLINK(\"http://evil.example\")", "'=HYPERLINK(\"http://evil.example\")"},
		{"+1+1", "'+1+1"},
		{"-1+1", "'-1+1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"\n=1", "'\n=1"},
		{"\x00=1", "'\x00=1"},
		{" =1", "' =1"},
		{"  +1", "'  +1"},
		{"\u00a0=1", "'\u00a0=1"},
		{"\u3000=1", "'\u3000=1"},
		{"\u2003@x", "'\u2003@x"},
		{"\u200b=1", "'\u200b=1"},
		{"\u200d=1", "'\u200d=1"},
		{"\u2060=1", "'\u2060=1"},
		{"\ufeff=1", "'\ufeff=1"},
		{"\ufeffabc", "'\ufeffabc"},
		{"\uff1d1+1", "'\uff1d1+1"},
		{"\uff0b1", "'\uff0b1"},
		{"\uff0d1", "'\uff0d1"},
		{"\uff20SUM(A1)", "'\uff20SUM(A1)"},
		{"|calc", "'|calc"},
		{";calc", "';calc"},
		{"%0A=1", "%0A=1"},
		{" leading space only", "' leading space only"},
	} {
		if got := text(c.in); got != c.want {
			t.Errorf("text(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzExportText: after text, no cell starts with a character a
// spreadsheet could take as the start of a formula or skip before one,
// the cell reads back through encoding/csv unchanged, and only an
// apostrophe is ever added.
func FuzzExportText(f *testing.F) {
	for _, s := range []string{"", "abc", "=1", " =1", "\u00a0=1", "\uff1d1", "\u200b=1", "\ufeff=1", "|x", ";x", "a,b", "a\"b", "\n", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := text(s)
		if got != s && got != "'"+s {
			t.Fatalf("text(%q) = %q: changed more than a leading apostrophe", s, got)
		}
		if r, _ := utf8.DecodeRuneInString(got); got != "" && r != '\'' && (strings.ContainsRune("=+-@\t\r\n\x00|;\uff1d\uff0b\uff0d\uff20", r) ||
			unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
			t.Fatalf("text(%q) = %q starts with %U", s, got, r)
		}
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.Write([]string{got, "x"})
		w.Flush()
		rec, err := csv.NewReader(&b).Read()
		if err != nil || len(rec) != 2 || strings.ReplaceAll(rec[0], "\r\n", "\n") != strings.ReplaceAll(got, "\r\n", "\n") {
			// encoding/csv writes \r\n inside quoted cells as it reads it back: as \n.
			if !strings.ContainsRune(got, '\r') {
				t.Fatalf("cell %q does not read back: %q, %v", got, rec, err)
			}
		}
	})
}

package credentials_test

import (
	"os"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/seed2ac2593f/wxpay/credentials"
)

// An APIv3 key file is read as the key between white space. Whatever it
// holds, the outcome depends only on its shape (which bytes are white space,
// how many others), so an error can never quote the key.
func FuzzAPIv3KeyFileOutcomeDependsOnlyOnItsShape(f *testing.F) {
	f.Add("0123456789abcdef0123456789abcdef\n")
	f.Add("  0123456789abcdef0123456789abcdef\r\n")
	f.Add("0123456789abcdef0123456789abcde")
	f.Add("\u00a0key\u2028")
	f.Add("\xff\xfe")
	f.Add("")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content string) {
		load := func(c string) (string, string) {
			file, err := os.CreateTemp(dir, "key")
			if err != nil {
				t.Fatal(err)
			}
			defer os.Remove(file.Name())
			if _, err := file.WriteString(c); err != nil {
				t.Fatal(err)
			}
			file.Close()
			src := credentials.Sources{APIv3KeyFile: credentials.Source{Value: file.Name(), From: "KEY_FILE"},
				APIv3Key: credentials.Source{From: "KEY"}}
			creds, err := src.Load(credentials.APIv3Key)
			if err != nil {
				return "", err.Error()
			}
			return creds.APIv3Key, ""
		}
		key, msg := load(content)
		if msg == "" && key != strings.TrimSpace(content) {
			t.Fatalf("key %q from a file holding %q", key, content)
		}
		_, shapeMsg := load(shape(content))
		if msg != shapeMsg {
			t.Fatalf("the outcome depends on the content, not only its shape:\n%q\n%q", msg, shapeMsg)
		}
	})
}

// shape replaces every byte of s but white space with 'x'.
func shape(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r != utf8.RuneError && unicode.IsSpace(r) {
			b.WriteString(s[:n])
		} else {
			b.WriteString(strings.Repeat("x", n))
		}
		s = s[n:]
	}
	return b.String()
}

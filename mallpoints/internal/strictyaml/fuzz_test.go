package strictyaml_test

import (
	"errors"
	"io"
	"reflect"
	"regexp"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/strictyaml"
)

// FuzzDecode: whatever the file, Decode returns nil, io.EOF or an *Error
// with a problem and a line within the file, never panics, and decodes the
// same file the same way twice; every value it keeps has a line within the
// file.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		"", "# c\n", "---\n", "---\n---\n", "null", "[]", "{}",
		"name: 007\ntags: [a, b]\nitems:\n  - {id: 1, note: x}\n  - id: 2\n    sub: {deep: [c]}\n",
		"tags: [a,\n  b\n", "name: a: b\n", "name: a\n\tname: b\n", "items:\n  - id: \"1\n",
		"name: &n a\nx: *n\n", "a: &a [*a]\n", "name: !secret a\n", "items:\n  - <<: {id: 1}\n", "? [a]\n: b\n",
		"items:\n  - id: 1\n    id: 2\n", "items: 5\n", "items:\n  - x\n", "items:\n  - sub:\n      deep: [[a]]\n",
		"name:\n", "tags: [a, ~]\n", "\r\r0", "name: a\u2028tags: [\u2028", "\xff\n", "\ufeffname: a\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := 1 + len(yamlBreak.FindAllIndex(data, -1))
		var doc testDoc
		err := testFile.Decode(data, &doc)
		var again testDoc
		if err2 := testFile.Decode(data, &again); !reflect.DeepEqual(err, err2) || !reflect.DeepEqual(doc, again) {
			t.Fatalf("decoded twice, differently: %v and %v", err, err2)
		}
		switch e, ok := errors.AsType[*strictyaml.Error](err); {
		case err == nil:
			for _, s := range scalars(&doc) {
				if s.Line < 1 || s.Line > lines {
					t.Fatalf("a value at line %d of a file of %d lines: %+v", s.Line, lines, s)
				}
			}
		case errors.Is(err, io.EOF):
		case !ok:
			t.Fatalf("not an *Error: %T %v", err, err)
		case e.Problem == "" || e.Line < 0 || e.Line > lines+1:
			t.Fatalf("line %d of a file of %d lines, problem %q", e.Line, lines, e.Problem)
		}
	})
}

// yamlBreak is what yaml counts as a line break.
var yamlBreak = regexp.MustCompile(`\r\n|[\r\n\x{85}\x{2028}\x{2029}]`)

// scalars lists every value of doc.
func scalars(doc *testDoc) []strictyaml.Scalar {
	var out []strictyaml.Scalar
	add := func(s *strictyaml.Scalar) {
		if s != nil {
			out = append(out, *s)
		}
	}
	addList := func(l *list) {
		if l != nil {
			out = append(out, l.Items...)
		}
	}
	add(doc.Name)
	addList(doc.Tags)
	if doc.Items != nil {
		for _, it := range *doc.Items {
			add(it.ID)
			add(it.Note)
			if it.Sub != nil {
				addList(it.Sub.Deep)
			}
		}
	}
	return out
}

package strictyaml_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/strictyaml"
)

// A file of the tests' own kind: a name, tags, and items that each have an
// id and an optional sub-mapping.
type (
	testDoc struct {
		Name  *strictyaml.Scalar `yaml:"name"`
		Tags  *list              `yaml:"tags"`
		Items *[]itemDoc         `yaml:"items"`
	}
	itemDoc struct {
		At     strictyaml.At      `yaml:",inline"`
		ID     *strictyaml.Scalar `yaml:"id"`
		subDoc `yaml:",inline"`
	}
	subDoc struct {
		Note *strictyaml.Scalar `yaml:"note"`
		Sub  *deepDoc           `yaml:"sub"`
	}
	deepDoc struct {
		Deep *list `yaml:"deep"`
	}
	list = strictyaml.List[strictyaml.Scalar, *strictyaml.Scalar]
)

var testFile = strictyaml.File{
	Name: "test file", Root: testDoc{}, MaxSize: 1 << 20, MaxDepth: 6, KeyExample: "name", AnchorHint: "write the item out",
	Known:   func(_, keys string) string { return "known keys here: " + keys },
	Mapping: func(_, keys string) string { return "a mapping of " + keys },
}

// Every refusal names the line (where the file has one), the key's path
// (where there is a key) and the problem, in the words of the file's kind.
func TestDecodeRefusesWithLineKeyAndProblem(t *testing.T) {
	t.Parallel()
	small := testFile
	small.MaxSize = 16
	for _, tt := range []struct {
		name    string
		file    *strictyaml.File
		yaml    string
		line    int
		field   string
		problem string
	}{
		{"a file over MaxSize", &small, "name: " + strings.Repeat("x", 11), 0, "", "the file is larger than 16 bytes"},
		{"a second document", nil, "name: a\n---\nname: b\n", 2, "", "a test file is one YAML document; remove the second one (after ---)"},
		{"an unclosed list: where the list began", nil, "name: a\ntags: [a,\n  b\n\nitems: []\n", 2, "", "YAML syntax: did not find expected ',' or ']'"},
		{"an unclosed list at the end of the file: where it began, not the end", nil, "tags: [a,\n  b\n", 1, "", "YAML syntax: did not find expected ',' or ']'"},
		{"an unclosed mapping on the first line", nil, "{name: a\n", 1, "", "YAML syntax: did not find expected ',' or '}'"},
		{"a key among list items: where the list began", nil, "name: a\nitems:\n  - {id: 1}\n  name: b\n  - x\n", 3, "", "YAML syntax: did not find expected '-' indicator"},
		{"a tab: the scanner's line", nil, "name: a\nitems:\n\tid: 1\n", 3, "", "YAML syntax: found character that cannot start any token"},
		{"a tag without its URI: the scanner's line", nil, "name: a\nitems:\n  - id: !<>\n", 3, "", "YAML syntax: did not find expected tag URI"},
		{"an unclosed quote", nil, "name: a\nitems:\n  - id: \"1\n", 3, "", "YAML syntax: found unexpected end of stream"},
		{"a syntax error yaml gives no line", nil, "name: a: b\n", 0, "", "YAML syntax: mapping values are not allowed in this context"},
		{"more nodes than any file needs", nil, "tags: [" + strings.Repeat("a, ", 100_000) + "]\n", 1, "", "the file has more than 100000 YAML nodes"},
		{"a mapping of too many keys", nil, "items:\n  - id: 1\n" + keys(1001), 2, "items[0]", "has more than 1000 keys; no test file needs that many"},
		{"nested deeper than MaxDepth", nil, "items:\n  - sub:\n      deep: [[a]]\n", 3, "", "nested deeper than any test file needs"},
		{"an anchor", nil, "name: &n a\n", 1, "", "anchors and aliases (&name, *name) are not supported: write the item out"},
		{"an alias", nil, "items:\n  - &i {id: 1}\n  - *i\n", 2, "", "anchors and aliases (&name, *name) are not supported: write the item out"},
		{"an anchor on a key", nil, "&k name: a\n", 1, "", "anchors and aliases (&name, *name) are not supported: write the item out"},
		{"a custom tag", nil, "name: !secret a\n", 1, "", "custom YAML tag !secret is not supported"},
		{"a custom tag on a key", nil, "!k name: a\n", 1, "", "custom YAML tag !k is not supported"},
		{"a merge key", nil, "items:\n  - <<: {id: 1}\n", 2, "", "merge keys (<<) are not supported: write the keys out"},
		{"a number as a key", nil, "items:\n  - 5: a\n", 2, "", "a key must be a name such as name, not a number, list or other value"},
		{"a list as a key", nil, "? [a]\n: b\n", 1, "", "a key must be a name such as name, not a number, list or other value"},
		{"an empty key", nil, "~: a\n", 1, "", "a key must be a name such as name, not a number, list or other value"},
		{"an empty value below the top level", nil, "items:\n  - id: 1\n    note:\n", 3, "items[0].note", "must not be empty"},
		{"an empty list item", nil, "tags: [a, ~]\n", 1, "tags[1]", "must not be empty"},
		{"an unknown key at the top", nil, "nam: a\n", 1, "nam", "unknown key; known keys here: name, tags, items"},
		{"an unknown key of an item, with its inlined keys", nil, "items:\n  - id: 1\n    notes: a\n", 3, "items[0].notes", "unknown key; known keys here: id, note, sub"},
		{"a key given twice", nil, "items:\n  - id: 1\n    id: 2\n", 3, "items[0].id", "given twice (first at line 2)"},
		{"a key given twice in a flow mapping", nil, "items:\n  - {id: 1, id: 2}\n", 2, "items[0].id", "given twice (first at line 2)"},
		{"a value where a list belongs", nil, "items: 5\n", 1, "items", strictyaml.MustBeList},
		{"a list where a mapping belongs", nil, "items:\n  - x\n", 2, "items[0]", "must be a mapping of id, note, sub"},
		{"a list as the whole file", nil, "- a\n", 1, "", "must be a mapping of name, tags, items"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &testFile
			if tt.file != nil {
				f = tt.file
			}
			var doc testDoc
			err := f.Decode([]byte(tt.yaml), &doc)
			e, ok := errors.AsType[*strictyaml.Error](err)
			if !ok {
				t.Fatalf("Decode: %v, want a *strictyaml.Error", err)
			}
			if e.Line != tt.line || e.Field != tt.field || e.Problem != tt.problem {
				t.Errorf("got line %d, field %q, problem %q\nwant line %d, field %q, problem %q", e.Line, e.Field, e.Problem, tt.line, tt.field, tt.problem)
			}
		})
	}
}

// keys writes n distinct keys of the mapping of a list item.
func keys(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "    k%d: x\n", i)
	}
	return b.String()
}

// A file that holds no document is io.EOF, for the caller to give its
// meaning (the rules file's default, the merchants file's error); a
// document of nothing is not.
func TestDecodeOfNoDocumentIsEOF(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"", "# nothing yet\n", "\n\n"} {
		if err := testFile.Decode([]byte(src), &testDoc{}); !errors.Is(err, io.EOF) {
			t.Errorf("%q: %v, want io.EOF", src, err)
		}
	}
	for _, src := range []string{"---\n", "{}\n", "name:\n", "items: []\n"} {
		if err := testFile.Decode([]byte(src), &testDoc{}); err != nil {
			t.Errorf("%q: %v, want nil", src, err)
		}
	}
}

// Values are kept as written, with their lines: a code stays text, a list
// where a value belongs is kept for the caller's check to refuse, and a
// list item's mapping records its line.
func TestDecodeKeepsValuesAsWrittenWithTheirLines(t *testing.T) {
	t.Parallel()
	var doc testDoc
	src := "name: 007\ntags:\n  - a\n  - true\nitems:\n  - id: [1, 2]\n  - {id: \"\"}\n"
	if err := testFile.Decode([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	if want := (strictyaml.Scalar{Text: "007", Tag: "!!int", Line: 1, Single: true}); *doc.Name != want {
		t.Errorf("name: %+v, want %+v", *doc.Name, want)
	}
	want := list{Line: 3, IsList: true, Items: []strictyaml.Scalar{
		{Text: "a", Tag: "!!str", Line: 3, Single: true}, {Text: "true", Tag: "!!bool", Line: 4, Single: true},
	}}
	if !reflect.DeepEqual(*doc.Tags, want) {
		t.Errorf("tags: %+v, want %+v", *doc.Tags, want)
	}
	items := *doc.Items
	if len(items) != 2 || items[0].At.Line != 6 || items[1].At.Line != 7 {
		t.Fatalf("items: %+v, want two, at lines 6 and 7", items)
	}
	for _, tt := range []struct {
		s       *strictyaml.Scalar
		problem string
	}{
		{items[0].ID, "line 6: items[0].id: must be a single value, not a list or mapping"},
		{items[1].ID, "line 7: items[1].id: must not be empty"},
	} {
		field := strictyaml.Join(strictyaml.Index("items", tt.s.Line-6), "id")
		if _, err := tt.s.Value(field); err == nil || err.Error() != tt.problem {
			t.Errorf("Value: %v, want %q", err, tt.problem)
		}
	}
	if got, err := doc.Tags.Items[0].Value("tags[0]"); got != "a" || err != nil {
		t.Errorf("Value of tags[0]: %q, %v", got, err)
	}
}

// A value or a mapping where a list belongs is kept too, for the caller to
// refuse with the list's line.
func TestAListThatIsNotOneKeepsItsLine(t *testing.T) {
	t.Parallel()
	var doc testDoc
	if err := testFile.Decode([]byte("name: a\ntags: {a: 1}\n"), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tags.IsList || doc.Tags.Items != nil || doc.Tags.Line != 2 {
		t.Fatalf("tags: %+v", doc.Tags)
	}
	if err := doc.Tags.Fail("tags", strictyaml.MustBeList); err.Error() != "line 2: tags: "+strictyaml.MustBeList {
		t.Errorf("Fail: %v", err)
	}
}

// Each reads a list's items in order, each named by its path, and stops
// at the first problem; a value where the list belongs is refused.
func TestEachReadsTheItemsWithTheirPaths(t *testing.T) {
	t.Parallel()
	var doc testDoc
	if err := testFile.Decode([]byte("tags: [a, bb, [c], d]\nitems:\n  - sub: {deep: x}\n"), &doc); err != nil {
		t.Fatal(err)
	}
	var fields []string
	got, err := strictyaml.Each(doc.Tags, "tags", func(s *strictyaml.Scalar, field string) (int, error) {
		fields = append(fields, field)
		v, err := s.Value(field)
		return len(v), err
	})
	if want := "line 1: tags[2]: must be a single value, not a list or mapping"; err == nil || err.Error() != want {
		t.Errorf("Each: %v, want %q", err, want)
	}
	if want := []string{"tags[0]", "tags[1]", "tags[2]"}; got != nil || !reflect.DeepEqual(fields, want) {
		t.Errorf("Each read %v and gave %v, want %v and nothing", fields, got, want)
	}
	doc.Tags.Items = doc.Tags.Items[:2]
	if got, err := strictyaml.Each(doc.Tags, "tags", (*strictyaml.Scalar).Value); err != nil || !reflect.DeepEqual(got, []string{"a", "bb"}) {
		t.Errorf("Each: %q, %v", got, err)
	}
	deep := (*doc.Items)[0].Sub.Deep
	if _, err := strictyaml.Each(deep, "items[0].sub.deep", (*strictyaml.Scalar).Value); err == nil || err.Error() != "line 3: items[0].sub.deep: "+strictyaml.MustBeList {
		t.Errorf("Each of a value: %v", err)
	}
}

// An *Error reads "file:line: field: problem", leaving out what it lacks.
func TestErrorNamesFileLineAndField(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		e    strictyaml.Error
		want string
	}{
		{strictyaml.Error{File: "rules.yaml", Line: 12, Field: "default.daily_cap", Problem: "must not be empty"}, "rules.yaml:12: default.daily_cap: must not be empty"},
		{strictyaml.Error{File: "rules.yaml", Problem: "the file is larger than 1048576 bytes"}, "rules.yaml: the file is larger than 1048576 bytes"},
		{strictyaml.Error{Line: 3, Problem: "custom YAML tag !x is not supported"}, "line 3: custom YAML tag !x is not supported"},
		{strictyaml.Error{Field: "merchants", Problem: "x"}, "merchants: x"},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.e, got, tt.want)
		}
	}
}

// Read reads at most one byte over MaxSize, so Decode refuses a larger
// file; InFile names the file in an *Error and leaves other errors be.
func TestReadAndInFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(path, []byte("# "+strings.Repeat("x", 100)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	small := testFile
	small.MaxSize = 10
	data, err := small.Read(path)
	if err != nil || len(data) != 11 {
		t.Fatalf("Read: %d bytes, %v; want 11", len(data), err)
	}
	err = strictyaml.InFile(small.Decode(data, &testDoc{}), path)
	if want := path + ": the file is larger than 10 bytes"; err == nil || err.Error() != want {
		t.Errorf("Decode: %v, want %q", err, want)
	}
	if _, err := small.Read(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Read of a missing file: %v", err)
	}
	other := errors.New("not a file's problem")
	if got := strictyaml.InFile(other, path); got != other {
		t.Errorf("InFile changed %v into %v", other, got)
	}
	if strictyaml.InFile(nil, path) != nil {
		t.Error("InFile(nil) is not nil")
	}
}

package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// File is one kind of file: what Decode needs to bound it and to name its
// problems in its own words.
type File struct {
	Name       string // "rules file": "a rules file is one YAML document"
	Root       any    // a value of the struct the file decodes into, for the keys of its mappings
	MaxSize    int    // the largest file accepted, in bytes
	MaxDepth   int    // the deepest node accepted: the document is 0, its top-level mapping 1
	KeyExample string // a key of the file, for "a key must be a name such as daily_cap, …"
	AnchorHint string // what to write instead of an anchor or alias
	// Known says, after "unknown key; ", which keys ("a, b") the mapping
	// decoded into goType has; goType as yaml names it, such as
	// "rules.shopDoc".
	Known func(goType, keys string) string
	// Mapping says, after "must be ", what goType is decoded from.
	Mapping func(goType, keys string) string
}

// maxNodes and maxKeys bound the work a file can cause, whatever its shape.
// yaml looks for a key given twice by comparing every pair of a mapping's
// keys, so one mapping of 50,000 keys would take seconds; no mapping of an
// operator's file needs more than a few dozen.
const (
	maxNodes = 100_000
	maxKeys  = 1000
)

// Read reads the file at path, up to one byte more than MaxSize: enough
// for Decode to refuse a larger file without reading all of it.
func (f *File) Read(path string) ([]byte, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return io.ReadAll(io.LimitReader(file, int64(f.MaxSize)+1))
}

// Decode reads data, one YAML document, into v, a pointer to the file's
// struct, and returns the first problem as an *Error naming its line and
// key. It returns io.EOF, leaving v as it is, when data holds no document
// (it is empty or only comments).
func (f *File) Decode(data []byte, v any) error {
	if len(data) > f.MaxSize {
		return &Error{Problem: fmt.Sprintf("the file is larger than %d bytes", f.MaxSize)}
	}
	// data is parsed twice: as nodes, for the checks yaml does not make and
	// to name the key of a decoding error (yaml gives only its line), then
	// into v, as only a Decoder refuses unknown keys.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		return syntaxError(err, data)
	}
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case err == nil:
		return &Error{Line: max(second.Line, 1), Problem: fmt.Sprintf("a %s is one YAML document; remove the second one (after ---)", f.Name)}
	case !errors.Is(err, io.EOF):
		return syntaxError(err, data)
	}
	if err := f.check(&doc); err != nil {
		return err
	}
	dec = yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return f.decodeError(err, &doc)
	}
	return nil
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// parserProblem matches the problems of yaml's parser, as opposed to its
// scanner, whose "did not find expected …" begin alike. yaml v3 reports a
// parser problem's line counted from 0: the line where the mapping or list
// at fault began or, when that is the first, where it found the problem,
// and leaves the line out when that is the first too. It counts a scanner
// problem's line from 1.
var parserProblem = regexp.MustCompile(`^(did not find expected (<|node content|key|'-'|',')|found (duplicate %|incompatible YAML|undefined tag handle))`)

// syntaxError turns yaml's "yaml: line 3: …" about data into an *Error.
func syntaxError(err error, data []byte) *Error {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return &Error{Problem: "YAML syntax: " + err.Error()}
	}
	line, _ := strconv.Atoi(m[1])
	if parserProblem.MatchString(m[2]) {
		line++
		// A mapping or list begins on a line with something on it: on one
		// without, yaml found the problem (the end of the file), and the
		// mapping or list began on the first line.
		if !hasContent(data, line) {
			line = 1
		}
	}
	return &Error{Line: line, Problem: "YAML syntax: " + m[2]}
}

// lineBreak is what yaml takes for a line break.
var lineBreak = regexp.MustCompile(`\r\n|[\r\n\x{85}\x{2028}\x{2029}]`)

// hasContent tells whether line n (from 1) of data holds more than spaces
// and a comment.
func hasContent(data []byte, n int) bool {
	lines := lineBreak.Split(string(data), n+1)
	if n < 1 || n > len(lines) {
		return false
	}
	l := strings.TrimLeft(lines[n-1], " \t")
	return l != "" && l[0] != '#'
}

// located is a node of the file with the path of the key or list item it
// belongs to, such as "malls[0].shops".
type located struct {
	node  *yaml.Node
	path  string
	key   bool // the node is a mapping's key, and path the key's
	depth int  // 0 for the document
}

// nodes yields every node of doc in the order it is written.
func nodes(doc *yaml.Node) iter.Seq[located] {
	var walk func(n *yaml.Node, path string, key bool, depth int, yield func(located) bool) bool
	walk = func(n *yaml.Node, path string, key bool, depth int, yield func(located) bool) bool {
		if !yield(located{n, path, key, depth}) {
			return false
		}
		for i, c := range n.Content {
			childPath, isKey := path, false
			switch n.Kind {
			case yaml.MappingNode: // keys and values alternate; a value has its key's path
				childPath, isKey = Join(path, n.Content[i-i%2].Value), i%2 == 0
			case yaml.SequenceNode:
				childPath = Index(path, i)
			}
			if !walk(c, childPath, isKey, depth+1, yield) {
				return false
			}
		}
		return true
	}
	return func(yield func(located) bool) { walk(doc, "", false, 0, yield) }
}

// check refuses what a file's structs never need, which yaml would
// otherwise accept: aliases and anchors (a billion laughs), merge keys and
// custom tags (the file would mean other than it reads), a key that is not
// a name, an empty value (yaml leaves the key out, which would go unnoticed:
// in the rules file it inherits the default's rule), more than maxNodes
// nodes, a mapping of more than maxKeys keys, and nodes deeper than
// MaxDepth. Only the top level's keys may be empty.
func (f *File) check(doc *yaml.Node) error {
	count := 0
	for v := range nodes(doc) {
		n := v.node
		count++
		switch {
		case count > maxNodes:
			return Fail(n.Line, "", "the file has more than %d YAML nodes", maxNodes)
		case n.Kind == yaml.MappingNode && len(n.Content) > 2*maxKeys:
			return Fail(n.Line, v.path, "has more than %d keys; no %s needs that many", maxKeys, f.Name)
		case v.depth > f.MaxDepth:
			return Fail(n.Line, "", "nested deeper than any %s needs", f.Name)
		case n.Kind == yaml.AliasNode || n.Anchor != "":
			return Fail(n.Line, "", "anchors and aliases (&name, *name) are not supported: %s", f.AnchorHint)
		case n.Tag != "" && !strings.HasPrefix(n.ShortTag(), "!!"):
			return Fail(n.Line, "", "custom YAML tag %s is not supported", n.Tag)
		case v.key && n.ShortTag() == "!!merge":
			return Fail(n.Line, "", "merge keys (<<) are not supported: write the keys out")
		case v.key && (n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str"):
			return Fail(n.Line, "", "a key must be a name such as %s, not a number, list or other value", f.KeyExample)
		case !v.key && v.depth > 2 && n.ShortTag() == "!!null":
			return Fail(n.Line, v.path, "must not be empty")
		}
	}
	return nil
}

// The decoding errors yaml reports, each as one line of a *yaml.TypeError.
var (
	unknownKey   = regexp.MustCompile(`(?s)^line (\d+): field (.*) not found in type (\S+)$`)
	duplicateKey = regexp.MustCompile(`(?s)^line (\d+): mapping key (".*") already defined at line (\d+)$`)
	wrongKind    = regexp.MustCompile("(?s)^line (\\d+): cannot unmarshal (\\S+)(?: `(.*)`)? into (\\S+)$")
)

// decodeError turns the first of yaml's decoding errors into an *Error. yaml
// names the line and the key or value at fault; the path of the first such
// key or value on that line in doc, the same file, names the field.
func (f *File) decodeError(err error, doc *yaml.Node) *Error {
	te, ok := errors.AsType[*yaml.TypeError](err)
	if !ok || len(te.Errors) == 0 {
		return &Error{Problem: "YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	msg := te.Errors[0]
	locate := func(line string, match func(located) bool) (int, string) {
		n, _ := strconv.Atoi(line)
		for v := range nodes(doc) {
			if v.node.Line == n && match(v) {
				return n, v.path
			}
		}
		return n, ""
	}
	keys := func(goType string) string { return strings.Join(keysOf(f.Root)[goType], ", ") }
	e := &Error{}
	if m := unknownKey.FindStringSubmatch(msg); m != nil {
		e.Line, e.Field = locate(m[1], func(v located) bool { return v.key && v.node.Value == m[2] })
		e.Problem = "unknown key; " + f.Known(m[3], keys(m[3]))
	} else if m := duplicateKey.FindStringSubmatch(msg); m != nil {
		key, _ := strconv.Unquote(m[2])
		e.Line, e.Field = locate(m[1], func(v located) bool { return v.key && v.node.Value == key })
		e.Problem = fmt.Sprintf("given twice (first at line %s)", m[3])
	} else if m := wrongKind.FindStringSubmatch(msg); m != nil {
		shown := strings.TrimSuffix(m[3], "...") // yaml shortens long values to 7 bytes and "..."
		e.Line, e.Field = locate(m[1], func(v located) bool {
			return !v.key && v.node.ShortTag() == m[2] && strings.HasPrefix(v.node.Value, shown)
		})
		e.Problem = MustBeList
		if !strings.HasPrefix(m[4], "[]") {
			e.Problem = "must be " + f.Mapping(m[4], keys(m[4]))
		}
	} else {
		e.Problem = msg // "line 3: …": no other is known to reach here
	}
	return e
}

// keysOf lists the keys of each mapping of a file whose struct is root's
// type, in the structs' order, by the name yaml gives each Go type in its
// errors ("rules.shopDoc"). A struct that decodes itself (Scalar, List) is
// a value, not a mapping; an inlined struct's keys are its mapping's, and
// At has none.
func keysOf(root any) map[string][]string {
	out := map[string][]string{}
	leaf := reflect.TypeFor[yaml.Unmarshaler]()
	var keys func(t reflect.Type) []string
	keys = func(t reflect.Type) []string {
		var list []string
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			ft := f.Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			mapping := ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(leaf)
			switch {
			case opts == "inline" && mapping:
				list = append(list, keys(ft)...)
			case opts == "inline": // At: a line, not a key
			default:
				list = append(list, name)
				if mapping {
					out[ft.String()] = keys(ft)
				}
			}
		}
		return list
	}
	t := reflect.TypeOf(root)
	out[t.String()] = keys(t)
	return out
}

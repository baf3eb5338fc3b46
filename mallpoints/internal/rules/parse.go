package rules

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

// MaxSize is the largest rules file Parse and Load accept: far above any
// real mall's rules, small enough that a wrong path (a log, a dump) fails
// fast instead of filling memory.
const MaxSize = 1 << 20

// maxNodes and maxKeys bound the work a file can cause, whatever its shape.
// yaml looks for a key given twice by comparing every pair of a mapping's
// keys, so one mapping of 50,000 keys would take seconds; no mapping of the
// file needs more than a few dozen.
const (
	maxNodes = 100_000
	maxKeys  = 1000
)

// Error is a rules file that cannot be used: where and what.
type Error struct {
	File    string // the file as given to Load; empty from Parse
	Line    int    // 1-based; 0 when the problem is the whole file
	Field   string // the path of the key at fault, such as "malls[0].shops[1].multiplier"
	Problem string // what is wrong, in words
}

// Error returns "rules.yaml:12: malls[0].shops[1].multiplier: must be
// greater than 0, got -2", or "line 12: …" for Parse.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// Load reads the rules file at path (at most MaxSize bytes), parses it and
// reads the signing secrets its decide sections name. A *Error gets the
// file's name.
func Load(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	s, err := Parse(data)
	if err == nil {
		err = s.readSecrets(os.LookupEnv)
	}
	if e, ok := err.(*Error); ok {
		e.File = path
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Parse reads a rules file (YAML; docs/rules.md is its reference)
// and validates all of it. The first problem found is returned as a *Error
// naming its line and key. An empty file means Default.
//
// Decoding is strict: an unknown key, a key given twice, a value of the
// wrong kind, an empty value, anchors and aliases, merge keys, custom tags
// and a second document are errors, not silently ignored, so a typo never
// turns a rule off.
func Parse(data []byte) (*Set, error) {
	if len(data) > MaxSize {
		return nil, &Error{Problem: fmt.Sprintf("the file is larger than %d bytes", MaxSize)}
	}
	// The file is parsed twice: as nodes, for the checks yaml does not make
	// and to name the key of a decoding error (yaml gives only its line),
	// then into the file's structs, as only a Decoder refuses unknown keys.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return build(defaultSection(), nil)
		}
		return nil, syntaxError(err)
	}
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case err == nil:
		return nil, &Error{Line: max(second.Line, 1), Problem: "a rules file is one YAML document; remove the second one (after ---)"}
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(err)
	}
	if err := check(&doc); err != nil {
		return nil, err
	}
	var f fileDoc
	dec = yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, decodeError(err, &doc)
	}
	return f.validate()
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// parserProblems are the problems of yaml's parser, as opposed to its
// scanner. yaml v3 reports a parser problem's line counted from 0 (the line
// where the mapping or list at fault began) and leaves the line out when it
// is the first; scanner problems are counted from 1. syntaxError adds the 1.
var parserProblems = []string{
	"did not find expected ",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// syntaxError turns yaml's "yaml: line 3: …" into an *Error.
func syntaxError(err error) error {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return &Error{Problem: "YAML syntax: " + err.Error()}
	}
	line, _ := strconv.Atoi(m[1])
	problem := m[2]
	for _, p := range parserProblems {
		if strings.HasPrefix(problem, p) && !isScannerProblem(problem) {
			line++
			break
		}
	}
	return &Error{Line: line, Problem: "YAML syntax: " + problem}
}

// isScannerProblem tells apart the scanner's "did not find expected …"
// problems, which share a prefix with the parser's.
func isScannerProblem(problem string) bool {
	for _, s := range []string{"alphabetic or numeric character", "comment or line break", "digit or '.' character", "hexdecimal number", "version number", "whitespace"} {
		if strings.HasPrefix(problem, "did not find expected "+s) {
			return true
		}
	}
	return false
}

// located is a node of the file with the path of the key or list item it
// belongs to, such as "malls[0].shops".
type located struct {
	node  *yaml.Node
	path  string
	key   bool // the node is a mapping's key, and path the key's
	depth int  // 0 for the document
}

// nodes yields every node of the file in the order it is written.
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
				childPath, isKey = join(path, n.Content[i-i%2].Value), i%2 == 0
			case yaml.SequenceNode:
				childPath = index(path, i)
			}
			if !walk(c, childPath, isKey, depth+1, yield) {
				return false
			}
		}
		return true
	}
	return func(yield func(located) bool) { walk(doc, "", false, 0, yield) }
}

// check refuses what the file's structs never need, which yaml would
// otherwise accept: aliases and anchors (a billion laughs), merge keys and
// custom tags (the file would mean other than it reads), a key that is not
// a name, an empty value (yaml leaves the key out, which would inherit the
// default's rule unnoticed), more than maxNodes nodes and a mapping of more
// than maxKeys keys. Only the top
// level's default and malls may be empty.
func check(doc *yaml.Node) error {
	count := 0
	for v := range nodes(doc) {
		n := v.node
		count++
		switch {
		case count > maxNodes:
			return fail(n.Line, "", "the file has more than %d YAML nodes", maxNodes)
		case n.Kind == yaml.MappingNode && len(n.Content) > 2*maxKeys:
			return fail(n.Line, v.path, "has more than %d keys; no rules file needs that many", maxKeys)
		case v.depth > 20:
			return fail(n.Line, "", "nested deeper than any rules file needs")
		case n.Kind == yaml.AliasNode || n.Anchor != "":
			return fail(n.Line, "", "anchors and aliases (&name, *name) are not supported: write the rule out, or put it in the default section")
		case n.Tag != "" && !strings.HasPrefix(n.ShortTag(), "!!"):
			return fail(n.Line, "", "custom YAML tag %s is not supported", n.Tag)
		case v.key && n.ShortTag() == "!!merge":
			return fail(n.Line, "", "merge keys (<<) are not supported: write the keys out")
		case v.key && (n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str"):
			return fail(n.Line, "", "a key must be a name such as daily_cap, not a number, list or other value")
		case !v.key && v.depth > 2 && n.ShortTag() == "!!null":
			return fail(n.Line, v.path, "must not be empty")
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
func decodeError(err error, doc *yaml.Node) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) == 0 {
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
	e := &Error{}
	if m := unknownKey.FindStringSubmatch(msg); m != nil {
		e.Line, e.Field = locate(m[1], func(v located) bool { return v.key && v.node.Value == m[2] })
		e.Problem = "unknown key; known keys here: " + strings.Join(keysOf[m[3]], ", ")
	} else if m := duplicateKey.FindStringSubmatch(msg); m != nil {
		key, _ := strconv.Unquote(m[2])
		e.Line, e.Field = locate(m[1], func(v located) bool { return v.key && v.node.Value == key })
		e.Problem = fmt.Sprintf("given twice (first at line %s)", m[3])
	} else if m := wrongKind.FindStringSubmatch(msg); m != nil {
		shown := strings.TrimSuffix(m[3], "...") // yaml shortens long values to 7 bytes and "..."
		e.Line, e.Field = locate(m[1], func(v located) bool {
			return !v.key && v.node.ShortTag() == m[2] && strings.HasPrefix(v.node.Value, shown)
		})
		e.Problem = "must be a mapping of " + strings.Join(keysOf[m[4]], ", ")
		if strings.HasPrefix(m[4], "[]") {
			e.Problem = "must be a list (items starting with -, or [a, b])"
		}
	} else {
		e.Problem = msg // "line 3: …": no other is known to reach here
	}
	return e
}

// keysOf lists the keys of each mapping of the file, in the structs' order,
// by the name yaml gives its type in errors ("rules.shopDoc").
var keysOf = func() map[string][]string {
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
			case opts == "inline": // at: a line, not a key
			default:
				list = append(list, name)
				if mapping {
					out[ft.String()] = keys(ft)
				}
			}
		}
		return list
	}
	t := reflect.TypeFor[fileDoc]()
	out[t.String()] = keys(t)
	return out
}()

package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxSize is the largest rules file Parse and Load accept: far above any
// real mall's rules, small enough that a wrong path (a log, a dump) fails
// fast instead of filling memory.
const MaxSize = 1 << 20

// maxNodes bounds the work a file can cause, whatever its shape.
const maxNodes = 100_000

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

// Load reads the rules file at path (at most MaxSize bytes) and parses it.
// A *Error from Parse gets the file's name.
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
	if e, ok := err.(*Error); ok {
		e.File = path
	}
	return s, err
}

// Parse reads a rules file (YAML; the schema is in testdata/example.yaml)
// and validates all of it. The first problem found is returned as a *Error
// naming its line and key. An empty file means Default.
//
// Decoding is strict: an unknown key, a key given twice, a value of the
// wrong kind, anchors and aliases, custom tags and a second document are
// errors, not silently ignored, so a typo never turns a rule off.
func Parse(data []byte) (*Set, error) {
	if len(data) > MaxSize {
		return nil, &Error{Problem: fmt.Sprintf("the file is larger than %d bytes", MaxSize)}
	}
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
	nodes := 0
	if err := check(&doc, 0, &nodes); err != nil {
		return nil, err
	}
	return readFile(&doc)
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

func fail(n *yaml.Node, field, format string, args ...any) *Error {
	return &Error{Line: n.Line, Field: field, Problem: fmt.Sprintf(format, args...)}
}

// check refuses what the schema never needs and would make the walk
// unbounded or the file mean something other than it reads: aliases and
// anchors (a billion laughs), custom tags, more than maxNodes nodes.
func check(n *yaml.Node, depth int, nodes *int) error {
	*nodes++
	switch {
	case *nodes > maxNodes:
		return fail(n, "", "the file has more than %d YAML nodes", maxNodes)
	case depth > 20:
		return fail(n, "", "nested deeper than any rules file needs")
	case n.Kind == yaml.AliasNode || n.Anchor != "":
		return fail(n, "", "anchors and aliases (&name, *name) are not supported: write the rule out, or put it in the default section")
	case n.Tag != "" && !strings.HasPrefix(n.ShortTag(), "!!"):
		return fail(n, "", "custom YAML tag %s is not supported", n.Tag)
	}
	for _, c := range n.Content {
		if err := check(c, depth+1, nodes); err != nil {
			return err
		}
	}
	return nil
}

// fields checks that n is a mapping whose keys are all known and unique,
// and returns the value node of each key present.
func fields(n *yaml.Node, field string, known ...string) (map[string]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fail(n, field, "must be a mapping of %s", strings.Join(known, ", "))
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	keyLine := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fail(k, field, "a key must be a plain name")
		}
		name := k.Value
		if !slices.Contains(known, name) {
			return nil, fail(k, join(field, name), "unknown key; known keys here: %s", strings.Join(known, ", "))
		}
		if line, dup := keyLine[name]; dup {
			return nil, fail(k, join(field, name), "given twice (first at line %d)", line)
		}
		keyLine[name] = k.Line
		out[name] = v
	}
	return out, nil
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// scalar returns the text of a scalar, as written: "001" stays "001".
func scalar(n *yaml.Node, field string) (string, error) {
	switch {
	case n.Kind != yaml.ScalarNode:
		return "", fail(n, field, "must be a single value, not a list or mapping")
	case isNull(n) || n.Value == "":
		return "", fail(n, field, "must not be empty")
	}
	return n.Value, nil
}

var wholeNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// count reads a whole number that must not be negative.
func count(n *yaml.Node, field string) (int64, error) {
	s, err := scalar(n, field)
	if err != nil {
		return 0, err
	}
	if !wholeNumber.MatchString(s) {
		return 0, fail(n, field, "must be a whole number, got %q", s)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil:
		return 0, fail(n, field, "%s is too large", s)
	case v < 0:
		return 0, fail(n, field, "must not be negative, got %d", v)
	}
	return v, nil
}

func boolean(n *yaml.Node, field string) (bool, error) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		switch n.Value {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, fail(n, field, "must be true or false")
}

// list returns the items of a sequence.
func list(n *yaml.Node, field string) ([]*yaml.Node, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, fail(n, field, "must be a list (items starting with -, or [a, b])")
	}
	return n.Content, nil
}

func index(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }

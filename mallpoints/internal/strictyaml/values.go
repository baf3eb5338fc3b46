package strictyaml

import "go.yaml.in/yaml/v3"

// The types a file's structs are made of. A value keeps its text and line,
// and a list item or mapping its line, so that a check made after decoding
// names its line. None refuses anything while decoding: a list where a value
// belongs is kept, for its key's check to refuse in the file's own words.

// At records the line of the mapping it is inlined in (`yaml:",inline"`),
// for a problem of a list item as a whole, such as a shop without a
// shop_number. Being inlined, it leaves the mapping's keys to yaml, which
// keeps checking them.
type At struct{ Line int }

// UnmarshalYAML records n's line.
func (a *At) UnmarshalYAML(n *yaml.Node) error {
	a.Line = n.Line
	return nil
}

// Fail is the *Error of the mapping at field.
func (a *At) Fail(field, format string, args ...any) *Error {
	return Fail(a.Line, field, format, args...)
}

// Scalar is a value as written, with its line: "007" stays "007", and an
// mchid stays text rather than becoming a number.
type Scalar struct {
	Text   string
	Tag    string // as yaml resolves it: !!str, !!int, !!bool…
	Line   int
	Single bool // false: a list or a mapping
}

// UnmarshalYAML keeps n as written.
func (s *Scalar) UnmarshalYAML(n *yaml.Node) error {
	*s = Scalar{Text: n.Value, Tag: n.ShortTag(), Line: n.Line, Single: n.Kind == yaml.ScalarNode}
	return nil
}

// Fail is the *Error of the value at field.
func (s *Scalar) Fail(field, format string, args ...any) *Error {
	return Fail(s.Line, field, format, args...)
}

// Value returns the text of a single value that is not empty.
func (s *Scalar) Value(field string) (string, error) {
	switch {
	case !s.Single:
		return "", s.Fail(field, "must be a single value, not a list or mapping")
	case s.Text == "":
		return "", s.Fail(field, "must not be empty")
	}
	return s.Text, nil
}

// MustBeList is the problem of a value or mapping where a list belongs.
const MustBeList = "must be a list (items starting with -, or [a, b])"

// List is a list of values, such as app_ids, with the line of the list. T
// is Scalar or a file's own type around it, with its checks; PT is *T.
type List[T any, PT interface {
	*T
	yaml.Unmarshaler
}] struct {
	Items  []T
	Line   int
	IsList bool // false: a value or a mapping where a list belongs
}

// UnmarshalYAML keeps n's items as written.
func (l *List[T, PT]) UnmarshalYAML(n *yaml.Node) error {
	*l = List[T, PT]{Line: n.Line, IsList: n.Kind == yaml.SequenceNode}
	if l.IsList {
		l.Items = make([]T, len(n.Content))
		for i, c := range n.Content {
			if err := PT(&l.Items[i]).UnmarshalYAML(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// Fail is the *Error of the list at field.
func (l *List[T, PT]) Fail(field, format string, args ...any) *Error {
	return Fail(l.Line, field, format, args...)
}

// Each reads the items of the list l at field with read, in order, each
// with its path ("app_ids[1]"); a value or mapping where the list belongs
// is MustBeList.
func Each[V, T any, PT interface {
	*T
	yaml.Unmarshaler
}](l *List[T, PT], field string, read func(PT, string) (V, error)) ([]V, error) {
	if !l.IsList {
		return nil, l.Fail(field, MustBeList)
	}
	var out []V
	for i := range l.Items {
		v, err := read(&l.Items[i], Index(field, i))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

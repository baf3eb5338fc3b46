package strictyaml

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a file that cannot be used: where and what. It never quotes a
// value it was not asked to.
type Error struct {
	File    string // the file as given to Load; empty for data parsed from memory
	Line    int    // 1-based; 0 when the problem is the whole file
	Field   string // the path of the key at fault, such as "malls[0].shops[1].multiplier"
	Problem string // what is wrong, in words
}

// Error returns "rules.yaml:12: malls[0].shops[1].multiplier: must be
// greater than 0, got -2", or "line 12: …" without a file.
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

// Fail is the *Error of the key at field on line.
func Fail(line int, field, format string, args ...any) *Error {
	return &Error{Line: line, Field: field, Problem: fmt.Sprintf(format, args...)}
}

// InFile names path as the file of err, when err is an *Error, and returns
// err.
func InFile(err error, path string) error {
	if e, ok := errors.AsType[*Error](err); ok {
		e.File = path
	}
	return err
}

// Join is the path of key in the mapping at field: "default.shops".
func Join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

// Index is the path of item i of the list at field: "default.shops[1]".
func Index(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }

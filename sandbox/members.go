package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
)

// This file reads JSON objects member by member, by their exact names.
// encoding/json matches member names to struct fields without regard to
// case and lets the last of two equal names win, so a body checked member
// by member and then decoded into a struct could act on values never
// checked ("openid" checked, "OPENID" stored). The sandbox decodes once,
// here, and refuses what would be ambiguous.

// jsonMember is one member of a JSON object: its name, unescaped, and its
// value as sent.
type jsonMember struct {
	name string
	raw  json.RawMessage
}

// errNotObject is the error of objectMembers for a value that is not a JSON
// object.
var errNotObject = errors.New("not a JSON object")

// objectMembers returns the members of the JSON object b, in order. b must be
// one valid JSON value; anything but an object is errNotObject.
func objectMembers(b []byte) ([]jsonMember, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errNotObject
	}
	var out []jsonMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		out = append(out, jsonMember{name, raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}

// ambiguousMember returns the first member of ms that repeats an earlier
// name, or whose name differs from one of known only in case, with what is
// wrong with it; issue is "" when there is none (a name may be "").
func ambiguousMember(ms []jsonMember, known []string) (name, issue string) {
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		if seen[m.name] {
			return m.name, "is given more than once"
		}
		seen[m.name] = true
		for _, k := range known {
			if m.name != k && strings.EqualFold(m.name, k) {
				return m.name, "differs from the member " + k + " only in case"
			}
		}
	}
	return "", ""
}

// checkAdminMembers checks an admin request body against the Go type it is
// decoded into, at every level: each member names a field by its exact JSON
// name, and none is given twice. Maps are checked for repeated keys only.
func checkAdminMembers(b []byte, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct && t.Kind() != reflect.Map {
		return nil
	}
	ms, err := objectMembers(b)
	if err != nil {
		return nil // not an object: json.Unmarshal reports the type error
	}
	fields := map[string]reflect.Type{}
	if t.Kind() == reflect.Struct {
		for i := range t.NumField() {
			f := t.Field(i)
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
				fields[name] = f.Type
			}
		}
	}
	seen := map[string]bool{}
	for _, m := range ms {
		field := path + m.name
		if seen[m.name] {
			return &InputError{Field: field, Message: "is given more than once"}
		}
		seen[m.name] = true
		next := t.Elem
		if t.Kind() == reflect.Struct {
			ft, ok := fields[m.name]
			if !ok {
				return &InputError{Field: field, Message: "is not a field of this request (names are case-sensitive)"}
			}
			next = func() reflect.Type { return ft }
		}
		if err := checkAdminMembers(m.raw, next(), field+"/"); err != nil {
			return err
		}
	}
	return nil
}

package rules

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/strictyaml"
)

// MaxSize is the largest rules file Parse and Load accept: far above any
// real mall's rules, small enough that a wrong path (a log, a dump) fails
// fast instead of filling memory.
const MaxSize = 1 << 20

// Error is a rules file that cannot be used: where and what.
type Error = strictyaml.Error

// rulesFile is how the rules file is decoded: strictly, its problems named
// in its own words.
var rulesFile = strictyaml.File{
	Name: "rules file", Root: fileDoc{}, MaxSize: MaxSize, MaxDepth: 20, KeyExample: "daily_cap",
	AnchorHint: "write the rule out, or put it in the default section",
	Known:      func(_, keys string) string { return "known keys here: " + keys },
	Mapping:    func(_, keys string) string { return "a mapping of " + keys },
}

// Load reads the rules file at path (at most MaxSize bytes), parses it and
// reads the signing secrets its decide sections name. A *Error gets the
// file's name.
func Load(path string) (*Set, error) {
	data, err := rulesFile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	s, err := Parse(data)
	if err == nil {
		err = s.readSecrets(os.LookupEnv)
	}
	if err != nil {
		return nil, strictyaml.InFile(err, path)
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
	var f fileDoc
	switch err := rulesFile.Decode(data, &f); {
	case errors.Is(err, io.EOF):
		return build(defaultSection(), nil)
	case err != nil:
		return nil, err
	}
	return f.validate()
}

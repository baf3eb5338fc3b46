package main

import (
	"errors"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/credentials"
)

// readmeConfiguration returns the flags and environment variables of the
// configuration table of mallpoints/README.md.
func readmeConfiguration(t *testing.T) (flags, envs map[string]bool) {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## Configuration\n")
	if !ok {
		t.Fatal("mallpoints/README.md has no ## Configuration section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	flags, envs = map[string]bool{}, map[string]bool{}
	flagName := regexp.MustCompile("`--([a-z0-9-]+)`")
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "|") || len(cells) < 3 {
			continue
		}
		for _, m := range flagName.FindAllStringSubmatch(cells[1], -1) {
			flags[m[1]] = true
		}
		for _, m := range envName.FindAllString(cells[1], -1) {
			envs[m] = true
		}
	}
	if len(flags) == 0 {
		t.Fatal("mallpoints/README.md's configuration table names no flag")
	}
	return flags, envs
}

var envName = regexp.MustCompile(`\b(?:MALLPOINTS|WXPAY)_[A-Z0-9_]+\b`)

// sourceStrings returns the string literals of this command's own files.
func sourceStrings(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					out = append(out, s)
				}
			}
			return true
		})
	}
	return out
}

// registered reports whether parseFlags's flag set defines --name, by
// asking it: an undefined flag is the one error that says so.
func registered(name string) bool {
	_, err := parseFlags([]string{"--" + name}, func(string) string { return "" }, io.Discard)
	return !errors.Is(err, flag.ErrHelp) && (err == nil || !strings.Contains(err.Error(), "flag provided but not defined"))
}

// Every flag mallpointsd registers is in mallpoints/README.md's
// configuration table, and every flag the table names is registered. The
// flags registered are found by asking parseFlags's flag set about every
// name this command's source or the credentials package could register.
func TestReadmeConfigurationListsEveryFlag(t *testing.T) {
	documented, _ := readmeConfiguration(t)
	candidates := map[string]bool{}
	for name := range documented {
		candidates[name] = true
	}
	looksLikeFlag := regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	for _, s := range sourceStrings(t) {
		if looksLikeFlag.MatchString(s) {
			candidates[s] = true
		}
	}
	for _, s := range credentials.Settings(credentials.All) {
		candidates[s.Flag] = true
	}
	var names []string
	for name := range candidates {
		names = append(names, name)
	}
	slices.Sort(names)
	found := 0
	for _, name := range names {
		switch reg := registered(name); {
		case reg && !documented[name]:
			t.Errorf("--%s is registered but not in mallpoints/README.md's configuration table", name)
		case !reg && documented[name]:
			t.Errorf("mallpoints/README.md's configuration table names --%s, which mallpointsd does not accept", name)
		case reg:
			found++
		}
	}
	if found < 10 {
		t.Fatalf("only %d flags found registered: the probe no longer works", found)
	}
}

// Every environment variable the command reads or names is in the table.
func TestReadmeConfigurationListsEveryVariable(t *testing.T) {
	_, documented := readmeConfiguration(t)
	want := map[string]bool{}
	for _, s := range sourceStrings(t) {
		for _, env := range envName.FindAllString(s, -1) {
			want[env] = true
		}
	}
	for _, s := range credentials.Settings(credentials.All) {
		want[s.Env] = true
	}
	for env := range want {
		if !documented[env] {
			t.Errorf("%s is not in mallpoints/README.md's configuration table", env)
		}
	}
}

package dashboard

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template/parse"
	"time"
)

// newTestDashboard is a Dashboard with its catalogues and templates, and
// nothing to serve.
func newTestDashboard(t *testing.T) *Dashboard {
	t.Helper()
	d := guarded("", time.Now)
	return d
}

// keysInTemplates finds the message keys the templates use: the first
// argument of every call of t and th, which must be a string literal (a
// key made at run time could be missing from a catalogue unseen).
func keysInTemplates(t *testing.T, d *Dashboard) map[string]string {
	t.Helper()
	keys := map[string]string{} // key → the template using it
	var walk func(name string, n parse.Node)
	walkPipe := func(name string, p *parse.PipeNode) {
		if p != nil {
			walk(name, p)
		}
	}
	walk = func(name string, n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(name, c)
				}
			}
		case *parse.ActionNode:
			walkPipe(name, n.Pipe)
		case *parse.PipeNode:
			for _, c := range n.Cmds {
				walk(name, c)
			}
		case *parse.CommandNode:
			if id, ok := n.Args[0].(*parse.IdentifierNode); ok && (id.Ident == "t" || id.Ident == "th") {
				s, ok := n.Args[1].(*parse.StringNode)
				if !ok {
					t.Errorf("template %s calls %s with %s: a key is a string literal", name, id.Ident, n.Args[1])
				} else {
					keys[s.Text] = name
					if (id.Ident == "th") != strings.HasSuffix(s.Text, ".html") {
						t.Errorf("template %s: %s %q: th takes the keys ending in .html, t the others", name, id.Ident, s.Text)
					}
				}
			}
			for _, a := range n.Args {
				walk(name, a)
			}
		case *parse.IfNode:
			walkPipe(name, n.Pipe)
			walk(name, n.List)
			walk(name, n.ElseList)
		case *parse.RangeNode:
			walkPipe(name, n.Pipe)
			walk(name, n.List)
			walk(name, n.ElseList)
		case *parse.WithNode:
			walkPipe(name, n.Pipe)
			walk(name, n.List)
			walk(name, n.ElseList)
		case *parse.TemplateNode:
			walkPipe(name, n.Pipe)
		}
	}
	for _, pages := range d.pages {
		for _, page := range pages {
			for _, tt := range page.Templates() {
				if tt.Tree != nil {
					walk(tt.Name(), tt.Tree.Root)
				}
			}
		}
	}
	return keys
}

// keysInCode finds the keys the package's code looks up: the literal
// first argument of every call of a method T, and the literal prefix of
// every call of label, which labelled must list.
func keysInCode(t *testing.T) (keys map[string]string, prefixes map[string]bool) {
	t.Helper()
	keys, prefixes = map[string]string{}, map[string]bool{}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			var name string
			switch fun := call.Fun.(type) {
			case *ast.SelectorExpr:
				name = fun.Sel.Name
			case *ast.Ident:
				name = fun.Name
			}
			if name != "T" && name != "label" {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				if name == "T" {
					t.Errorf("%s: T with a key made at run time: use a literal, or label and labelled", fset.Position(call.Pos()))
				}
				return true
			}
			s, _ := strconv.Unquote(lit.Value)
			if name == "T" {
				keys[s] = fset.Position(call.Pos()).String()
			} else {
				prefixes[s] = true
			}
			return true
		})
	}
	return keys, prefixes
}

// verbs lists a message's fmt verbs as argument index and verb, sorted,
// so that two translations of a message take the same arguments.
var verbRE = regexp.MustCompile(`%(\[(\d+)\])?([-+# 0]*\d*(\.\d+)?)([a-zA-Z%])`)

func verbs(msg string) []string {
	var out []string
	next := 1
	for _, m := range verbRE.FindAllStringSubmatch(msg, -1) {
		if m[5] == "%" {
			continue
		}
		i := next
		if m[2] != "" {
			i, _ = strconv.Atoi(m[2])
		}
		next = i + 1
		verb := m[5]
		if verb == "q" {
			verb = "s" // a language quotes with its own marks
		}
		out = append(out, strconv.Itoa(i)+verb)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestCataloguesHoldTheSameKeys keeps the catalogues whole: each language
// has every key of the others, with the same arguments; every key a
// template or the code uses, and every label of labelled, is in each; and
// no catalogue holds a key nothing uses.
func TestCataloguesHoldTheSameKeys(t *testing.T) {
	d := newTestDashboard(t)
	if len(d.langs) != len(Languages) {
		t.Fatalf("%d catalogues for %d languages", len(d.langs), len(Languages))
	}
	names, _ := fs.Glob(assets, "locale/*.json")
	if len(names) != len(Languages) {
		t.Errorf("locale/ holds %v; the languages are %v", names, Languages)
	}
	used := map[string]string{}
	maps.Copy(used, keysInTemplates(t, d))
	code, prefixes := keysInCode(t)
	maps.Copy(used, code)
	for prefix, codes := range labelled {
		if !prefixes[prefix] {
			t.Errorf("labelled lists %q, which no call of label uses", prefix)
		}
		for _, c := range codes {
			used[prefix+"."+c] = "labelled[" + prefix + "]"
		}
	}
	for prefix := range prefixes {
		if _, ok := labelled[prefix]; !ok {
			t.Errorf("label is called with %q, which labelled does not list", prefix)
		}
	}
	if len(used) < 200 {
		t.Fatalf("only %d keys found in use: the search no longer sees them", len(used))
	}
	for _, tag := range Languages {
		l := d.langs[tag]
		for key, where := range used {
			if _, ok := l.msgs[key]; !ok {
				t.Errorf("%s: no message %q (used by %s)", tag, key, where)
			}
		}
		for key, msg := range l.msgs {
			if _, ok := used[key]; !ok {
				t.Errorf("%s: message %q is used nowhere", tag, key)
			}
			if strings.TrimSpace(msg) == "" {
				t.Errorf("%s: message %q is empty", tag, key)
			}
			for _, other := range Languages {
				o, ok := d.langs[other].msgs[key]
				if !ok {
					t.Errorf("%s has %q, %s has not", tag, key, other)
					continue
				}
				if a, b := verbs(msg), verbs(o); !slices.Equal(a, b) {
					t.Errorf("%q takes %v in %s, %v in %s", key, a, tag, b, other)
				}
			}
		}
	}
}

// The Chinese catalogue is Chinese: a message that reads the same as the
// English one is a key someone forgot to translate, unless it is a code,
// a format or a name both languages write alike.
func TestTheChineseCatalogueIsTranslated(t *testing.T) {
	d := newTestDashboard(t)
	same := map[string]bool{"format.yuan": true, "overview.lag.p99": true, "decisions.subject.named": true}
	for key, zh := range d.langs[Chinese].msgs {
		if zh == d.langs[English].msgs[key] && !same[key] {
			t.Errorf("%q reads %q in both languages", key, zh)
		}
	}
}

func TestAcceptLanguagePicksChineseWhenTheBrowserPrefersIt(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]string{
		"":                                     English,
		"zh-CN,zh;q=0.9,en;q=0.8":              Chinese,
		"zh":                                   Chinese,
		"zh-Hans-CN":                           Chinese,
		"zh-TW,en;q=0.5":                       Chinese, // the console has Simplified Chinese only
		"en-US,en;q=0.9,zh-CN;q=0.8":           English,
		"fr-FR,zh-CN;q=0.7,en;q=0.3":           Chinese,
		"fr-FR,de;q=0.9":                       English,
		"en;q=0.2, ZH-cn;q=0.8":                Chinese,
		"zh-CN;q=0, en":                        English,
		"zh-CN;q=oops, en":                     English,
		"*":                                    English,
		"ja,zh-CN;q=0.9,en-GB;q=0.9, en;q=0.9": Chinese, // the earlier among equals
	} {
		if got := fromAcceptLanguage(header); got != want {
			t.Errorf("Accept-Language %q: %s, want %s", header, got, want)
		}
	}
}

func TestAmountsDatesAndLagsFollowEachLanguagesConventions(t *testing.T) {
	d := newTestDashboard(t)
	en, zh := d.langs[English], d.langs[Chinese]
	at := time.Date(2026, 5, 20, 6, 6, 0, 0, time.UTC) // 14:06 in Beijing, a Wednesday
	for _, c := range []struct{ got, want string }{
		{en.yuan(123450), "¥1,234.50"}, {zh.yuan(123450), "¥1,234.50"},
		{en.yuan(-5), "-¥0.05"}, {en.yuan(100000000), "¥1,000,000.00"}, {en.yuan(0), "¥0.00"},
		{en.when(at), "20 May 2026 14:06:00"}, {zh.when(at), "2026年5月20日 14:06:00"},
		{en.when(time.Time{}), "—"},
		{en.day(at), "Wed 20 May 2026"}, {zh.day(at), "2026年5月20日 星期三"},
		{en.day(time.Date(2026, 5, 20, 17, 0, 0, 0, time.UTC)), "Thu 21 May 2026"}, // past midnight in Beijing
		{en.duration(850 * time.Millisecond), "850ms"}, {zh.duration(850 * time.Millisecond), "850毫秒"},
		{en.duration(2400 * time.Millisecond), "2.4s"}, {zh.duration(2400 * time.Millisecond), "2.4秒"},
		{en.duration(190 * time.Second), "3m10s"}, {zh.duration(190 * time.Second), "3分10秒"},
		{en.duration(3*time.Hour + 5*time.Second), "3h0m5s"}, {zh.duration(3*time.Hour + 5*time.Second), "3小时0分5秒"},
		{en.duration(0), "—"},
		{en.label("sync", "synced"), "synced"}, {zh.label("sync", "synced"), "已同步"},
		{zh.label("sync", "a_state_added_later"), "a_state_added_later"},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
	if h, err := zh.th("overview.refused.html", "<b>", "SIGN_ERROR"); err != nil || !strings.Contains(string(h), "&lt;b&gt;") {
		t.Errorf("a message with markup escapes its arguments: %q, %v", h, err)
	}
	if _, err := en.t("no.such.key"); err == nil {
		t.Error("a key missing from the catalogue renders")
	}
}

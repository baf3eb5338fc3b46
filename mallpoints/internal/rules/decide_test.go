package rules_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

const crmSecret = "0123456789abcdef0123456789abcdef0123456789abcdef"

// A mall's decide section names its CRM; the default section's applies to
// every mall that does not set its own.
func TestDecideIsReadPerMallAndInherited(t *testing.T) {
	t.Setenv("TEST_CRM_SECRET", crmSecret)
	path := filepath.Join(t.TempDir(), "rules.yaml")
	yaml := `default:
  decide:
    url: https://crm.example.com/points
    secret_env: TEST_CRM_SECRET
malls:
  - mchid: "1900000109"
    decide: {url: "http://127.0.0.1:9/decide", secret_env: TEST_CRM_SECRET, timeout: 2s}
  - mchid: "1900000110"
    daily_cap: 10
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := rules.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mall, url string
		timeout   time.Duration
	}{
		{"1900000109", "http://127.0.0.1:9/decide", 2 * time.Second},
		{"1900000110", "https://crm.example.com/points", rules.DefaultDecideTimeout},
		{"unlisted", "https://crm.example.com/points", rules.DefaultDecideTimeout},
	} {
		d := set.Mall(c.mall).Decide
		if d == nil || d.URL != c.url || d.Timeout != c.timeout || len(d.Secrets()) != 1 || string(d.Secrets()[0]) != crmSecret {
			t.Errorf("mall %s: decide %+v, want url %s timeout %v and the secret", c.mall, d, c.url, c.timeout)
		}
	}
	if got := set.Mall("x").Decide; got == nil {
		t.Fatal("no decide")
	}
	if b, _ := set.MarshalJSON(); strings.Contains(string(b), crmSecret) {
		t.Errorf("the normalised rules carry the secret: %s", b)
	}
}

// Parse, as used for an uploaded file, never reads a secret: nothing can
// call a URL from a file a person uploads.
func TestParseNeverReadsTheSecret(t *testing.T) {
	t.Setenv("TEST_CRM_SECRET", crmSecret)
	set, err := rules.Parse([]byte("default:\n  decide: {url: https://crm.example.com/p, secret_env: TEST_CRM_SECRET}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := set.Mall("1").Decide; d == nil || d.Secrets() != nil {
		t.Fatalf("decide after Parse: %+v, want the section without its secret", d)
	}
}

func TestDecideSecretFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(dir, "crm.secret")
	if err := os.WriteFile(secret, []byte(crmSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, []byte("default:\n  decide: {url: https://crm.example.com/p, secret_file: "+secret+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := rules.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := set.Mall("1").Decide.Secrets(); len(got) != 1 || string(got[0]) != crmSecret {
		t.Errorf("secret from the file: %q, want it without its newline", got)
	}
	// While a secret changes, the file holds both, one per line.
	if err := os.WriteFile(secret, []byte(crmSecret+"\n"+strings.Repeat("n", 40)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if set, err = rules.Load(path); err != nil {
		t.Fatal(err)
	}
	if got := set.Mall("1").Decide.Secrets(); len(got) != 2 || string(got[1]) != strings.Repeat("n", 40) {
		t.Errorf("two secrets: %q", got)
	}
}

func TestDecideErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, decide, field, problem string
	}{
		{"no url", "{secret_env: X}", "default.decide", "decide needs url"},
		{"http to another host", "{url: http://crm.example.com/p, secret_env: X}", "default.decide.url", "must be https"},
		{"another scheme", "{url: ftp://crm.example.com/p, secret_env: X}", "default.decide.url", "must be https"},
		{"not absolute", "{url: /points, secret_env: X}", "default.decide.url", "not an absolute URL"},
		{"credentials in the URL", "{url: https://u:p@crm.example.com/p, secret_env: X}", "default.decide.url", "user or password"},
		{"no secret", "{url: https://crm.example.com/p}", "default.decide", "secret_env or secret_file"},
		{"both secrets", "{url: https://crm.example.com/p, secret_env: X, secret_file: f}", "default.decide.secret_file", "not both"},
		{"a timeout too long", "{url: https://crm.example.com/p, secret_env: X, timeout: 1m}", "default.decide.timeout", "must be a duration from 100ms to 10s"},
		{"a timeout that is no duration", "{url: https://crm.example.com/p, secret_env: X, timeout: soon}", "default.decide.timeout", "must be a duration"},
		{"an unknown key", "{url: https://crm.example.com/p, secret_env: X, secret: abc}", "default.decide.secret", "unknown key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := rules.Parse([]byte("default:\n  decide: " + c.decide + "\n"))
			var e *rules.Error
			if !errors.As(err, &e) || e.Line != 2 || e.Field != c.field || !strings.Contains(e.Problem, c.problem) {
				t.Fatalf("error %v, want line 2, field %s, problem containing %q", err, c.field, c.problem)
			}
		})
	}
}

func TestLoadRefusesAMissingOrShortSecret(t *testing.T) {
	t.Setenv("TEST_CRM_SHORT", "too-short")
	dir := t.TempDir()
	for _, c := range []struct{ name, decide, problem string }{
		{"unset variable", "{url: https://crm.example.com/p, secret_env: TEST_CRM_UNSET}", "environment variable TEST_CRM_UNSET is not set"},
		{"short secret", "{url: https://crm.example.com/p, secret_env: TEST_CRM_SHORT}", "shorter than 32 characters"},
		{"missing file", "{url: https://crm.example.com/p, secret_file: " + filepath.Join(dir, "none") + "}", "no such file"},
	} {
		path := filepath.Join(dir, "rules.yaml")
		if err := os.WriteFile(path, []byte("malls:\n  - mchid: \"1900000109\"\n    decide: "+c.decide+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := rules.Load(path)
		var e *rules.Error
		if !errors.As(err, &e) || e.Line != 3 || !strings.HasPrefix(e.Field, "malls[0].decide") || !strings.Contains(e.Problem, c.problem) {
			t.Errorf("%s: error %v, want line 3, malls[0].decide, %q", c.name, err, c.problem)
		}
	}
}

// The version changes with where the CRM is, not with the secret's value.
func TestDecideIsPartOfTheVersion(t *testing.T) {
	t.Parallel()
	a, err := rules.Parse([]byte("default:\n  daily_cap: 5\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := rules.Parse([]byte("default:\n  daily_cap: 5\n  decide: {url: https://crm.example.com/p, secret_env: X}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := rules.Parse([]byte("default:\n  daily_cap: 5\n  decide: {url: https://crm.example.com/q, secret_env: X}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Version() == b.Version() || b.Version() == c.Version() {
		t.Errorf("versions %s %s %s: decide must change the version", a.Version(), b.Version(), c.Version())
	}
}

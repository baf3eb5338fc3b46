package rules_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

func TestWebhookErrorsNameTheLineAndKey(t *testing.T) {
	t.Parallel()
	const ok = "{name: crm, url: https://crm.example.com/events, secret_env: X}"
	for _, c := range []struct {
		name, webhooks string
		line           int
		field, problem string
	}{
		{"no name", "\n    - {url: https://crm.example.com/e, secret_env: X}", 3, "default.webhooks[0]", "needs a name"},
		{"a name twice", "\n    - " + ok + "\n    - " + ok, 4, "default.webhooks[1].name", `"crm" is named twice`},
		{"a name with a slash", "\n    - {name: a/b, url: https://crm.example.com/e, secret_env: X}", 3, "default.webhooks[0].name", "without spaces"},
		{"no url", "\n    - {name: crm, secret_env: X}", 3, "default.webhooks[0]", "needs url"},
		{"http to another host", "\n    - {name: crm, url: http://crm.example.com/e, secret_env: X}", 3, "default.webhooks[0].url", "must be https"},
		{"credentials in the URL", "\n    - {name: crm, url: https://u:p@crm.example.com/e, secret_env: X}", 3, "default.webhooks[0].url", "user or password"},
		{"no secret", "\n    - {name: crm, url: https://crm.example.com/e}", 3, "default.webhooks[0]", "secret_env or secret_file"},
		{"both secrets", "\n    - {name: crm, url: https://crm.example.com/e, secret_env: X, secret_file: f}", 3, "default.webhooks[0].secret_file", "not both"},
		{"an unknown event", "\n    - {name: crm, url: https://crm.example.com/e, secret_env: X, events: [entry.earn, entry.spend]}", 3, "default.webhooks[0].events[1]", `unknown event type "entry.spend"`},
		{"events not a list", "\n    - {name: crm, url: https://crm.example.com/e, secret_env: X, events: entry.earn}", 3, "default.webhooks[0].events", "must be a list"},
		{"an empty list of events", "\n    - {name: crm, url: https://crm.example.com/e, secret_env: X, events: []}", 3, "default.webhooks[0].events", "must be a list"},
		{"an unknown key", "\n    - {name: crm, url: https://crm.example.com/e, secret_env: X, secret: abc}", 3, "default.webhooks[0].secret", "unknown key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := rules.Parse([]byte("default:\n  webhooks:" + c.webhooks + "\n"))
			var e *rules.Error
			if !errors.As(err, &e) || e.Line != c.line || e.Field != c.field || !strings.Contains(e.Problem, c.problem) {
				t.Fatalf("error %v, want line %d, field %s, problem containing %q", err, c.line, c.field, c.problem)
			}
		})
	}
}

// A mall's webhooks replace the default section's; the same name may be
// used in two sections; no events means all; they are part of the version
// (their secrets' places, never the secrets), and only Load reads secrets.
func TestWebhooksArePerMallOrDefaultAndPartOfTheVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("s", 40)+"\n"+strings.Repeat("n", 40)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := "default:\n  webhooks:\n    - {name: crm, url: \"http://127.0.0.1:9/events\", secret_file: " + secret + "}\n" +
		"malls:\n  - mchid: \"1900000109\"\n    webhooks:\n      - {name: crm, url: https://crm.example.com/e, secret_file: " + secret +
		", events: [member.erased, entry.earn]}\n      - {name: bi, url: https://bi.example.com/e, secret_file: " + secret + "}\n" +
		"  - mchid: \"1900000110\"\n    webhooks: []\n"
	parsed, err := rules.Parse([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if w := parsed.Mall("1900000111").Webhooks; len(w) != 1 || w[0].URL != "http://127.0.0.1:9/events" || w[0].Secrets() != nil ||
		!w[0].Wants("member.activated") {
		t.Fatalf("an unlisted mall's webhooks after Parse: %+v; want the default's, every event, no secret", w)
	}
	if w := parsed.Mall("1900000109").Webhooks; len(w) != 2 || w[0].Name != "crm" || !slices.Equal(w[0].Events, []string{"entry.earn", "member.erased"}) ||
		w[0].Wants("entry.deduct") || !w[1].Wants("entry.deduct") {
		t.Fatalf("a mall's own webhooks: %+v", w)
	}
	if w := parsed.Mall("1900000110").Webhooks; len(w) != 0 {
		t.Fatalf("a mall with webhooks: []: %+v; want none", w)
	}
	path := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := rules.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, mall := range []string{"1900000109", "1900000111"} {
		for _, w := range loaded.Mall(mall).Webhooks {
			if len(w.Secrets()) != 2 {
				t.Errorf("mall %s, webhook %s: %d secrets, want both while one rotates", mall, w.Name, len(w.Secrets()))
			}
		}
	}
	if loaded.Version() != parsed.Version() {
		t.Error("reading the secrets changed the version")
	}
	other, err := rules.Parse([]byte(strings.Replace(file, "https://bi.example.com/e", "https://bi.example.com/f", 1)))
	if err != nil || other.Version() == parsed.Version() {
		t.Errorf("a webhook's url changed, the version did not: %v", err)
	}
	raw, err := loaded.MarshalJSON()
	if err != nil || strings.Contains(string(raw), strings.Repeat("s", 40)) || !strings.Contains(string(raw), `"webhooks"`) {
		t.Errorf("normalised rules %s, %v: want the webhooks, never the secret", raw, err)
	}
}

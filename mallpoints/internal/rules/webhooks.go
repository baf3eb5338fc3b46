package rules

import (
	"slices"
	"strings"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/strictyaml"
)

// Webhook is one endpoint of a mall's CRM that is told of the mall's events:
// webhooks: [{name, url, secret_env | secret_file, events}]. Each event is
// POSTed to URL signed with the secret (docs/webhooks.md); a mall's
// webhooks replace the default section's.
type Webhook struct {
	// Name names the webhook in the API (redeliver) and in its deliveries;
	// unique within its section.
	Name string `json:"name"`
	// URL is https, or http on a loopback address (CheckCallURL).
	URL        string `json:"url"`
	SecretEnv  string `json:"secret_env,omitempty"`
	SecretFile string `json:"secret_file,omitempty"`
	// Events are the event types sent; nil: all of them.
	Events []string `json:"events,omitempty"`

	line    int
	field   string
	secrets [][]byte // read by Load; nil after Parse
}

// WebhookEvents are the event types a webhook may ask for
// (storage.EventTypes).
var WebhookEvents = []string{"entry.earn", "entry.deduct", "entry.adjust", "entry.expire",
	"member.activated", "member.authorization_changed", "member.erased"}

// Secrets are the signing secrets, as Decide.Secrets: nil when the rules
// were only parsed, so an uploaded file never calls its URLs.
func (w *Webhook) Secrets() [][]byte { return w.secrets }

// Wants reports whether w is sent events of type typ.
func (w *Webhook) Wants(typ string) bool { return w.Events == nil || slices.Contains(w.Events, typ) }

func (w *Webhook) readSecret(getenv func(string) (string, bool)) (err error) {
	w.secrets, err = readSecrets(w.SecretEnv, w.SecretFile, w.line, w.field, getenv)
	return err
}

// webhookDoc is one webhook as written.
type webhookDoc struct {
	At         strictyaml.At `yaml:",inline"`
	Name       *scalar       `yaml:"name"`
	URL        *scalar       `yaml:"url"`
	SecretEnv  *scalar       `yaml:"secret_env"`
	SecretFile *scalar       `yaml:"secret_file"`
	Events     *scalars      `yaml:"events"`
}

func webhooks(docs []webhookDoc, field string) (*[]*Webhook, error) {
	out := []*Webhook{}
	seen := map[string]bool{}
	for i, d := range docs {
		f := strictyaml.Index(field, i)
		w := &Webhook{line: d.At.Line, field: f}
		if d.Name == nil {
			return nil, d.At.Fail(f, "a webhook needs a name, unique in its section")
		}
		name, err := d.Name.Value(strictyaml.Join(f, "name"))
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, d.Name.Fail(strictyaml.Join(f, "name"), "webhook %q is named twice in this section", name)
		}
		if strings.ContainsAny(name, "/?#% ") || len(name) > 64 {
			return nil, d.Name.Fail(strictyaml.Join(f, "name"), "must be at most 64 characters without spaces, /, ?, # or %%, got %q", name)
		}
		seen[name], w.Name = true, name
		if d.URL == nil {
			return nil, d.At.Fail(f, "a webhook needs url: where the mall's CRM listens, https://…")
		}
		if w.URL, err = d.URL.Value(strictyaml.Join(f, "url")); err != nil {
			return nil, err
		}
		if err := CheckCallURL(w.URL); err != nil {
			return nil, d.URL.Fail(strictyaml.Join(f, "url"), "%v", err)
		}
		switch {
		case d.SecretEnv != nil && d.SecretFile != nil:
			return nil, d.SecretFile.Fail(strictyaml.Join(f, "secret_file"), "give secret_env or secret_file, not both")
		case d.SecretEnv != nil:
			w.SecretEnv, err = d.SecretEnv.Value(strictyaml.Join(f, "secret_env"))
		case d.SecretFile != nil:
			w.SecretFile, err = d.SecretFile.Value(strictyaml.Join(f, "secret_file"))
		default:
			err = d.At.Fail(f, "a webhook needs secret_env or secret_file: where the signing secret shared with the CRM is (never the secret itself)")
		}
		if err != nil {
			return nil, err
		}
		if d.Events != nil {
			if !d.Events.IsList || len(d.Events.Items) == 0 {
				return nil, d.Events.Fail(strictyaml.Join(f, "events"), "must be a list of event types: %s", strings.Join(WebhookEvents, ", "))
			}
			for j, it := range d.Events.Items {
				typ, err := it.Value(strictyaml.Index(strictyaml.Join(f, "events"), j))
				if err != nil {
					return nil, err
				}
				if !slices.Contains(WebhookEvents, typ) {
					return nil, it.Fail(strictyaml.Index(strictyaml.Join(f, "events"), j), "unknown event type %q; the types are %s", typ, strings.Join(WebhookEvents, ", "))
				}
				if !slices.Contains(w.Events, typ) {
					w.Events = append(w.Events, typ)
				}
			}
			slices.Sort(w.Events)
		}
		out = append(out, w)
	}
	return &out, nil
}

// webhookJSON is a webhook in the normalised rules: where its secret is,
// never the secret.
type webhookJSON struct {
	Name       string   `json:"name"`
	URL        string   `json:"url"`
	SecretEnv  string   `json:"secret_env,omitempty"`
	SecretFile string   `json:"secret_file,omitempty"`
	Events     []string `json:"events,omitempty"`
}

func webhooksJSON(list *[]*Webhook) *[]webhookJSON {
	if list == nil {
		return nil
	}
	out := make([]webhookJSON, 0, len(*list))
	for _, w := range *list {
		out = append(out, webhookJSON{Name: w.Name, URL: w.URL, SecretEnv: w.SecretEnv, SecretFile: w.SecretFile, Events: w.Events})
	}
	slices.SortFunc(out, func(a, b webhookJSON) int { return strings.Compare(a.Name, b.Name) })
	return &out
}

package rules

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/strictyaml"
)

// Decide is a mall whose points its own CRM decides: decide: {url,
// secret_env | secret_file, timeout}. Instead of the file's rules, the
// service POSTs each payment and refund to URL, signed with the secret, and
// syncs what the CRM answers.
type Decide struct {
	// URL is where the decisions are asked: https, or http on a loopback
	// address.
	URL string `json:"url"`
	// SecretEnv or SecretFile names where the signing secret is: an
	// environment variable or a file. The secret itself is never in the
	// rules file, nor in anything the service shows or logs.
	SecretEnv  string `json:"secret_env,omitempty"`
	SecretFile string `json:"secret_file,omitempty"`
	// Timeout bounds one call.
	Timeout time.Duration `json:"timeout"`

	line    int // of decide:, and its field, for errors found when the secret is read
	field   string
	secrets [][]byte // read by Load; nil after Parse
}

// Secrets are the signing secrets, read from SecretEnv or SecretFile when
// the rules file was loaded: usually one; two while a secret is changed
// (written separated by a comma or on two lines), and the calls carry a
// signature by each. Nil when the rules were only parsed: an uploaded file
// is never given a secret, so nothing can call its URL.
func (d *Decide) Secrets() [][]byte { return d.secrets }

// Bounds of decide.
const (
	DefaultDecideTimeout = 5 * time.Second
	minDecideTimeout     = 100 * time.Millisecond
	// maxDecideTimeout stays below the outbox's job timeout, so a call
	// that times out is recorded as such.
	maxDecideTimeout = 10 * time.Second
	// MinSecretLen is the shortest signing secret accepted: 32 characters,
	// as `openssl rand -hex 32` makes 64.
	MinSecretLen = 32
	// maxSecretFile bounds the read of secret_file: a wrong path (a log)
	// fails rather than filling memory.
	maxSecretFile = 4096
)

// decideDoc is decide: as written.
type decideDoc struct {
	At         strictyaml.At `yaml:",inline"`
	URL        *scalar       `yaml:"url"`
	SecretEnv  *scalar       `yaml:"secret_env"`
	SecretFile *scalar       `yaml:"secret_file"`
	Timeout    *scalar       `yaml:"timeout"`
}

func (d *decideDoc) decide(field string) (*Decide, error) {
	out := &Decide{line: d.At.Line, field: field, Timeout: DefaultDecideTimeout}
	if d.URL == nil {
		return nil, d.At.Fail(field, "decide needs url: where the mall's CRM answers, https://…")
	}
	raw, err := d.URL.Value(strictyaml.Join(field, "url"))
	if err != nil {
		return nil, err
	}
	if err := CheckCallURL(raw); err != nil {
		return nil, d.URL.Fail(strictyaml.Join(field, "url"), "%v", err)
	}
	out.URL = raw
	switch {
	case d.SecretEnv != nil && d.SecretFile != nil:
		return nil, d.SecretFile.Fail(strictyaml.Join(field, "secret_file"), "give secret_env or secret_file, not both")
	case d.SecretEnv != nil:
		if out.SecretEnv, err = d.SecretEnv.Value(strictyaml.Join(field, "secret_env")); err != nil {
			return nil, err
		}
	case d.SecretFile != nil:
		if out.SecretFile, err = d.SecretFile.Value(strictyaml.Join(field, "secret_file")); err != nil {
			return nil, err
		}
	default:
		return nil, d.At.Fail(field, "decide needs secret_env or secret_file: where the signing secret shared with the CRM is (never the secret itself)")
	}
	if d.Timeout != nil {
		text, err := d.Timeout.Value(strictyaml.Join(field, "timeout"))
		if err != nil {
			return nil, err
		}
		t, perr := time.ParseDuration(text)
		if perr != nil || t < minDecideTimeout || t > maxDecideTimeout {
			return nil, d.Timeout.Fail(strictyaml.Join(field, "timeout"), "must be a duration from %v to %v such as 3s, got %q", minDecideTimeout, maxDecideTimeout, text)
		}
		out.Timeout = t
	}
	return out, nil
}

// CheckCallURL checks a URL the service calls with a mall's data (a decide
// or a webhook URL): absolute, without credentials, and https unless its
// host is a loopback address, so nothing leaves the machine in clear text.
func CheckCallURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return fmt.Errorf("%q is not an absolute URL such as https://crm.example.com/points", raw)
	case u.User != nil:
		return fmt.Errorf("must not carry a user or password; the calls are signed instead")
	case u.Fragment != "":
		return fmt.Errorf("must not have a #fragment")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && loopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("must be https: only a loopback address (127.0.0.1, ::1, localhost) may use http")
	}
	return fmt.Errorf("must be https, got scheme %q", u.Scheme)
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// readSecret reads d's secret from the environment or its file.
func (d *Decide) readSecret(getenv func(string) (string, bool)) (err error) {
	d.secrets, err = readSecrets(d.SecretEnv, d.SecretFile, d.line, d.field, getenv)
	return err
}

// readSecrets reads the signing secrets of a decide or a webhook, written at
// line under field, from the environment variable env or the file file.
func readSecrets(env, file string, line int, field string, getenv func(string) (string, bool)) ([][]byte, error) {
	var secret []byte
	if env != "" {
		v, ok := getenv(env)
		if !ok || v == "" {
			return nil, strictyaml.Fail(line, strictyaml.Join(field, "secret_env"), "environment variable %s is not set", env)
		}
		secret = []byte(v)
	} else {
		f, err := os.Open(file)
		if err != nil {
			return nil, strictyaml.Fail(line, strictyaml.Join(field, "secret_file"), "%v", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
		if err != nil {
			return nil, strictyaml.Fail(line, strictyaml.Join(field, "secret_file"), "%v", err)
		}
		if len(b) > maxSecretFile {
			return nil, strictyaml.Fail(line, strictyaml.Join(field, "secret_file"), "%s is longer than %d bytes: not a secret", file, maxSecretFile)
		}
		secret = b
	}
	var secrets [][]byte
	for _, s := range bytes.FieldsFunc(secret, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if s = bytes.TrimSpace(s); len(s) > 0 {
			secrets = append(secrets, s)
		}
	}
	if len(secrets) == 0 {
		return nil, strictyaml.Fail(line, field, "the signing secret is empty; make one with: openssl rand -hex 32")
	}
	for _, s := range secrets {
		if len(s) < MinSecretLen {
			return nil, strictyaml.Fail(line, field, "a signing secret is shorter than %d characters; make one with: openssl rand -hex 32", MinSecretLen)
		}
	}
	return secrets, nil
}

// readSecrets reads the secret of every decide and webhook in the file.
func (s *Set) readSecrets(getenv func(string) (string, bool)) error {
	sections := []section{s.def}
	for _, mchid := range slices.Sorted(maps.Keys(s.source)) {
		sections = append(sections, s.source[mchid])
	}
	for _, sec := range sections {
		if sec.decide != nil {
			if err := sec.decide.readSecret(getenv); err != nil {
				return err
			}
		}
		if sec.webhooks == nil {
			continue
		}
		for _, w := range *sec.webhooks {
			if err := w.readSecret(getenv); err != nil {
				return err
			}
		}
	}
	return nil
}

// decideJSON is decide: in the normalised rules: where the secret is, never
// the secret.
type decideJSON struct {
	URL        string `json:"url"`
	SecretEnv  string `json:"secret_env,omitempty"`
	SecretFile string `json:"secret_file,omitempty"`
	Timeout    string `json:"timeout"`
}

func (d *Decide) toJSON() *decideJSON {
	if d == nil {
		return nil
	}
	return &decideJSON{URL: d.URL, SecretEnv: d.SecretEnv, SecretFile: d.SecretFile, Timeout: d.Timeout.String()}
}

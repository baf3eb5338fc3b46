package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/seed2ac2593f/wxpay/credentials"
)

// flagConfig names the JSON file of credential settings, keyed by flag name.
const (
	flagConfig = "config"
	envConfig  = "WXPAY_CONFIG"
)

// settings are a command's credential flags: each falls back to its
// environment variable (see package credentials) and then to the --config
// file.
type settings struct {
	fs      *flag.FlagSet
	getenv  func(string) string
	flags   *credentials.Flags
	cfgPath *string
}

func newSettings(fs *flag.FlagSet, getenv func(string) string, parts credentials.Parts) *settings {
	return &settings{fs: fs, getenv: getenv, flags: credentials.Register(fs, parts), cfgPath: fs.String(flagConfig, "", "")}
}

// load reads the --config file, if any, and the credentials, requiring the
// parts in need. Call it once the flags are parsed.
func (s *settings) load(need credentials.Parts) (credentials.Sources, *credentials.Credentials, error) {
	config, err := s.config()
	if err != nil {
		return credentials.Sources{}, nil, err
	}
	src := s.flags.Sources(s.getenv, config)
	creds, err := src.Load(need)
	return src, creds, err
}

// config reads the --config file (or WXPAY_CONFIG), if any: a JSON object
// whose keys are flag names, e.g. {"mchid": "1900000109", "private-key":
// "apiclient_key.pem", "platform-cert": ["a.pem", "b.pem"]}. File paths in
// it are relative to it.
func (s *settings) config() (credentials.Lookup, error) {
	path, source := *s.cfgPath, "--"+flagConfig
	if !s.isSet(flagConfig) {
		path, source = s.getenv(envConfig), envConfig
	}
	if path == "" {
		return nil, nil
	}
	name := source + " " + path
	raw, err := readFileLimited(path, maxConfigBytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: not a JSON object: %v", name, err)
	}
	known := map[string]credentials.Setting{}
	for _, st := range credentials.Settings(credentials.All) {
		known[st.Flag] = st
	}
	values := map[string][]string{}
	for key, val := range doc {
		st, ok := known[key]
		if !ok {
			return nil, fmt.Errorf("%s: unknown key %q (keys are flag names, like \"mchid\")", name, key)
		}
		var one string
		var list []string
		if err := json.Unmarshal(val, &one); err == nil {
			list = []string{one}
		} else if !st.List || json.Unmarshal(val, &list) != nil {
			return nil, fmt.Errorf("%s: %q must be a string%s", name, key, map[bool]string{true: " or a list of strings"}[st.List])
		}
		if st.File {
			for i, v := range list {
				if v != "" && !filepath.IsAbs(v) {
					list[i] = filepath.Join(filepath.Dir(path), v)
				}
			}
		}
		values[key] = list
	}
	return func(flagName string) ([]string, string) {
		return values[flagName], fmt.Sprintf("%q in %s", flagName, name)
	}, nil
}

func (s *settings) isSet(name string) bool {
	set := false
	s.fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// warn prints the loader's warnings, such as a secret given as a flag.
func (c *cli) warn(creds *credentials.Credentials) {
	for _, w := range creds.Warnings {
		fmt.Fprintf(c.stderr, "wxpay: warning: %s\n", terminalText(w))
	}
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// splitPair splits "k=v" (for --query and --path-param) at the first "=".
func splitPair(flagName, v string) (string, string, error) {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("--%s %q: want k=v", flagName, v)
	}
	return k, val, nil
}

// parseHeader splits a --header value, "Name: value", and checks both parts
// the way HTTP/1.1 does. A line break in a value would end the header there,
// so such a header is refused before anything is sent rather than failing as
// a network error after the request was signed.
func parseHeader(v string) (string, string, error) {
	k, val, ok := strings.Cut(v, ":")
	k, val = strings.TrimSpace(k), strings.TrimSpace(val)
	switch {
	case !ok || k == "":
		return "", "", fmt.Errorf("--header %q: want 'Name: value'", v)
	case !isToken(k):
		return "", "", fmt.Errorf("--header %q: the name %q is not an HTTP token (letters, digits and !#$%%&'*+-.^_`|~ only)", v, k)
	}
	for _, r := range val {
		if r != '\t' && (r < 0x20 || r == 0x7f) {
			return "", "", fmt.Errorf("--header %q: the value has the control character %q; a header value cannot hold one", v, r)
		}
	}
	return k, val, nil
}

package credentials

import (
	"flag"
	"fmt"
	"strings"

	"github.com/seed2ac2593f/wxpay"
)

// Parts are groups of settings: what Register registers and what Load
// requires.
type Parts uint8

const (
	// Merchant signs requests: --mchid, --private-key, and --merchant-serial
	// or --merchant-cert; registered with --base-url.
	Merchant Parts = 1 << iota
	// Verifier verifies WeChat Pay's signatures: --wechatpay-public-key
	// with --wechatpay-public-key-id, and/or --platform-cert.
	Verifier
	// APIv3Key decrypts notifications and downloaded certificates:
	// --apiv3-key-file or --apiv3-key.
	APIv3Key
	// All is every part: what a service receiving notifications needs.
	All = Merchant | Verifier | APIv3Key
)

// A Setting describes one credential flag and its environment variable.
type Setting struct {
	Flag  string // "mchid", used as --mchid
	Env   string // WXPAY_MCHID
	Arg   string // what the value is, for help: ID, FILE, KEY, URL
	Usage string // one line of help
	File  bool   // the value is a file path
	List  bool   // repeatable; the variable is comma-separated

	part   Parts
	choice string // settings of one choice are resolved together
	source func(*Sources) *Source
}

// settings is the one table of credential flags, in the order of the help.
var settings = []Setting{
	{Flag: "base-url", Env: "WXPAY_BASE_URL", Arg: "URL", Usage: "default " + wxpay.DefaultBaseURL,
		part: Merchant, source: func(s *Sources) *Source { return &s.BaseURL }},
	{Flag: "mchid", Env: "WXPAY_MCHID", Arg: "ID", Usage: "the merchant (a service provider's own mchid in partner mode)",
		part: Merchant, source: func(s *Sources) *Source { return &s.MchID }},
	{Flag: "private-key", Env: "WXPAY_PRIVATE_KEY", Arg: "FILE", Usage: "merchant API private key, apiclient_key.pem", File: true,
		part: Merchant, source: func(s *Sources) *Source { return &s.PrivateKeyFile }},
	{Flag: "merchant-serial", Env: "WXPAY_MERCHANT_SERIAL", Arg: "SERIAL", Usage: "serial of the merchant API certificate, or",
		part: Merchant, choice: "serial", source: func(s *Sources) *Source { return &s.MerchantSerial }},
	{Flag: "merchant-cert", Env: "WXPAY_MERCHANT_CERT", Arg: "FILE", Usage: "apiclient_cert.pem, to read the serial from", File: true,
		part: Merchant, choice: "serial", source: func(s *Sources) *Source { return &s.MerchantCertFile }},
	{Flag: "wechatpay-public-key", Env: "WXPAY_WECHATPAY_PUBLIC_KEY", Arg: "FILE", Usage: "WeChat Pay public key, pub_key.pem, with", File: true,
		part: Verifier, source: func(s *Sources) *Source { return &s.PublicKeyFile }},
	{Flag: "wechatpay-public-key-id", Env: "WXPAY_WECHATPAY_PUBLIC_KEY_ID", Arg: "ID", Usage: "its id, PUB_KEY_ID_…",
		part: Verifier, source: func(s *Sources) *Source { return &s.PublicKeyID }},
	{Flag: "platform-cert", Env: "WXPAY_PLATFORM_CERTS", Arg: "FILE", Usage: "platform certificate; repeatable", File: true, List: true,
		part: Verifier},
	{Flag: "apiv3-key-file", Env: "WXPAY_APIV3_KEY_FILE", Arg: "FILE", Usage: "a file holding the 32-character APIv3 key, or", File: true,
		part: APIv3Key, choice: "apiv3", source: func(s *Sources) *Source { return &s.APIv3KeyFile }},
	{Flag: "apiv3-key", Env: "WXPAY_APIV3_KEY", Arg: "KEY", Usage: "the key itself (on the command line, other users can read it)",
		part: APIv3Key, choice: "apiv3", source: func(s *Sources) *Source { return &s.APIv3Key }},
}

// Settings returns the settings of parts, in the order of the help.
func Settings(parts Parts) []Setting {
	var out []Setting
	for _, s := range settings {
		if s.part&parts != 0 {
			out = append(out, s)
		}
	}
	return out
}

// Usage returns the help of the settings of parts, one line each:
//
//	--mchid ID                     [WXPAY_MCHID] the merchant …
func Usage(parts Parts) string {
	var b strings.Builder
	for _, s := range Settings(parts) {
		fmt.Fprintf(&b, "  %-30s %s %s\n", "--"+s.Flag+" "+s.Arg, s.envHelp(), s.Usage)
	}
	return b.String()
}

func (s Setting) envHelp() string {
	if s.List {
		return "[" + s.Env + ", comma-separated]"
	}
	return "[" + s.Env + "]"
}

// either names where s could be given: "--mchid (or WXPAY_MCHID)".
func (s Setting) either() string { return "--" + s.Flag + " (or " + s.Env + ")" }

// Flags are the credential flags registered on a flag set.
type Flags struct {
	fs       *flag.FlagSet
	settings []Setting
	values   map[string]*string
	certs    listValue
}

// Register registers the flags of parts on fs, each with its variable in its
// usage, and returns them to be read once fs is parsed.
func Register(fs *flag.FlagSet, parts Parts) *Flags {
	f := &Flags{fs: fs, settings: Settings(parts), values: map[string]*string{}}
	for _, s := range f.settings {
		usage := s.envHelp() + " " + s.Usage
		if s.List {
			fs.Var(&f.certs, s.Flag, usage)
			continue
		}
		f.values[s.Flag] = fs.String(s.Flag, "", usage)
	}
	return f
}

// A Lookup finds a setting, by its flag name, in a further place such as a
// configuration file: its values (several only for a List setting) and how
// to name where they came from. No values means it is not there.
type Lookup func(flagName string) (values []string, from string)

// Sources returns what the parsed flags, then the environment (read with
// getenv), then fallback (which may be nil) say. A flag given on the command
// line wins, even when empty. The merchant serial and certificate are one
// choice, as are the APIv3 key and its file: the first of the three places
// that gives either gives both.
func (f *Flags) Sources(getenv func(string) string, fallback Lookup) Sources {
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	lookup := []func(Setting) ([]string, string, bool){
		func(s Setting) ([]string, string, bool) {
			if !given[s.Flag] {
				return nil, "", false
			}
			if s.List {
				return f.certs, "--" + s.Flag, true
			}
			return []string{*f.values[s.Flag]}, "--" + s.Flag, true
		},
		func(s Setting) ([]string, string, bool) {
			v := getenv(s.Env)
			if !s.List {
				return []string{v}, s.Env, v != ""
			}
			var out []string
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
			return out, s.Env, len(out) > 0
		},
		func(s Setting) ([]string, string, bool) {
			if fallback == nil {
				return nil, "", false
			}
			v, from := fallback(s.Flag)
			return v, from, len(v) > 0
		},
	}

	var src Sources
	for _, s := range f.settings {
		group := []Setting{s}
		if s.choice != "" {
			group = group[:0]
			for _, o := range f.settings {
				if o.choice == s.choice {
					group = append(group, o)
				}
			}
		}
		// The first place that gives any setting of the group.
		place := -1
		for i, find := range lookup {
			for _, g := range group {
				if _, _, ok := find(g); ok {
					place = i
				}
			}
			if place >= 0 {
				break
			}
		}
		var values []string
		var from string
		if place >= 0 {
			values, from, _ = lookup[place](s)
		}
		if len(values) == 0 || values[0] == "" {
			// Not given, or given empty: name every place it could come from.
			values, from = nil, s.either()
		}
		if s.List {
			src.PlatformCertFiles = ListSource{Values: values, From: from}
			continue
		}
		v := Source{From: from, OnCommandLine: place == 0 && values != nil}
		if values != nil {
			v.Value = values[0]
		}
		*s.source(&src) = v
	}
	return src
}

// listValue is a repeatable string flag.
type listValue []string

func (l *listValue) String() string     { return strings.Join(*l, ",") }
func (l *listValue) Set(v string) error { *l = append(*l, v); return nil }

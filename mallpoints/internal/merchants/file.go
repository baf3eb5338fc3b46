package merchants

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/seed2ac2593f/wxpay/credentials"
)

// The merchants file as written: the structs yaml decodes it into (with
// KnownFields, so an unknown key is an error) and the checks that turn them
// into specs. Every value is a scalar that keeps its line, so a check made
// after decoding, or a key file that fails to load, names its line.

// MaxSize is the largest merchants file Load accepts: a provider's thousand
// sub-merchants take about 20 KB.
const MaxSize = 1 << 20

type fileDoc struct {
	Merchants *[]merchantDoc `yaml:"merchants"`
}

type merchantDoc struct {
	At                   at       `yaml:",inline"`
	MchID                *scalar  `yaml:"mchid"`
	Name                 *scalar  `yaml:"name"`
	Mode                 *scalar  `yaml:"mode"`
	PrivateKey           *scalar  `yaml:"private_key"`
	MerchantCert         *scalar  `yaml:"merchant_cert"`
	MerchantSerial       *scalar  `yaml:"merchant_serial"`
	WechatPayPublicKey   *scalar  `yaml:"wechatpay_public_key"`
	WechatPayPublicKeyID *scalar  `yaml:"wechatpay_public_key_id"`
	PlatformCerts        *scalars `yaml:"platform_certs"`
	APIv3KeyEnv          *scalar  `yaml:"apiv3_key_env"`
	APIv3KeyFile         *scalar  `yaml:"apiv3_key_file"`
	SubMchIDs            *scalars `yaml:"sub_mchids"`
}

// knownKeys are a merchant's keys, for the error about an unknown one.
const knownKeys = "mchid, name, mode, private_key, merchant_cert, merchant_serial, wechatpay_public_key, " +
	"wechatpay_public_key_id, platform_certs, apiv3_key_env, apiv3_key_file, sub_mchids"

// at records the line of the mapping it is inlined in. Being inlined, it
// leaves the mapping's keys to yaml, which keeps checking them.
type at struct{ line int }

func (a *at) UnmarshalYAML(n *yaml.Node) error {
	a.line = n.Line
	return nil
}

// scalar is a value as written, with its line: an mchid stays text rather
// than becoming a number. A list or mapping where a value belongs is kept
// for the check to refuse.
type scalar struct {
	text   string
	line   int
	single bool
}

func (s *scalar) UnmarshalYAML(n *yaml.Node) error {
	*s = scalar{text: n.Value, line: n.Line, single: n.Kind == yaml.ScalarNode}
	return nil
}

// scalars is a list of values with the line of the list.
type scalars struct {
	items []scalar
	line  int
	list  bool
}

func (l *scalars) UnmarshalYAML(n *yaml.Node) error {
	*l = scalars{line: n.Line, list: n.Kind == yaml.SequenceNode}
	if l.list {
		l.items = make([]scalar, len(n.Content))
		for i, c := range n.Content {
			_ = l.items[i].UnmarshalYAML(c)
		}
	}
	return nil
}

// Error is a merchants file that cannot be used: where and what. It never
// quotes a key.
type Error struct {
	File    string // the file as given to Load
	Line    int    // 1-based; 0 when the problem is the whole file
	Field   string // the key at fault, such as "merchants[1].sub_mchids[3]"
	Problem string
}

// Error returns "merchants.yaml:12: merchants[1].sub_mchids[3]: mall
// 1900000301 is already listed at line 4".
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

func fail(line int, field, format string, args ...any) *Error {
	return &Error{Line: line, Field: field, Problem: fmt.Sprintf(format, args...)}
}

// spec is one merchant as the file gives it, checked, its files not read yet.
type spec struct {
	line      int
	field     string // merchants[i]
	mchID     string
	name      string
	mode      Mode
	subs      []string
	sources   credentials.Sources
	apiv3Env  *scalar // the variable holding the APIv3 key, when the file names one
	lines     map[string]int
	platforms bool // platform certificates given: keep them current
}

// parse reads a merchants file and checks all of it but the files it names;
// relative paths are taken from dir. Decoding is strict: an unknown key, a
// key given twice, anchors, aliases, merge keys, custom tags and a second
// document are errors.
func parse(data []byte, dir string) ([]spec, error) {
	if len(data) > MaxSize {
		return nil, &Error{Problem: fmt.Sprintf("the file is larger than %d bytes", MaxSize)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Problem: "the file lists no merchants (merchants: [- mchid: …])"}
		}
		return nil, yamlError(err)
	}
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case err == nil:
		return nil, &Error{Line: max(second.Line, 1), Problem: "a merchants file is one YAML document; remove the second one (after ---)"}
	case !errors.Is(err, io.EOF):
		return nil, yamlError(err)
	}
	if err := check(&doc, 0); err != nil {
		return nil, err
	}
	var f fileDoc
	dec = yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, yamlError(err)
	}
	if f.Merchants == nil || len(*f.Merchants) == 0 {
		return nil, &Error{Line: 1, Field: "merchants", Problem: "the file lists no merchants (merchants: [- mchid: …])"}
	}
	var specs []spec
	listed := map[string]int{} // every mchid and sub_mchid, with its line
	for i, d := range *f.Merchants {
		sp, err := d.spec(fmt.Sprintf("merchants[%d]", i), dir)
		if err != nil {
			return nil, err
		}
		ids := []*scalar{d.MchID}
		if d.SubMchIDs != nil {
			for j := range d.SubMchIDs.items {
				ids = append(ids, &d.SubMchIDs.items[j])
			}
		}
		for j, s := range ids {
			field := sp.field + ".mchid"
			if j > 0 {
				field = fmt.Sprintf("%s.sub_mchids[%d]", sp.field, j-1)
			}
			if first, dup := listed[s.text]; dup {
				return nil, fail(s.line, field, "mall %s is already listed at line %d; a mall belongs to one merchant", s.text, first)
			}
			listed[s.text] = s.line
		}
		specs = append(specs, sp)
	}
	return specs, nil
}

// spec checks one merchant's keys.
func (d *merchantDoc) spec(field, dir string) (spec, error) {
	sp := spec{line: d.At.line, field: field, mode: Direct, lines: map[string]int{}}
	key := func(k string) string { return field + "." + k }
	if d.MchID == nil {
		return sp, fail(d.At.line, field, "a merchant needs its mchid")
	}
	var err error
	if sp.mchID, err = d.MchID.mchID(key("mchid")); err != nil {
		return sp, err
	}
	if d.Name != nil {
		if sp.name, err = d.Name.displayName(key("name")); err != nil {
			return sp, err
		}
	}
	if d.Mode != nil {
		mode, err := d.Mode.value(key("mode"))
		if err != nil {
			return sp, err
		}
		if mode != string(Direct) && mode != string(Partner) {
			return sp, fail(d.Mode.line, key("mode"), "must be merchant (a directly connected mall) or partner (a service provider, with sub_mchids), got %q", mode)
		}
		sp.mode = Mode(mode)
	}
	if d.SubMchIDs != nil {
		if sp.mode != Partner {
			return sp, fail(d.SubMchIDs.line, key("sub_mchids"), "only a merchant in mode: partner serves sub-merchants")
		}
		if !d.SubMchIDs.list {
			return sp, fail(d.SubMchIDs.line, key("sub_mchids"), "must be a list (items starting with -, or [a, b])")
		}
		for i := range d.SubMchIDs.items {
			s := &d.SubMchIDs.items[i]
			id, err := s.mchID(fmt.Sprintf("%s[%d]", key("sub_mchids"), i))
			if err != nil {
				return sp, err
			}
			sp.subs = append(sp.subs, id)
		}
	}

	// Where each credential comes from, named as credentials' errors name it.
	src := &sp.sources
	src.MchID = credentials.Source{Value: sp.mchID, From: key("mchid")}
	sp.lines[key("mchid")] = d.MchID.line
	path := func(s *scalar, k string) (credentials.Source, error) {
		if s == nil {
			return credentials.Source{From: key(k)}, nil
		}
		v, err := s.value(key(k))
		if err != nil {
			return credentials.Source{}, err
		}
		if !filepath.IsAbs(v) {
			v = filepath.Join(dir, v)
		}
		sp.lines[key(k)] = s.line
		return credentials.Source{Value: v, From: key(k)}, nil
	}
	text := func(s *scalar, k string) (credentials.Source, error) {
		if s == nil {
			return credentials.Source{From: key(k)}, nil
		}
		v, err := s.value(key(k))
		sp.lines[key(k)] = s.line
		return credentials.Source{Value: v, From: key(k)}, err
	}
	if d.PrivateKey == nil {
		return sp, fail(d.At.line, field, "merchant %s needs private_key: the file of its API private key (apiclient_key.pem)", sp.mchID)
	}
	if src.PrivateKeyFile, err = path(d.PrivateKey, "private_key"); err != nil {
		return sp, err
	}
	if d.MerchantCert == nil && d.MerchantSerial == nil {
		return sp, fail(d.At.line, field, "merchant %s needs merchant_cert (apiclient_cert.pem) or merchant_serial", sp.mchID)
	}
	if src.MerchantCertFile, err = path(d.MerchantCert, "merchant_cert"); err != nil {
		return sp, err
	}
	if src.MerchantSerial, err = text(d.MerchantSerial, "merchant_serial"); err != nil {
		return sp, err
	}
	switch {
	case d.WechatPayPublicKey != nil && d.WechatPayPublicKeyID == nil:
		return sp, fail(d.WechatPayPublicKey.line, key("wechatpay_public_key"), "needs wechatpay_public_key_id (PUB_KEY_ID_…) beside it")
	case d.WechatPayPublicKey == nil && d.WechatPayPublicKeyID != nil:
		return sp, fail(d.WechatPayPublicKeyID.line, key("wechatpay_public_key_id"), "needs wechatpay_public_key (pub_key.pem) beside it")
	case d.WechatPayPublicKey == nil && d.PlatformCerts == nil:
		return sp, fail(d.At.line, field, "merchant %s needs a key to verify WeChat Pay with: wechatpay_public_key with wechatpay_public_key_id, and/or platform_certs", sp.mchID)
	}
	if src.PublicKeyFile, err = path(d.WechatPayPublicKey, "wechatpay_public_key"); err != nil {
		return sp, err
	}
	if src.PublicKeyID, err = text(d.WechatPayPublicKeyID, "wechatpay_public_key_id"); err != nil {
		return sp, err
	}
	src.PlatformCertFiles.From = key("platform_certs")
	if l := d.PlatformCerts; l != nil {
		if !l.list || len(l.items) == 0 {
			return sp, fail(l.line, key("platform_certs"), "must be a list of certificate files (items starting with -, or [a, b])")
		}
		sp.lines[key("platform_certs")] = l.line
		for i := range l.items {
			p, err := path(&l.items[i], fmt.Sprintf("platform_certs[%d]", i))
			if err != nil {
				return sp, err
			}
			src.PlatformCertFiles.Values = append(src.PlatformCertFiles.Values, p.Value)
		}
		sp.platforms = true
	}
	switch {
	case d.APIv3KeyEnv != nil && d.APIv3KeyFile != nil:
		return sp, fail(d.APIv3KeyFile.line, key("apiv3_key_file"), "give apiv3_key_env or apiv3_key_file, not both")
	case d.APIv3KeyEnv != nil:
		name, err := d.APIv3KeyEnv.value(key("apiv3_key_env"))
		if err != nil {
			return sp, err
		}
		if !envName.MatchString(name) {
			return sp, d.APIv3KeyEnv.fail(key("apiv3_key_env"), "must name an environment variable (letters, digits and _), never hold the key itself")
		}
		sp.apiv3Env = d.APIv3KeyEnv
	case d.APIv3KeyFile != nil:
		if src.APIv3KeyFile, err = path(d.APIv3KeyFile, "apiv3_key_file"); err != nil {
			return sp, err
		}
	default:
		return sp, fail(d.At.line, field, "merchant %s needs apiv3_key_env or apiv3_key_file: where its APIv3 key is (never the key itself)", sp.mchID)
	}
	src.APIv3Key.From = key("apiv3_key_env")
	return sp, nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (s *scalar) fail(field, format string, args ...any) *Error {
	return fail(s.line, field, format, args...)
}

// value returns the text of a single value that is not empty.
func (s *scalar) value(field string) (string, error) {
	switch {
	case !s.single:
		return "", s.fail(field, "must be a single value, not a list or mapping")
	case s.text == "":
		return "", s.fail(field, "must not be empty")
	}
	return s.text, nil
}

// mchID reads a merchant id: 1 to 32 letters or digits, as sub_mchid is in
// the business-circle calls.
func (s *scalar) mchID(field string) (string, error) {
	text, err := s.value(field)
	if err != nil {
		return "", err
	}
	for _, c := range []byte(text) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return "", s.fail(field, "must be 1 to 32 letters or digits, got %q", text)
		}
	}
	if len(text) > 32 {
		return "", s.fail(field, "must be 1 to 32 letters or digits, got %d bytes", len(text))
	}
	return text, nil
}

// displayName reads a mall's name as people read it: at most 128 bytes of
// UTF-8 (42 Chinese characters), no control characters.
func (s *scalar) displayName(field string) (string, error) {
	text, err := s.value(field)
	switch {
	case err != nil:
		return "", err
	case len(text) > 128:
		return "", s.fail(field, "must be at most 128 bytes of UTF-8, got %d", len(text))
	case strings.IndexFunc(text, unicode.IsControl) >= 0 || strings.ContainsRune(text, unicode.ReplacementChar):
		return "", s.fail(field, "must be valid UTF-8 without control characters")
	}
	return text, nil
}

// check refuses what the file never needs and yaml would accept: anchors
// and aliases, merge keys, custom tags, keys that are not names, and a
// shape deeper than merchants[i].sub_mchids[j].
func check(n *yaml.Node, depth int) error {
	switch {
	case depth > 5:
		return fail(n.Line, "", "nested deeper than a merchants file goes")
	case n.Kind == yaml.AliasNode || n.Anchor != "":
		return fail(n.Line, "", "anchors and aliases (&name, *name) are not supported: write the keys out")
	case n.Tag != "" && !strings.HasPrefix(n.ShortTag(), "!!"):
		return fail(n.Line, "", "custom YAML tag %s is not supported", n.Tag)
	}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 {
			switch {
			case c.ShortTag() == "!!merge":
				return fail(c.Line, "", "merge keys (<<) are not supported: write the keys out")
			case c.Kind != yaml.ScalarNode || c.ShortTag() != "!!str":
				return fail(c.Line, "", "a key must be a name such as mchid")
			}
		}
		if err := check(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

var (
	yamlLine     = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownKey   = regexp.MustCompile(`^field (\S+) not found in type merchants\.(\w+)$`)
	duplicateKey = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
	wrongKind    = regexp.MustCompile("^cannot unmarshal (\\S+)(?: `.*`)? into (\\S+)$")
)

// yamlError turns yaml's syntax and decoding errors into an *Error naming
// the line and, for a key, the key.
func yamlError(err error) error {
	msg := err.Error()
	if te, ok := errors.AsType[*yaml.TypeError](err); ok && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return &Error{Problem: "YAML: " + strings.TrimPrefix(msg, "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	problem := m[2]
	if k := unknownKey.FindStringSubmatch(problem); k != nil {
		where := "here: merchants"
		if k[2] == "merchantDoc" {
			where = "of a merchant: " + knownKeys
		}
		return &Error{Line: line, Field: k[1], Problem: "unknown key; the keys " + where}
	}
	if k := duplicateKey.FindStringSubmatch(problem); k != nil {
		return &Error{Line: line, Field: k[1], Problem: "given twice (first at line " + k[2] + ")"}
	}
	if k := wrongKind.FindStringSubmatch(problem); k != nil {
		want := "a mapping of " + knownKeys
		switch {
		case strings.HasPrefix(k[2], "[]"):
			want = "a list (items starting with -)"
		case k[2] == "merchants.fileDoc":
			want = "a mapping with the key merchants"
		}
		return &Error{Line: line, Problem: "must be " + want}
	}
	if _, typeErr := errors.AsType[*yaml.TypeError](err); !typeErr {
		problem = "YAML syntax: " + problem
	}
	return &Error{Line: line, Problem: problem}
}

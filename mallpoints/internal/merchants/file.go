package merchants

import (
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"github.com/seed2ac2593f/wxpay/credentials"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/strictyaml"
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
	At                   strictyaml.At `yaml:",inline"`
	MchID                *scalar       `yaml:"mchid"`
	Name                 *scalar       `yaml:"name"`
	Mode                 *scalar       `yaml:"mode"`
	PrivateKey           *scalar       `yaml:"private_key"`
	MerchantCert         *scalar       `yaml:"merchant_cert"`
	MerchantSerial       *scalar       `yaml:"merchant_serial"`
	WechatPayPublicKey   *scalar       `yaml:"wechatpay_public_key"`
	WechatPayPublicKeyID *scalar       `yaml:"wechatpay_public_key_id"`
	PlatformCerts        *scalars      `yaml:"platform_certs"`
	APIv3KeyEnv          *scalar       `yaml:"apiv3_key_env"`
	APIv3KeyFile         *scalar       `yaml:"apiv3_key_file"`
	SubMchIDs            *scalars      `yaml:"sub_mchids"`
}

// scalar is a value as written, with its line, and the checks of the
// file's values; scalars is a list of them, such as sub_mchids.
type (
	scalar  struct{ strictyaml.Scalar }
	scalars = strictyaml.List[scalar, *scalar]
)

// Error is a merchants file that cannot be used: where and what. It never
// quotes a key.
type Error = strictyaml.Error

// merchantsFile is how the merchants file is decoded: strictly, deep
// enough for merchants[i].sub_mchids[j], its problems named in its own
// words.
var merchantsFile = strictyaml.File{
	Name: "merchants file", Root: fileDoc{}, MaxSize: MaxSize, MaxDepth: 5, KeyExample: "mchid", AnchorHint: "write the keys out",
	Known: func(t, keys string) string {
		if t == "merchants.merchantDoc" {
			return "the keys of a merchant: " + keys
		}
		return "the keys here: " + keys
	},
	Mapping: func(t, keys string) string {
		if t == "merchants.fileDoc" {
			return "a mapping with the key merchants"
		}
		return "a mapping of " + keys
	},
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
// relative paths are taken from dir. Decoding is strict, as the rules
// file's: an unknown key, a key given twice, an empty value, anchors,
// aliases, merge keys, custom tags and a second document are errors.
func parse(data []byte, dir string) ([]spec, error) {
	var f fileDoc
	switch err := merchantsFile.Decode(data, &f); {
	case errors.Is(err, io.EOF):
		return nil, &Error{Problem: "the file lists no merchants (merchants: [- mchid: …])"}
	case err != nil:
		return nil, err
	}
	if f.Merchants == nil || len(*f.Merchants) == 0 {
		return nil, &Error{Line: 1, Field: "merchants", Problem: "the file lists no merchants (merchants: [- mchid: …])"}
	}
	var specs []spec
	listed := map[string]int{} // every mchid and sub_mchid, with its line
	for i, d := range *f.Merchants {
		sp, err := d.spec(strictyaml.Index("merchants", i), dir)
		if err != nil {
			return nil, err
		}
		ids := []*scalar{d.MchID}
		if d.SubMchIDs != nil {
			for j := range d.SubMchIDs.Items {
				ids = append(ids, &d.SubMchIDs.Items[j])
			}
		}
		for j, s := range ids {
			field := sp.field + ".mchid"
			if j > 0 {
				field = strictyaml.Index(sp.field+".sub_mchids", j-1)
			}
			if first, dup := listed[s.Text]; dup {
				return nil, s.Fail(field, "mall %s is already listed at line %d; a mall belongs to one merchant", s.Text, first)
			}
			listed[s.Text] = s.Line
		}
		specs = append(specs, sp)
	}
	return specs, nil
}

// spec checks one merchant's keys.
func (d *merchantDoc) spec(field, dir string) (spec, error) {
	sp := spec{line: d.At.Line, field: field, mode: Direct, lines: map[string]int{}}
	key := func(k string) string { return strictyaml.Join(field, k) }
	if d.MchID == nil {
		return sp, d.At.Fail(field, "a merchant needs its mchid")
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
		mode, err := d.Mode.Value(key("mode"))
		if err != nil {
			return sp, err
		}
		if mode != string(Direct) && mode != string(Partner) {
			return sp, d.Mode.Fail(key("mode"), "must be merchant (a directly connected mall) or partner (a service provider, with sub_mchids), got %q", mode)
		}
		sp.mode = Mode(mode)
	}
	if d.SubMchIDs != nil {
		if sp.mode != Partner {
			return sp, d.SubMchIDs.Fail(key("sub_mchids"), "only a merchant in mode: partner serves sub-merchants")
		}
		if sp.subs, err = strictyaml.Each(d.SubMchIDs, key("sub_mchids"), (*scalar).mchID); err != nil {
			return sp, err
		}
	}

	// Where each credential comes from, named as credentials' errors name it.
	src := &sp.sources
	src.MchID = credentials.Source{Value: sp.mchID, From: key("mchid")}
	sp.lines[key("mchid")] = d.MchID.Line
	path := func(s *scalar, k string) (credentials.Source, error) {
		if s == nil {
			return credentials.Source{From: key(k)}, nil
		}
		v, err := s.Value(key(k))
		if err != nil {
			return credentials.Source{}, err
		}
		if !filepath.IsAbs(v) {
			v = filepath.Join(dir, v)
		}
		sp.lines[key(k)] = s.Line
		return credentials.Source{Value: v, From: key(k)}, nil
	}
	text := func(s *scalar, k string) (credentials.Source, error) {
		if s == nil {
			return credentials.Source{From: key(k)}, nil
		}
		v, err := s.Value(key(k))
		sp.lines[key(k)] = s.Line
		return credentials.Source{Value: v, From: key(k)}, err
	}
	if d.PrivateKey == nil {
		return sp, d.At.Fail(field, "merchant %s needs private_key: the file of its API private key (apiclient_key.pem)", sp.mchID)
	}
	if src.PrivateKeyFile, err = path(d.PrivateKey, "private_key"); err != nil {
		return sp, err
	}
	if d.MerchantCert == nil && d.MerchantSerial == nil {
		return sp, d.At.Fail(field, "merchant %s needs merchant_cert (apiclient_cert.pem) or merchant_serial", sp.mchID)
	}
	if src.MerchantCertFile, err = path(d.MerchantCert, "merchant_cert"); err != nil {
		return sp, err
	}
	if src.MerchantSerial, err = text(d.MerchantSerial, "merchant_serial"); err != nil {
		return sp, err
	}
	switch {
	case d.WechatPayPublicKey != nil && d.WechatPayPublicKeyID == nil:
		return sp, d.WechatPayPublicKey.Fail(key("wechatpay_public_key"), "needs wechatpay_public_key_id (PUB_KEY_ID_…) beside it")
	case d.WechatPayPublicKey == nil && d.WechatPayPublicKeyID != nil:
		return sp, d.WechatPayPublicKeyID.Fail(key("wechatpay_public_key_id"), "needs wechatpay_public_key (pub_key.pem) beside it")
	case d.WechatPayPublicKey == nil && d.PlatformCerts == nil:
		return sp, d.At.Fail(field, "merchant %s needs a key to verify WeChat Pay with: wechatpay_public_key with wechatpay_public_key_id, and/or platform_certs", sp.mchID)
	}
	if src.PublicKeyFile, err = path(d.WechatPayPublicKey, "wechatpay_public_key"); err != nil {
		return sp, err
	}
	if src.PublicKeyID, err = text(d.WechatPayPublicKeyID, "wechatpay_public_key_id"); err != nil {
		return sp, err
	}
	src.PlatformCertFiles.From = key("platform_certs")
	if l := d.PlatformCerts; l != nil {
		if !l.IsList || len(l.Items) == 0 {
			return sp, l.Fail(key("platform_certs"), "must be a list of certificate files (items starting with -, or [a, b])")
		}
		sp.lines[key("platform_certs")] = l.Line
		for i := range l.Items {
			p, err := path(&l.Items[i], strictyaml.Index("platform_certs", i))
			if err != nil {
				return sp, err
			}
			src.PlatformCertFiles.Values = append(src.PlatformCertFiles.Values, p.Value)
		}
		sp.platforms = true
	}
	switch {
	case d.APIv3KeyEnv != nil && d.APIv3KeyFile != nil:
		return sp, d.APIv3KeyFile.Fail(key("apiv3_key_file"), "give apiv3_key_env or apiv3_key_file, not both")
	case d.APIv3KeyEnv != nil:
		name, err := d.APIv3KeyEnv.Value(key("apiv3_key_env"))
		if err != nil {
			return sp, err
		}
		if !envName.MatchString(name) {
			return sp, d.APIv3KeyEnv.Fail(key("apiv3_key_env"), "must name an environment variable (letters, digits and _), never hold the key itself")
		}
		sp.apiv3Env = d.APIv3KeyEnv
	case d.APIv3KeyFile != nil:
		if src.APIv3KeyFile, err = path(d.APIv3KeyFile, "apiv3_key_file"); err != nil {
			return sp, err
		}
	default:
		return sp, d.At.Fail(field, "merchant %s needs apiv3_key_env or apiv3_key_file: where its APIv3 key is (never the key itself)", sp.mchID)
	}
	src.APIv3Key.From = key("apiv3_key_env")
	return sp, nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// mchID reads a merchant id: 1 to 32 letters or digits, as sub_mchid is in
// the business-circle calls.
func (s *scalar) mchID(field string) (string, error) {
	text, err := s.Value(field)
	if err != nil {
		return "", err
	}
	for _, c := range []byte(text) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return "", s.Fail(field, "must be 1 to 32 letters or digits, got %q", text)
		}
	}
	if len(text) > 32 {
		return "", s.Fail(field, "must be 1 to 32 letters or digits, got %d bytes", len(text))
	}
	return text, nil
}

// displayName reads a mall's name as people read it: at most 128 bytes of
// UTF-8 (42 Chinese characters), no control characters.
func (s *scalar) displayName(field string) (string, error) {
	text, err := s.Value(field)
	switch {
	case err != nil:
		return "", err
	case len(text) > 128:
		return "", s.Fail(field, "must be at most 128 bytes of UTF-8, got %d", len(text))
	case strings.IndexFunc(text, unicode.IsControl) >= 0 || strings.ContainsRune(text, unicode.ReplacementChar):
		return "", s.Fail(field, "must be valid UTF-8 without control characters")
	}
	return text, nil
}

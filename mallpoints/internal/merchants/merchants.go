package merchants

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/credentials"
	"github.com/seed2ac2593f/wxpay/notify"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/strictyaml"
)

// Mode is how a merchant serves malls.
type Mode string

const (
	// Direct is a directly connected merchant (直连商户): its mchid is its
	// mall. The file writes it mode: merchant.
	Direct Mode = "merchant"
	// Partner is a service provider (服务商): it serves its sub-merchants,
	// each a mall, naming them in sub_mchid.
	Partner Mode = "partner"
)

// RefreshInterval is how often a merchant's platform certificates are
// downloaded again, as WeChat Pay rotates them.
const RefreshInterval = 12 * time.Hour

// Merchant is one merchant in force: its client signs the syncs of its
// malls, its parser verifies and decrypts the notifications that arrive at
// its URL, with its keys only.
type Merchant struct {
	MchID string
	// Name is the display name of its mall (a direct merchant's); "" when
	// the file gives none.
	Name      string
	Mode      Mode
	SubMchIDs []string
	Client    *wxpay.Client
	Parser    *notify.Parser
	// Cert is the merchant API certificate (merchant_cert), for its
	// expiry; nil when the file gives merchant_serial only.
	Cert *x509.Certificate

	platforms bool // platform certificates given: keep them current
	refresher *wxpay.CertificateRefresher
}

// Set is the merchants of one merchants file, or the one merchant of the
// command-line flags (Single). It is read-only once made, but for the
// certificate refreshers StartRefresh starts.
type Set struct {
	list  []*Merchant
	byID  map[string]*Merchant
	owner map[string]*Merchant // mall → the merchant that serves it
	// open serves every mall the file does not list: the one merchant of
	// the flags, whose other malls are its sub-merchants. nil for a file.
	open *Merchant
	// mu guards the refreshers of list.
	mu sync.Mutex
}

// Options are what Load needs besides the file.
type Options struct {
	// BaseURL is where every merchant's client calls WeChat Pay; empty
	// means wxpay.DefaultBaseURL. It is --base-url, shared by all.
	BaseURL string
	// Client are options added to each merchant's client, after its
	// credentials: wxpay.WithoutRetries, a logger, an HTTP client.
	Client []wxpay.Option
	// LookupEnv reads the variables apiv3_key_env names; nil means
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Load reads the merchants file at path (at most MaxSize bytes), checks
// it, reads every key file it names (relative paths are taken from the
// file's folder) and the APIv3 keys from their variables or files, and
// makes each merchant's client and parser. Problems are *Error, naming the
// file's line, and never quote a key.
func Load(path string, opts Options) (*Set, error) {
	data, err := merchantsFile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("merchants: %w", err)
	}
	s, err := load(data, filepath.Dir(path), opts)
	return s, strictyaml.InFile(err, path)
}

func load(data []byte, dir string, opts Options) (*Set, error) {
	specs, err := parse(data, dir)
	if err != nil {
		return nil, err
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	s := &Set{byID: map[string]*Merchant{}, owner: map[string]*Merchant{}}
	for _, sp := range specs {
		m, err := sp.merchant(opts)
		if err != nil {
			return nil, err
		}
		s.list = append(s.list, m)
		s.byID[m.MchID] = m
		if m.Mode == Direct {
			s.owner[m.MchID] = m
		}
		for _, sub := range m.SubMchIDs {
			s.owner[sub] = m
		}
	}
	return s, nil
}

// merchant reads sp's keys and makes its client and parser.
func (sp *spec) merchant(opts Options) (*Merchant, error) {
	src := sp.sources
	if opts.BaseURL != "" {
		src.BaseURL = credentials.Source{Value: opts.BaseURL, From: "--base-url"}
	}
	if v := sp.apiv3Env; v != nil {
		key, ok := opts.LookupEnv(v.Text)
		if !ok || key == "" {
			return nil, v.Fail(sp.field+".apiv3_key_env", "the environment variable it names is not set")
		}
		src.APIv3Key = credentials.Source{Value: key, From: sp.field + ".apiv3_key_env " + v.Text}
		sp.lines[src.APIv3Key.From] = v.Line
	}
	creds, err := src.Load(credentials.All)
	if err != nil {
		return nil, sp.located(err)
	}
	client, err := wxpay.NewClient(append(creds.Options, opts.Client...)...)
	if err != nil {
		return nil, strictyaml.Fail(sp.line, sp.field, "%v", err)
	}
	parser, err := notify.NewParser(client.Verifier(), creds.APIv3Key)
	if err != nil {
		return nil, strictyaml.Fail(sp.line, sp.field, "%v", err)
	}
	cert, err := MerchantCertificate(src)
	if err != nil {
		return nil, sp.located(err)
	}
	return &Merchant{MchID: sp.mchID, Name: sp.name, Mode: sp.mode, SubMchIDs: sp.subs, Client: client, Parser: parser,
		Cert: cert, platforms: sp.platforms}, nil
}

// located gives an error of package credentials, which starts with the
// name of the key at fault ("merchants[0].private_key …"), that key's line.
func (sp *spec) located(err error) *Error {
	msg := err.Error()
	line, longest := sp.line, 0
	for from, l := range sp.lines {
		if len(from) > longest && strings.HasPrefix(msg, from) {
			line, longest = l, len(from)
		}
	}
	if longest == 0 {
		return strictyaml.Fail(line, sp.field, "%s", msg)
	}
	return strictyaml.Fail(line, "", "%s", msg)
}

// Single is the one merchant of the command-line flags: it serves its own
// mall and every other mall as its sub-merchant (partner mode), none of
// them flagged as unlisted. Its certificates are refreshed by whoever made
// client.
func Single(mchID string, client *wxpay.Client, parser *notify.Parser) *Set {
	m := &Merchant{MchID: mchID, Mode: Direct, Client: client, Parser: parser}
	return &Set{list: []*Merchant{m}, byID: map[string]*Merchant{mchID: m}, owner: map[string]*Merchant{mchID: m}, open: m}
}

// Merchants lists the merchants in the file's order.
func (s *Set) Merchants() []*Merchant { return s.list }

// Merchant is the merchant whose mchid is mchID, or nil.
func (s *Set) Merchant(mchID string) *Merchant { return s.byID[mchID] }

// Owner is the merchant that serves mall: the one whose mchid it is in
// mode merchant, or whose sub_mchids list it; nil when the file lists it
// nowhere.
func (s *Set) Owner(mall string) *Merchant {
	if m := s.owner[mall]; m != nil {
		return m
	}
	return s.open
}

// ClientFor is the client that signs mall's syncs, and the sub_mchid they
// name: empty for a direct merchant's own mall, the mall for a
// sub-merchant. ok is false for a mall the set does not list.
func (s *Set) ClientFor(mall string) (client *wxpay.Client, subMchID string, ok bool) {
	m := s.Owner(mall)
	if m == nil {
		return nil, "", false
	}
	return m.Client, m.SubMchID(mall), true
}

// SubMchID is what the merchant's calls about mall name as sub_mchid:
// nothing for its own mall, else the mall.
func (m *Merchant) SubMchID(mall string) string {
	if mall == m.MchID {
		return ""
	}
	return mall
}

// Name is mall's display name from the file: the name of the direct
// merchant it is; "" when the file gives none.
func (s *Set) Name(mall string) string {
	if m := s.owner[mall]; m != nil && m.MchID == mall {
		return m.Name
	}
	return ""
}

// Malls lists the malls the set lists, in the file's order: each direct
// merchant's own and each provider's sub-merchants.
func (s *Set) Malls() []string {
	var out []string
	for _, m := range s.list {
		if m.Mode == Direct {
			out = append(out, m.MchID)
		}
		out = append(out, m.SubMchIDs...)
	}
	return out
}

// Default is the mall of a request that names none: the first merchant's
// mchid.
func (s *Set) Default() string { return s.list[0].MchID }

// StartRefresh downloads the platform certificates of every merchant that
// gave platform_certs, and then again every interval, into its key ring,
// until Stop. The first download's failure is returned, naming the
// merchant, and nothing is left running.
func (s *Set) StartRefresh(ctx context.Context, interval time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.list {
		if !m.platforms || m.refresher != nil {
			continue
		}
		r, err := m.Client.StartCertificateRefresher(ctx, interval)
		if err != nil {
			s.stopLocked()
			return fmt.Errorf("merchants: merchant %s: download platform certificates: %w", m.MchID, err)
		}
		m.refresher = r
	}
	return nil
}

// Stop stops the certificate refreshers StartRefresh started.
func (s *Set) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Set) stopLocked() {
	for _, m := range s.list {
		if m.refresher != nil {
			m.refresher.Stop()
			m.refresher = nil
		}
	}
}

// Registry holds the merchants in force. One is made at start and handed
// to whoever signs syncs or takes notifications; a reload stores a new Set,
// which each reader sees at its next Load.
type Registry struct{ p atomic.Pointer[Set] }

// NewRegistry returns a registry with set in force.
func NewRegistry(set *Set) *Registry {
	r := &Registry{}
	r.Store(set)
	return r
}

// Load returns the merchants in force.
func (r *Registry) Load() *Set { return r.p.Load() }

// Store puts set in force; set must not be nil.
func (r *Registry) Store(set *Set) {
	if set == nil {
		panic("merchants: Registry.Store(nil)")
	}
	r.p.Store(set)
}

// ClientFor is the client of the merchant in force that serves mall, and
// the sub_mchid its calls name (see Set.ClientFor).
func (r *Registry) ClientFor(mall string) (client *wxpay.Client, subMchID string, ok bool) {
	return r.Load().ClientFor(mall)
}

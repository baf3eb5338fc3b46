package wxpay

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed2ac2593f/wxpay/internal/wxauth"
)

// DefaultBaseURL is WeChat Pay's APIv3 host. The backup host
// https://api2.mch.weixin.qq.com/ can be set with WithBaseURL.
const DefaultBaseURL = "https://api.mch.weixin.qq.com/"

// DefaultMaxResponseBytes bounds how much of an answer is read.
const DefaultMaxResponseBytes = 8 << 20

// Client calls WeChat Pay APIv3 as one merchant (直连商户) or service
// provider (服务商): it signs every attempt, verifies every 2xx answer and
// turns every other answer into an *APIError. It is safe for concurrent use.
type Client struct {
	signer     Signer
	base       *url.URL
	origin     string // scheme://host of base
	basePath   string // escaped path of base, without a trailing slash
	hc         *http.Client
	keys       *KeyRing
	verifier   Verifier
	skipVerify bool
	apiv3Key   []byte
	retry      RetryPolicy
	maxBody    int64
	now        func() time.Time
	userAgent  string
	log        *slog.Logger
	hdr        struct{ accept, userAgent, contentType []string }
	serial     atomic.Pointer[preferredSerial]
}

// preferredSerial caches the Wechatpay-Serial header value for one key set.
type preferredSerial struct {
	keys  *keySet
	value []string
}

// preferredSerial returns the Wechatpay-Serial request header value, computed
// again only when the key ring changed.
func (c *Client) preferredSerial() ([]string, bool) {
	set := c.keys.load()
	if p := c.serial.Load(); p != nil && p.keys == set {
		return p.value, p.value != nil
	}
	p := &preferredSerial{keys: set}
	if serial, _, ok := c.keys.Preferred(); ok {
		p.value = []string{serial}
	}
	c.serial.Store(p)
	return p.value, p.value != nil
}

// Option configures a Client in NewClient.
type Option func(*Client) error

// NewClient builds a client. WithMerchant is required; so is a way to verify
// answers: WithWechatPayPublicKey, WithPlatformCertificates, or WithAPIv3Key
// to download platform certificates (see Client.DownloadCertificates).
func NewClient(opts ...Option) (*Client, error) {
	c := &Client{
		keys:      NewKeyRing(),
		retry:     DefaultRetryPolicy(),
		maxBody:   DefaultMaxResponseBytes,
		now:       time.Now,
		userAgent: fmt.Sprintf("wxpay/%s (%s) Go/%s", Version, runtime.GOOS, strings.TrimPrefix(runtime.Version(), "go")),
		log:       slog.New(slog.DiscardHandler),
	}
	if err := c.setBaseURL(DefaultBaseURL); err != nil {
		return nil, err
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.signer.Key == nil {
		return nil, errors.New("wxpay: no merchant credentials: use WithMerchant(mchid, certSerial, privateKey)")
	}
	if len(c.keys.Serials()) == 0 && c.apiv3Key == nil && !c.skipVerify {
		return nil, errors.New("wxpay: no key to verify WeChat Pay's answers: use WithWechatPayPublicKey, WithPlatformCertificates or WithAPIv3Key")
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 30 * time.Second, Transport: sharedTransport()}
	}
	// Redirects would replay a signature made for another URL; WeChat Pay never sends one.
	hc := *c.hc
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc = &hc
	c.hdr.accept = []string{"application/json"}
	c.hdr.userAgent = []string{c.userAgent}
	c.hdr.contentType = []string{"application/json"}
	c.verifier.Keys = c.keys
	c.verifier.Now = c.now
	return c, nil
}

// WithMerchant sets the calling merchant: its mchid (a service provider's own
// mchid in partner mode), the serial number of its API certificate and its
// API private key (see LoadPrivateKey).
func WithMerchant(mchid, certSerial string, key *rsa.PrivateKey) Option {
	return func(c *Client) error {
		switch {
		case mchid == "":
			return errors.New("wxpay: WithMerchant: mchid is empty")
		case certSerial == "":
			return errors.New("wxpay: WithMerchant: certificate serial is empty")
		case key == nil:
			return errors.New("wxpay: WithMerchant: private key is nil")
		}
		// Both go into every Authorization header: a character that header
		// cannot carry would fail each send as a network error.
		if !headerWord(mchid) || !headerWord(certSerial) {
			return errors.New("wxpay: WithMerchant: mchid and serial must be printable ASCII without spaces, quotes or commas")
		}
		if err := checkKeySize(&key.PublicKey); err != nil {
			return err
		}
		// The key reaches the signer through the same crypto.Signer seam as
		// an HSM's, prepared once for the build's RSA code.
		return WithMerchantSigner(mchid, certSerial, NewRSASigner(key))(c)
	}
}

// WithMerchantSigner is WithMerchant with the merchant key behind a
// crypto.Signer: an HSM, a cloud KMS, a PKCS#11 token or a signing service,
// so the key never enters the process. Its public key must be RSA of at
// least MinKeyBits. A signer that implements ContextSigner gets each call's
// context; a signer's failure is a *SignError naming the merchant, and the
// request is not sent. DecryptSensitive needs the signer to be a
// crypto.Decrypter as well.
func WithMerchantSigner(mchid, certSerial string, signer crypto.Signer) Option {
	return func(c *Client) error {
		s, err := NewSigner(mchid, certSerial, signer)
		if err != nil {
			return err
		}
		c.signer = *s
		return nil
	}
}

// WithWechatPayPublicKey adds the WeChat Pay public key (微信支付公钥) and its
// id, PUB_KEY_ID_…. Requests then ask for answers signed with it.
func WithWechatPayPublicKey(keyID string, key *rsa.PublicKey) Option {
	return func(c *Client) error { return c.keys.AddPublicKey(keyID, key) }
}

// WithPlatformCertificates adds platform certificates (平台证书). Given
// together with WithWechatPayPublicKey, both verify: that is the migration
// from certificates to the public key.
func WithPlatformCertificates(certs ...*x509.Certificate) Option {
	return func(c *Client) error { return c.keys.AddCertificates(certs...) }
}

// WithAPIv3Key sets the 32-character APIv3 key, needed to download platform
// certificates.
func WithAPIv3Key(key string) Option {
	return func(c *Client) error {
		if err := wxauth.CheckAPIv3Key([]byte(key)); err != nil {
			return err
		}
		c.apiv3Key = []byte(key)
		return nil
	}
}

// WithBaseURL replaces https://api.mch.weixin.qq.com/, for the backup host
// or a sandbox. Plain http is accepted only for loopback addresses.
func WithBaseURL(base string) Option {
	return func(c *Client) error { return c.setBaseURL(base) }
}

func (c *Client) setBaseURL(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("wxpay: base URL: %w", err)
	}
	switch {
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("wxpay: base URL %q: want an absolute https:// URL", base)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("wxpay: base URL %q: must not carry a query, fragment or user info", base)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return fmt.Errorf("wxpay: base URL %q: plain http is allowed only for loopback addresses", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	c.base = u
	c.origin = u.Scheme + "://" + u.Host
	c.basePath = u.EscapedPath()
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sharedTransport is the transport of every Client made without
// WithHTTPClient: net/http's default transport, except that it keeps up to
// maxIdleConnsPerHost idle connections to a host instead of two. A client
// sends every call to one host, so with the default two, most of a burst of
// concurrent calls would open, and shake TLS hands on, a connection of its
// own and close it afterwards.
var sharedTransport = sync.OnceValue(func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = maxIdleConnsPerHost
	return t
})

// maxIdleConnsPerHost is how many idle connections to WeChat Pay a Client
// made without WithHTTPClient keeps for reuse.
const maxIdleConnsPerHost = 64

// WithHTTPClient sets the http.Client used to send requests. The client is
// copied and its redirect policy replaced: a redirect is never followed. Its
// transport should keep idle connections for as many concurrent calls as
// the program makes (http.Transport.MaxIdleConnsPerHost; net/http's default
// transport keeps two).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("wxpay: WithHTTPClient: client is nil")
		}
		c.hc = hc
		return nil
	}
}

// WithRetryPolicy replaces DefaultRetryPolicy.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *Client) error {
		if p.MaxRetries < 0 || p.MinWait < 0 || p.MaxWait < 0 {
			return errors.New("wxpay: WithRetryPolicy: negative value")
		}
		c.retry = p
		return nil
	}
}

// WithoutRetries sends every request exactly once.
func WithoutRetries() Option {
	return func(c *Client) error { c.retry = RetryPolicy{}; return nil }
}

// WithMaxClockSkew sets how far Wechatpay-Timestamp may be from our clock
// (default 300 s).
func WithMaxClockSkew(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return errors.New("wxpay: WithMaxClockSkew: duration must be positive")
		}
		c.verifier.MaxClockSkew = d
		return nil
	}
}

// WithClock replaces time.Now for request timestamps and the skew check.
func WithClock(now func() time.Time) Option {
	return func(c *Client) error {
		if now == nil {
			return errors.New("wxpay: WithClock: nil clock")
		}
		c.now = now
		return nil
	}
}

// WithMaxResponseBytes bounds how much of an answer is read (default 8 MiB).
func WithMaxResponseBytes(n int64) Option {
	return func(c *Client) error {
		if n <= 0 {
			return errors.New("wxpay: WithMaxResponseBytes: limit must be positive")
		}
		c.maxBody = n
		return nil
	}
}

// WithLogger receives retries and certificate refreshes at debug and warn
// level. Nothing secret is logged: no key, no Authorization header, no body.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l == nil {
			return errors.New("wxpay: WithLogger: nil logger")
		}
		c.log = l
		return nil
	}
}

// WithInsecureSkipResponseVerification accepts answers without checking
// WeChat Pay's signature. Anyone on the path can then forge a success; use it
// only to debug, never with real money.
func WithInsecureSkipResponseVerification() Option {
	return func(c *Client) error { c.skipVerify = true; return nil }
}

// MchID returns the merchant id the client signs as.
func (c *Client) MchID() string { return c.signer.MchID }

// KeyRing returns the keys the client verifies answers with; add rotated
// platform certificates to it while the client is in use.
func (c *Client) KeyRing() *KeyRing { return c.keys }

// Verifier returns a copy of the client's verifier, with its key ring, clock
// and skew limit, for checking notifications the same way as answers.
// Changing the copy's fields does not change the client; the key ring is the
// client's own, so keys added to it (a rotation) serve both.
func (c *Client) Verifier() *Verifier {
	v := c.verifier
	return &v
}

// BaseURL returns the base URL requests go to, without a trailing slash.
func (c *Client) BaseURL() string { return c.base.String() }

// EncryptSensitive encrypts a sensitive field to the key the client prefers
// (the WeChat Pay public key, else the newest platform certificate) and
// returns the serial to send as the request's Wechatpay-Serial header.
func (c *Client) EncryptSensitive(plaintext string) (ciphertext, serial string, err error) {
	serial, key, ok := c.keys.Preferred()
	if !ok {
		return "", "", fmt.Errorf("%w: the key ring is empty, nothing to encrypt to", ErrUnknownSerial)
	}
	ciphertext, err = encryptOAEP(key, plaintext)
	return ciphertext, serial, err
}

// DecryptSensitive decrypts a field WeChat Pay encrypted to the merchant
// certificate, with the merchant private key. A key given by
// WithMerchantSigner must also be a crypto.Decrypter; the error says so when
// it is not.
func (c *Client) DecryptSensitive(ciphertext string) (string, error) {
	d, ok := c.signer.Key.(crypto.Decrypter)
	if !ok {
		return "", fmt.Errorf("%w: the key of merchant %s (%T) is not a crypto.Decrypter, so it cannot decrypt RSA-OAEP fields",
			ErrDecrypt, c.signer.MchID, c.signer.Key)
	}
	return decryptOAEP(d, ciphertext)
}

// headerWord reports whether s can stand in a header value and inside the
// Authorization header's quotes: printable ASCII other than space, '"' and ','.
func headerWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '"' || c == ',' {
			return false
		}
	}
	return true
}

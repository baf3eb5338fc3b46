package sandbox

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/internal/wxauth"
)

// Config describes the merchants a sandbox serves and the keys it signs with.
// Only Merchants and one of PublicKey or PlatformCertificates are required;
// the rest has WeChat Pay's defaults.
type Config struct {
	// Merchants may call the sandbox. Admin requests that name no merchant
	// act for the first one.
	Merchants []Merchant

	// PublicKey is WeChat Pay's public-key-mode signing key (微信支付公钥).
	PublicKey *PublicKeySigner
	// PlatformCertificates are platform certificates (平台证书) with their
	// private keys; GET /v3/certificates lists them. With PublicKey as well,
	// the sandbox behaves as during a migration (see package doc).
	PlatformCertificates []PlatformCertificate
	// NotifyPublicKeyShare is the share of notifications signed with the
	// public key while both kinds of key are configured, from 0 (none: the
	// migration has not started; the zero Config) to 1 (all: WeChat Pay's
	// ramp has reached day 7; what Keys.Config, NewServer and `wxpay sandbox`
	// use, the last with --notify-public-key-share to change it). Without
	// platform certificates every notification uses the public key, without
	// a public key none does.
	NotifyPublicKeyShare float64

	// SignErrorAnswers signs 4xx and 5xx answers other than 401, which WeChat
	// Pay never signs. By default only 2xx answers are signed.
	SignErrorAnswers bool
	// RejectRepeatedPointsSync answers a second points sync of the same
	// transaction with 400 PARAM_ERROR. By default it overwrites the first and
	// is counted: what WeChat Pay does is not documented.
	RejectRepeatedPointsSync bool
	// DeauthorizedSyncAnswer answers a points sync for a member who withdrew
	// the authorisation (DEAUTHORIZED, see Sandbox.Deauthorize). WeChat Pay
	// documents no answer for it, so this one is inferred; the zero value
	// means 400 USER_NOT_AUTHORIZED "用户未授权商圈会员积分服务". A client should
	// learn why by asking the authorisation query, not from the code.
	DeauthorizedSyncAnswer ErrorAnswer

	// HoldPaymentsFor is how long a payment of a member in REGISTERED_MODE
	// (card opened, automatic points not authorised) is held for the member
	// to submit (Sandbox.Commit) before it lapses, never notified. Zero means
	// until the end of the payment's day in Beijing time, the "today" of the
	// pending-points query; WeChat Pay documents no deadline.
	HoldPaymentsFor time.Duration

	// RateLimits enforces the per-second limits WeChat Pay documents for
	// each merchant (DocumentedRateLimits: 150 for the authorisation query),
	// answering 429 FREQUENCY_LIMITED beyond them, so that a client's back-off
	// can be tested. Off by default: tests should not trip over them.
	RateLimits bool

	// NotifyRetrySchedule is the wait before each retry of a notification
	// that was not answered 200 or 204; nil means WeChat Pay's own schedule
	// (15s, 15s, 30s, 3m, 10m, 20m, 30m, 30m, 30m, 60m, 3h, 3h, 3h, 6h, 6h),
	// an empty slice no retries.
	NotifyRetrySchedule []time.Duration
	// NotifyTimeout is how long a notification URL has to answer one
	// attempt; zero means WeChat Pay's 5 seconds.
	NotifyTimeout time.Duration
	// NotifyClient sends notifications; nil means a client of the sandbox's
	// own that follows no redirects.
	NotifyClient *http.Client

	// Now is the sandbox clock: request timestamps are checked against it,
	// answers and notifications are stamped with it, and "today" of the
	// pending-points query is its day in Asia/Shanghai. Nil means time.Now.
	Now func() time.Time
	// Logger receives one record per request and per notification attempt.
	// Nothing secret is logged: no key, no Authorization header, no body.
	// Nil discards.
	Logger *slog.Logger
	// Rand draws the faults and the public-key share of notifications; nil
	// means a randomly seeded source. A share of 0 or 1 never draws.
	Rand rand.Source
}

// ErrorAnswer is an error answer of an emulated API: the HTTP status, 4xx or
// 5xx, and the code and message of the body {"code","message"}.
type ErrorAnswer struct {
	Status  int
	Code    string
	Message string
}

// defaultDeauthorizedSync is the zero Config's DeauthorizedSyncAnswer.
var defaultDeauthorizedSync = ErrorAnswer{http.StatusBadRequest, "USER_NOT_AUTHORIZED", msgUserNotAuthorized}

// check reports what is wrong with a configured answer, named name.
func (a ErrorAnswer) check(name string) error {
	if a.Status < 400 || a.Status > 599 || a.Code == "" {
		return fmt.Errorf("%s: Status must be 4xx or 5xx and Code set, got %d %q", name, a.Status, a.Code)
	}
	return nil
}

// Merchant is a merchant (直连商户) or service provider (服务商) allowed to
// call the sandbox.
type Merchant struct {
	// MchID is the merchant id (商户号) requests are signed as.
	MchID string
	// Name is merchant_name in notifications (商圈商户名称); empty means
	// "微信支付沙盒商圈".
	Name string
	// Certificate is the merchant API certificate (apiclient_cert.pem):
	// requests are verified with its key, and it gives CertSerial when that
	// is empty. Set PublicKey and CertSerial instead when only the key is at hand.
	Certificate *x509.Certificate
	// PublicKey verifies requests when there is no Certificate.
	PublicKey *rsa.PublicKey
	// CertSerial is the serial_no requests must name (商户API证书序列号).
	CertSerial string
	// APIv3Key (32 characters) encrypts this merchant's notifications and
	// certificate downloads.
	APIv3Key string

	// NotifyURL receives MALL_TRANSACTION.SUCCESS and MALL_REFUND.SUCCESS
	// (用户消费回调地址). Empty: notifications are recorded but not sent.
	NotifyURL string
	// AuthNotifyURL receives MALL_AUTH.ACTIVATE_CARD (会员积分服务开通回调地址);
	// empty means NotifyURL.
	AuthNotifyURL string

	// SubMerchants make this merchant a service provider: its requests must
	// name one of them in sub_mchid, and their notifications come to this
	// merchant's URLs.
	SubMerchants []SubMerchant
	// AppIDs are the mini programs bound to the merchant; empty accepts any.
	AppIDs []string
	// Brands binds brand ids (品牌ID) to the app ids allowed with them, for
	// commit_status and parkings. Empty accepts any positive brand id with
	// any app id; a brand bound to no app id accepts any app id.
	Brands map[int64][]string
}

// SubMerchant is a mall (商圈商户) a service provider acts for.
type SubMerchant struct {
	MchID string
	Name  string // merchant_name in its notifications; empty means the provider's Name
}

// PublicKeySigner is WeChat Pay's key of public-key mode: the private half
// signs, merchants verify with the public half under ID.
type PublicKeySigner struct {
	ID  string // PUB_KEY_ID_ followed by digits
	Key *rsa.PrivateKey
}

// PlatformCertificate is a platform certificate and the key WeChat Pay signs
// with under its serial.
type PlatformCertificate struct {
	Certificate *x509.Certificate
	Key         *rsa.PrivateKey
}

// defaultMerchantName is merchant_name when none is configured.
const defaultMerchantName = "微信支付沙盒商圈"

// merchant is a validated Merchant with its lookups.
type merchant struct {
	Merchant
	key      *rsa.PublicKey
	apiv3Key []byte
	subs     map[string]string // sub_mchid → name
	appIDs   map[string]bool
}

// isPartner reports whether the merchant acts for sub-merchants.
func (m *merchant) isPartner() bool { return len(m.subs) > 0 }

// mallName is merchant_name for notifications about mall.
func (m *merchant) mallName(mall string) string {
	if n := m.subs[mall]; n != "" {
		return n
	}
	if m.Name != "" {
		return m.Name
	}
	return defaultMerchantName
}

// authURL is where MALL_AUTH.ACTIVATE_CARD goes.
func (m *merchant) authURL() string {
	if m.AuthNotifyURL != "" {
		return m.AuthNotifyURL
	}
	return m.NotifyURL
}

// newMerchant checks a configured merchant.
func newMerchant(c Merchant) (*merchant, error) {
	m := &merchant{Merchant: c, subs: map[string]string{}, appIDs: map[string]bool{}}
	if c.MchID == "" || strings.ContainsAny(c.MchID, "\" ,") {
		return nil, fmt.Errorf("merchant %q: MchID must be set, without quotes, spaces or commas", c.MchID)
	}
	m.key = c.PublicKey
	if c.Certificate != nil {
		k, ok := c.Certificate.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("merchant %s: certificate key is %T, want RSA", c.MchID, c.Certificate.PublicKey)
		}
		m.key = k
		if m.CertSerial == "" {
			m.CertSerial = wxpay.CertificateSerial(c.Certificate)
		}
	}
	switch {
	case m.key == nil:
		return nil, fmt.Errorf("merchant %s: set Certificate, or PublicKey and CertSerial", c.MchID)
	case m.key.N == nil || m.key.N.BitLen() < wxauth.MinKeyBits:
		return nil, fmt.Errorf("merchant %s: RSA key shorter than %d bits", c.MchID, wxauth.MinKeyBits)
	case m.CertSerial == "":
		return nil, fmt.Errorf("merchant %s: CertSerial is empty", c.MchID)
	}
	m.CertSerial = strings.ToUpper(m.CertSerial)
	m.apiv3Key = []byte(c.APIv3Key)
	if err := wxauth.CheckAPIv3Key(m.apiv3Key); err != nil {
		return nil, fmt.Errorf("merchant %s: %w", c.MchID, err)
	}
	for _, u := range []string{c.NotifyURL, c.AuthNotifyURL} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("merchant %s: notification URL %q is not an absolute http(s) URL", c.MchID, u)
		}
	}
	for _, s := range c.SubMerchants {
		if s.MchID == "" || s.MchID == c.MchID {
			return nil, fmt.Errorf("merchant %s: sub-merchant id %q is empty or the provider's own", c.MchID, s.MchID)
		}
		m.subs[s.MchID] = s.Name
	}
	for _, a := range c.AppIDs {
		m.appIDs[a] = true
	}
	for id := range c.Brands {
		if id <= 0 {
			return nil, fmt.Errorf("merchant %s: brand id %d is not positive", c.MchID, id)
		}
	}
	return m, nil
}

// signingKey is one key WeChat Pay signs answers and notifications with.
type signingKey struct {
	serial string // PUB_KEY_ID_… or the platform certificate serial
	key    *rsa.PrivateKey
	signer crypto.Signer     // key, prepared once for the build's RSA code
	cert   *x509.Certificate // nil for the public key
}

// keySet is WeChat Pay's side: the public key and the platform certificates,
// newest last.
type keySet struct {
	public   *signingKey
	platform []*signingKey
}

func newKeySet(pub *PublicKeySigner, certs []PlatformCertificate) (*keySet, error) {
	ks := &keySet{}
	if pub != nil {
		if !strings.HasPrefix(pub.ID, wxpay.PublicKeyIDPrefix) || len(pub.ID) == len(wxpay.PublicKeyIDPrefix) {
			return nil, fmt.Errorf("public key id %q does not start with %s", pub.ID, wxpay.PublicKeyIDPrefix)
		}
		if err := checkPrivateKey(pub.Key); err != nil {
			return nil, fmt.Errorf("public key %s: %w", pub.ID, err)
		}
		ks.public = &signingKey{serial: pub.ID, key: pub.Key, signer: wxpay.NewRSASigner(pub.Key)}
	}
	for _, c := range certs {
		if c.Certificate == nil {
			return nil, errors.New("platform certificate is nil")
		}
		serial := wxpay.CertificateSerial(c.Certificate)
		if err := checkPrivateKey(c.Key); err != nil {
			return nil, fmt.Errorf("platform certificate %s: %w", serial, err)
		}
		if !c.Key.PublicKey.Equal(c.Certificate.PublicKey) {
			return nil, fmt.Errorf("platform certificate %s: key does not match the certificate", serial)
		}
		ks.platform = append(ks.platform, &signingKey{serial: serial, key: c.Key, signer: wxpay.NewRSASigner(c.Key), cert: c.Certificate})
	}
	slices.SortStableFunc(ks.platform, func(a, b *signingKey) int { return a.cert.NotBefore.Compare(b.cert.NotBefore) })
	if ks.public == nil && len(ks.platform) == 0 {
		return nil, errors.New("no WeChat Pay key: set PublicKey and/or PlatformCertificates")
	}
	return ks, nil
}

func checkPrivateKey(k *rsa.PrivateKey) error {
	if k == nil {
		return errors.New("private key is nil")
	}
	if k.N.BitLen() < wxauth.MinKeyBits {
		return fmt.Errorf("RSA key has %d bits, want at least %d", k.N.BitLen(), wxauth.MinKeyBits)
	}
	return nil
}

// forAnswer picks the key of an answer: the one the request's
// Wechatpay-Serial names, else the newest platform certificate, else the
// public key (docs/protocol.md §3.4: the merchant chooses per request during a migration).
func (ks *keySet) forAnswer(requested string) *signingKey {
	if ks.public != nil && requested == ks.public.serial {
		return ks.public
	}
	for _, k := range ks.platform {
		if k.serial == requested {
			return k
		}
	}
	return ks.byDefault()
}

// byDefault is the newest platform certificate, else the public key.
func (ks *keySet) byDefault() *signingKey {
	if n := len(ks.platform); n > 0 {
		return ks.platform[n-1]
	}
	return ks.public
}

// forNotification picks a notification's key: the public key for the
// configured share of them while both kinds are configured.
func (ks *keySet) forNotification(usePublic bool) *signingKey {
	if ks.public != nil && (usePublic || len(ks.platform) == 0) {
		return ks.public
	}
	return ks.byDefault()
}

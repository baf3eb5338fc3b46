package wxpay

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// PublicKeyIDPrefix starts the id of a WeChat Pay public key (微信支付公钥).
const PublicKeyIDPrefix = "PUB_KEY_ID_"

// DefaultMaxClockSkew is how far Wechatpay-Timestamp may be from our clock:
// five minutes either way, as WeChat Pay allows for requests.
const DefaultMaxClockSkew = 300 * time.Second

// KeyRing holds the keys WeChat Pay signs with: platform certificates by
// serial number and the WeChat Pay public key by its PUB_KEY_ID_… id, both at
// once during a migration. Reads are lock-free; it is safe for concurrent use.
type KeyRing struct {
	mu   sync.Mutex // serialises writers
	keys atomic.Pointer[keySet]
}

type keySet struct {
	byID      map[string]ringKey
	publicKey string // id of the public key, if any
	newest    string // serial of the platform certificate issued last, if any
}

type ringKey struct {
	key  *rsa.PublicKey
	cert *x509.Certificate // nil for a public key
}

// NewKeyRing returns an empty key ring.
func NewKeyRing() *KeyRing {
	r := &KeyRing{}
	r.keys.Store(&keySet{byID: map[string]ringKey{}})
	return r
}

// Clone returns an independent copy of the ring.
func (r *KeyRing) Clone() *KeyRing {
	c := &KeyRing{}
	c.keys.Store(r.load())
	return c
}

func (r *KeyRing) load() *keySet { return r.keys.Load() }

// update copies the key set, lets fn change the copy and publishes it.
func (r *KeyRing) update(fn func(*keySet) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.load()
	next := &keySet{byID: make(map[string]ringKey, len(old.byID)+1), publicKey: old.publicKey, newest: old.newest}
	for k, v := range old.byID {
		next.byID[k] = v
	}
	if err := fn(next); err != nil {
		return err
	}
	r.keys.Store(next)
	return nil
}

// AddPublicKey adds (or replaces) the WeChat Pay public key.
func (r *KeyRing) AddPublicKey(keyID string, key *rsa.PublicKey) error {
	if !strings.HasPrefix(keyID, PublicKeyIDPrefix) || len(keyID) == len(PublicKeyIDPrefix) {
		return fmt.Errorf("wxpay: public key id %q does not start with %s", keyID, PublicKeyIDPrefix)
	}
	if key == nil {
		return fmt.Errorf("wxpay: public key %s is nil", keyID)
	}
	if err := checkKeySize(key); err != nil {
		return err
	}
	return r.update(func(s *keySet) error {
		if s.publicKey != "" && s.publicKey != keyID {
			delete(s.byID, s.publicKey)
		}
		s.byID[keyID] = ringKey{key: key}
		s.publicKey = keyID
		return nil
	})
}

// AddCertificates adds platform certificates, each under its serial number.
// A certificate already present under the same serial is replaced.
func (r *KeyRing) AddCertificates(certs ...*x509.Certificate) error {
	for _, c := range certs {
		if c == nil {
			return fmt.Errorf("wxpay: platform certificate is nil")
		}
		k, ok := c.PublicKey.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("wxpay: platform certificate %s has a %T key, want RSA", CertificateSerial(c), c.PublicKey)
		}
		if err := checkKeySize(k); err != nil {
			return err
		}
	}
	return r.update(func(s *keySet) error {
		for _, c := range certs {
			serial := CertificateSerial(c)
			s.byID[serial] = ringKey{key: c.PublicKey.(*rsa.PublicKey), cert: c}
			if n, ok := s.byID[s.newest]; !ok || n.cert == nil || c.NotBefore.After(n.cert.NotBefore) {
				s.newest = serial
			}
		}
		return nil
	})
}

// Lookup returns the key with the given serial or public key id.
func (r *KeyRing) Lookup(serial string) (*rsa.PublicKey, bool) {
	k, ok := r.load().byID[serial]
	return k.key, ok
}

// Serials lists the ids of every key in the ring, sorted.
func (r *KeyRing) Serials() []string {
	s := r.load()
	out := make([]string, 0, len(s.byID))
	for id := range s.byID {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Certificates returns the platform certificates in the ring.
func (r *KeyRing) Certificates() []*x509.Certificate {
	var out []*x509.Certificate
	for _, k := range r.load().byID {
		if k.cert != nil {
			out = append(out, k.cert)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NotBefore.Before(out[j].NotBefore) })
	return out
}

// Preferred names the key we want WeChat Pay to sign answers with and encrypt
// sensitive fields to: the public key when there is one, else the newest
// platform certificate. It is sent as the request's Wechatpay-Serial.
func (r *KeyRing) Preferred() (serial string, key *rsa.PublicKey, ok bool) {
	s := r.load()
	id := s.publicKey
	if id == "" {
		id = s.newest
	}
	k, ok := s.byID[id]
	return id, k.key, ok
}

// Verifier checks signed answers and notifications (验签,
// https://pay.weixin.qq.com/doc/v3/merchant/4012365342): the four Wechatpay-*
// headers, the clock, the key named by Wechatpay-Serial and the signature
// over "timestamp\nnonce\nbody\n". Its zero value, with Keys set, is ready.
type Verifier struct {
	Keys         *KeyRing
	MaxClockSkew time.Duration    // 0 means DefaultMaxClockSkew
	Now          func() time.Time // nil means time.Now
}

// Verify checks header and the exact body bytes received. It returns the
// serial of the key that verified, or a *VerificationError wrapping
// ErrMissingHeader, ErrProbeSignature, ErrClockSkew, ErrUnknownSerial or
// ErrBadSignature.
func (v *Verifier) Verify(header http.Header, body []byte) (serial string, err error) {
	tsText := header.Get("Wechatpay-Timestamp")
	nonce := header.Get("Wechatpay-Nonce")
	sigText := header.Get("Wechatpay-Signature")
	serial = header.Get("Wechatpay-Serial")
	fail := func(sentinel error, format string, args ...any) (string, error) {
		return "", &VerificationError{Err: sentinel, Reason: fmt.Sprintf(format, args...), Serial: serial}
	}
	for _, h := range [...]struct{ name, value string }{
		{"Wechatpay-Timestamp", tsText}, {"Wechatpay-Nonce", nonce},
		{"Wechatpay-Signature", sigText}, {"Wechatpay-Serial", serial},
	} {
		if h.value == "" {
			return fail(ErrMissingHeader, "%s is missing", h.name)
		}
	}
	if typ := header.Get("Wechatpay-Signature-Type"); typ != "" && typ != SignatureScheme {
		return fail(ErrBadSignature, "Wechatpay-Signature-Type %q is not %s", typ, SignatureScheme)
	}
	if strings.HasPrefix(sigText, ProbeSignaturePrefix) {
		return fail(ErrProbeSignature, "deliberately invalid; a notification carrying it is answered with a failure and re-sent")
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	ts, perr := parseTimestamp(tsText)
	if perr != nil {
		return fail(ErrClockSkew, "Wechatpay-Timestamp %q is not Unix seconds", tsText)
	}
	maxSkew := v.MaxClockSkew
	if maxSkew <= 0 {
		maxSkew = DefaultMaxClockSkew
	}
	t := now()
	if d := t.Unix() - ts; d > int64(maxSkew/time.Second) || -d > int64(maxSkew/time.Second) {
		return fail(ErrClockSkew, "Wechatpay-Timestamp %d is %ds from our clock, limit %s", ts, d, maxSkew)
	}
	var k ringKey
	ok := false
	if v.Keys != nil {
		k, ok = v.Keys.load().byID[serial]
	}
	if !ok {
		return fail(ErrUnknownSerial, "no platform certificate or public key %q in the key ring", serial)
	}
	// An expired platform certificate no longer vouches for anything. NotBefore
	// is not checked: WeChat Pay starts signing with a new certificate at once.
	if k.cert != nil && t.After(k.cert.NotAfter) {
		return fail(ErrUnknownSerial, "platform certificate %s expired at %s", serial, k.cert.NotAfter.Format(time.RFC3339))
	}
	var sig rawSignature
	if !decodeSignature(sigText, &sig) {
		return fail(ErrBadSignature, "Wechatpay-Signature is not Base64")
	}
	d := newDigester()
	d.buf = append(d.buf, tsText...)
	d.buf = append(d.buf, '\n')
	d.buf = append(d.buf, nonce...)
	d.buf = append(d.buf, '\n')
	sum := d.sum(body)
	d.release()
	if rsa.VerifyPKCS1v15(k.key, crypto.SHA256, sum[:], sig.bytes()) != nil {
		return fail(ErrBadSignature, "signature does not match the body with key %s", serial)
	}
	return serial, nil
}

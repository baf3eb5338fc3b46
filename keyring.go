package wxpay

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// PublicKeyIDPrefix starts the id of a WeChat Pay public key (微信支付公钥).
const PublicKeyIDPrefix = "PUB_KEY_ID_"

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
	if !headerWord(keyID) { // it is sent as the request's Wechatpay-Serial
		return fmt.Errorf("wxpay: public key id %q has a character a header cannot carry", keyID)
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

// describe names what the set trusts, for an unknown-serial error: the public
// key id and the platform certificate serials.
func (s *keySet) describe() string {
	var certs []string
	for id, k := range s.byID {
		if k.cert != nil {
			certs = append(certs, id)
		}
	}
	sort.Strings(certs)
	var parts []string
	if s.publicKey != "" {
		parts = append(parts, "the WeChat Pay public key "+s.publicKey)
	}
	switch len(certs) {
	case 0:
	case 1:
		parts = append(parts, "platform certificate "+certs[0])
	default:
		parts = append(parts, "platform certificates "+strings.Join(certs, ", "))
	}
	if len(parts) == 0 {
		return "no key at all (the key ring is empty)"
	}
	return strings.Join(parts, " and ")
}

// unknownSerialHint guesses why a serial is unknown from its form.
func (s *keySet) unknownSerialHint(serial string) string {
	switch {
	case strings.HasPrefix(serial, PublicKeyIDPrefix) && s.publicKey != "":
		return "WeChat Pay signed with another public key: check the public key id configured (WithWechatPayPublicKey) against the merchant platform; a typo there is the usual cause"
	case strings.HasPrefix(serial, PublicKeyIDPrefix):
		return "WeChat Pay signed with its public key: configure it with WithWechatPayPublicKey"
	case s.publicKey != "":
		return "WeChat Pay signed with a platform certificate, which happens when it does not recognise the public key id the client sent in Wechatpay-Serial (check it for a typo) or the merchant has not switched to the public key; or add the platform certificates (WithAPIv3Key and StartCertificateRefresher)"
	default:
		return "WeChat Pay signed with a platform certificate the client has not downloaded: download the current ones (WithAPIv3Key and StartCertificateRefresher)"
	}
}

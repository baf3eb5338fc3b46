package wxpay

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

// remoteKey stands for a key outside the process (an HSM, a KMS): only Sign
// and Public, no Decrypt, and a count of signatures made.
type remoteKey struct {
	key   *rsa.PrivateKey
	signs atomic.Int32
	err   error // returned by Sign when set
}

func (r *remoteKey) Public() crypto.PublicKey { return &r.key.PublicKey }

func (r *remoteKey) Sign(rd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	r.signs.Add(1)
	if r.err != nil {
		return nil, r.err
	}
	return r.key.Sign(rd, digest, opts)
}

// contextKey is a remote key that takes the call's context.
type contextKey struct {
	remoteKey
	got atomic.Value // the last context's value of ctxMarker
}

type ctxMarker struct{}

func (c *contextKey) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	v, _ := ctx.Value(ctxMarker{}).(string)
	c.got.Store(v)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.remoteKey.Sign(rand.Reader, digest, opts)
}

// decryptingKey is a remote key that can also decrypt, as an HSM key can.
type decryptingKey struct{ remoteKey }

func (d *decryptingKey) Decrypt(rd io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	return d.key.Decrypt(rd, msg, opts)
}

func newSignerClient(t *testing.T, srv *wxtest.Server, key crypto.Signer, opts ...Option) *Client {
	t.Helper()
	k := wxtest.SharedKeys()
	c, err := NewClient(append([]Option{
		WithMerchantSigner(k.MchID, k.MerchantSerial, key),
		WithWechatPayPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey),
		WithBaseURL(srv.URL),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAKeyOutsideTheProcessSignsEveryAttempt(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	srv := wxtest.NewServer(k)
	defer srv.Close()
	key := &remoteKey{key: k.MerchantKey}
	c := newSignerClient(t, srv, key)
	if _, err := c.Chain("v3/businesscircle/points/notify").Post(context.Background(), JSON(pointsBody)); err != nil {
		t.Fatal(err)
	}
	if r := srv.Requests(); len(r) != 1 || r[0].AuthErr != nil {
		t.Fatalf("server saw %d requests (%+v)", len(r), r)
	}
	if key.signs.Load() != 1 {
		t.Fatalf("the signer signed %d times, want 1", key.signs.Load())
	}
}

func TestAContextSignerGetsTheCallsContext(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	srv := wxtest.NewServer(k)
	defer srv.Close()
	key := &contextKey{remoteKey: remoteKey{key: k.MerchantKey}}
	c := newSignerClient(t, srv, key)
	ctx := context.WithValue(context.Background(), ctxMarker{}, "this call")
	if _, err := c.Chain("v3/businesscircle/points/notify").Post(ctx, JSON(pointsBody)); err != nil {
		t.Fatal(err)
	}
	if got := key.got.Load(); got != "this call" {
		t.Fatalf("SignContext saw %v, want the call's context", got)
	}

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Chain("v3/businesscircle/points/notify").Post(cancelled, JSON(pointsBody))
	var se *SignError
	if !errors.As(err, &se) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v, want a *SignError wrapping context.Canceled", err)
	}
}

func TestASignerFailureIsNotRetriedAndNamesTheMerchant(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	srv := wxtest.NewServer(k)
	defer srv.Close()
	kmsDown := errors.New("kms: service unavailable")
	key := &remoteKey{key: k.MerchantKey, err: kmsDown}
	c := newSignerClient(t, srv, key) // the default policy retries network errors twice
	_, err := c.Chain("v3/businesscircle/points/notify").Post(context.Background(), JSON(pointsBody))
	var se *SignError
	switch {
	case !errors.As(err, &se) || se.MchID != k.MchID || !errors.Is(err, kmsDown):
		t.Fatalf("got %v, want a *SignError of merchant %s wrapping the KMS error", err, k.MchID)
	case !strings.Contains(err.Error(), k.MchID):
		t.Fatalf("%q does not name the merchant", err)
	case key.signs.Load() != 1:
		t.Fatalf("the signer was asked %d times, want 1 (no retry)", key.signs.Load())
	case len(srv.Requests()) != 0:
		t.Fatalf("the server saw %d requests, want none", len(srv.Requests()))
	case ShouldRetry(0, err):
		t.Fatal("ShouldRetry says a signer failure is worth repeating")
	}
}

// shortSigner returns signatures one byte short, as a misconfigured signing
// service might (a PSS or DER-wrapped signature would be refused alike).
type shortSigner struct{ remoteKey }

func (s *shortSigner) Sign(rd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := s.remoteKey.Sign(rd, digest, opts)
	return sig[1:], err
}

// A Signer written as a literal is checked as one made by NewSigner: there
// is one signing path.
func TestASignatureOfTheWrongSizeIsASignError(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	key := &shortSigner{remoteKey{key: k.MerchantKey}}
	made, err := NewSigner(k.MchID, k.MerchantSerial, key)
	if err != nil {
		t.Fatal(err)
	}
	literal := &Signer{MchID: k.MchID, Serial: k.MerchantSerial, Key: key}
	for name, s := range map[string]*Signer{"NewSigner": made, "literal": literal} {
		_, err = s.Authorization("GET", "/v3/certificates", nil, 1795435200, "nonce")
		var se *SignError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "255 bytes, want 256") {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// otherKey is a signer whose public key is given.
type otherKey struct{ pub crypto.PublicKey }

func (o otherKey) Public() crypto.PublicKey { return o.pub }
func (o otherKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("not used")
}

func TestWithMerchantSignerTakesOnlyRSA2048OrLonger(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	short := &rsa.PublicKey{N: new(big.Int).Rsh(k.MerchantKey.N, 1024), E: 65537}
	var nilKey *rsa.PrivateKey
	for _, c := range []struct {
		name   string
		signer crypto.Signer
		want   string
	}{
		{"ECDSA", ec, "want an RSA key"},
		{"RSA-1024", otherKey{short}, "1024 bits"},
		{"nil", nil, "nil"},
		{"nil *rsa.PrivateKey", nilKey, "nil"},
	} {
		_, err := NewClient(WithMerchantSigner(k.MchID, k.MerchantSerial, c.signer),
			WithWechatPayPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), k.MchID) {
			t.Errorf("%s: %v, want an error naming the merchant with %q", c.name, err, c.want)
		}
	}
}

func TestDecryptSensitiveNeedsADecrypter(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	srv := wxtest.NewServer(k)
	defer srv.Close()
	ct, err := encryptOAEP(&k.MerchantKey.PublicKey, "13800138000")
	if err != nil {
		t.Fatal(err)
	}

	_, err = newSignerClient(t, srv, &remoteKey{key: k.MerchantKey}).DecryptSensitive(ct)
	if !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), "not a crypto.Decrypter") {
		t.Fatalf("a signer that cannot decrypt: %v", err)
	}
	for name, key := range map[string]crypto.Signer{
		"a remote key that decrypts": &decryptingKey{remoteKey{key: k.MerchantKey}},
		"an *rsa.PrivateKey":         k.MerchantKey,
	} {
		got, err := newSignerClient(t, srv, key).DecryptSensitive(ct)
		if err != nil || got != "13800138000" {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
}

// TestASignerLiteralStillSigns: a Signer written by hand (no NewSigner) and
// one whose Key was replaced after NewSigner sign with the Key they hold.
func TestASignerLiteralStillSigns(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	literal := &Signer{MchID: k.MchID, Serial: k.MerchantSerial, Key: k.MerchantKey}
	replaced, err := NewSigner(k.MchID, k.MerchantSerial, foreignKey())
	if err != nil {
		t.Fatal(err)
	}
	replaced.Key = k.MerchantKey
	made, err := NewSigner(k.MchID, k.MerchantSerial, k.MerchantKey)
	if err != nil {
		t.Fatal(err)
	}
	var want string
	for i, s := range []*Signer{made, literal, replaced} {
		got, err := s.Authorization("POST", "/v3/businesscircle/points/notify", []byte("{}"), 1795435200, "593BEC0C930BF1AFEB40B4A08C8FB242")
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			want = got
		} else if got != want {
			t.Errorf("signer %d: %s, want %s", i, got, want)
		}
	}
}

//go:build openssl && cgo

package ossl

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// The known-answer vectors of the repository's testdata were made by code
// independent of this project; PKCS#1 v1.5 is deterministic, so OpenSSL's
// signatures must equal them byte for byte, as Go's do.

const vectorDir = "../../testdata/vectors"

type vectors struct {
	RequestSignatures []struct {
		Message   string `json:"message"`
		Signature string `json:"signature"`
	} `json:"request_signatures"`
}

func loadVectors(t testing.TB) vectors {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(vectorDir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// testKeys are the vectors' TEST ONLY keys, parsed once per binary.
type testKeys struct {
	merchant, wechatpay, platform *rsa.PrivateKey
}

var loadTestKeys = sync.OnceValues(func() (testKeys, error) {
	var k testKeys
	for name, dst := range map[string]**rsa.PrivateKey{
		"test_merchant_key.pem":  &k.merchant,
		"test_wechatpay_key.pem": &k.wechatpay,
		"test_platform_key.pem":  &k.platform,
	} {
		raw, err := os.ReadFile(filepath.Join(vectorDir, "keys", name))
		if err != nil {
			return k, err
		}
		block, _ := pem.Decode(raw)
		if block == nil {
			return k, errors.New(name + ": no PEM")
		}
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return k, err
		}
		*dst = key.(*rsa.PrivateKey)
	}
	return k, nil
})

func keys(t testing.TB) testKeys {
	t.Helper()
	k, err := loadTestKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newPrivate(t testing.TB, k *rsa.PrivateKey) *PrivateKey {
	t.Helper()
	sk, err := NewPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sk.Close)
	return sk
}

func goSign(t testing.TB, k *rsa.PrivateKey, msg []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestSignatureEqualsTheKnownAnswer(t *testing.T) {
	t.Parallel()
	k := keys(t)
	sk := newPrivate(t, k.merchant)
	for i, v := range loadVectors(t).RequestSignatures {
		sum := sha256.Sum256([]byte(v.Message))
		sig, err := sk.Sign(nil, sum[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if got := base64.StdEncoding.EncodeToString(sig); got != v.Signature {
			t.Errorf("request_signatures[%d]: got %s, want %s", i, got, v.Signature)
		}
		if got := goSign(t, k.merchant, []byte(v.Message)); string(got) != string(sig) {
			t.Errorf("request_signatures[%d]: differs from rsa.SignPKCS1v15", i)
		}
	}
}

// FuzzSignatureEqualsGo signs fuzzed messages with both and checks that the
// signatures are equal.
func FuzzSignatureEqualsGo(f *testing.F) {
	for _, v := range loadVectors(f).RequestSignatures {
		f.Add([]byte(v.Message))
	}
	f.Add([]byte(""))
	f.Add([]byte("\x00\xff\n"))
	k := keys(f)
	sk := newPrivate(f, k.merchant)
	f.Fuzz(func(t *testing.T, msg []byte) {
		sum := sha256.Sum256(msg)
		got, err := sk.Sign(nil, sum[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		want := goSign(t, k.merchant, msg)
		if string(got) != string(want) {
			t.Fatalf("signature of %q differs from Go's", msg)
		}
	})
}

func TestKeyWithoutPrecomputedValuesSignsTheSame(t *testing.T) {
	t.Parallel()
	k := keys(t).merchant
	bare := &rsa.PrivateKey{PublicKey: k.PublicKey, D: k.D, Primes: k.Primes}
	sum := sha256.Sum256([]byte("message"))
	got, err := newPrivate(t, bare).Sign(nil, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(goSign(t, k, []byte("message"))) {
		t.Fatal("signature differs from Go's")
	}
	if bare.Precomputed.Dp != nil {
		t.Fatal("NewPrivateKey changed the caller's key")
	}
}

func TestSignerRefusesWhatItDoesNotDo(t *testing.T) {
	t.Parallel()
	sk := newPrivate(t, keys(t).merchant)
	sum := sha256.Sum256(nil)
	sum512 := make([]byte, 64)
	for _, c := range []struct {
		name   string
		digest []byte
		opts   crypto.SignerOpts
	}{
		{"SHA-512", sum512, crypto.SHA512},
		{"PSS", sum[:], &rsa.PSSOptions{Hash: crypto.SHA256}},
		{"no hash", sum[:], crypto.Hash(0)},
		{"digest too short", sum[:31], crypto.SHA256},
	} {
		if _, err := sk.Sign(nil, c.digest, c.opts); err == nil {
			t.Errorf("%s: signed", c.name)
		}
	}
}

func TestPublicReturnsTheKey(t *testing.T) {
	t.Parallel()
	k := keys(t).merchant
	var s crypto.Signer = newPrivate(t, k)
	if !k.PublicKey.Equal(s.Public()) {
		t.Fatal("Public() is not the key's public half")
	}
}

func TestNewKeyRefusesBadKeys(t *testing.T) {
	t.Parallel()
	k := keys(t).merchant
	broken := *k
	broken.D = new(big.Int).Add(k.D, big.NewInt(2))
	if _, err := NewPrivateKey(&broken); err == nil {
		t.Error("a private key whose d does not match accepted")
	}
	if _, err := NewPrivateKey(nil); err == nil {
		t.Error("nil private key accepted")
	}
}

func TestClosedKeyRefusesToWork(t *testing.T) {
	t.Parallel()
	k := keys(t).merchant
	sk, err := NewPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	sk.Close()
	sk.Close()
	sum := sha256.Sum256(nil)
	if _, err := sk.Sign(nil, sum[:], crypto.SHA256); !errors.Is(err, ErrClosed) {
		t.Errorf("Sign after Close: %v", err)
	}
}

// TestConcurrentUseSignsLikeGo shares one key between goroutines, as a client
// does; libcrypto keeps per-key blinding state behind its own lock.
func TestConcurrentUseSignsLikeGo(t *testing.T) {
	t.Parallel()
	k := keys(t).merchant
	sk := newPrivate(t, k)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 8 {
				msg := make([]byte, 40)
				rand.Read(msg)
				msg[0], msg[1] = byte(g), byte(i)
				sum := sha256.Sum256(msg)
				sig, err := sk.Sign(nil, sum[:], crypto.SHA256)
				if err != nil {
					t.Error(err)
					return
				}
				want, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, sum[:])
				if err != nil || string(sig) != string(want) {
					t.Error("signature differs from Go's", err)
				}
			}
		})
	}
	wg.Wait()
}

// TestCloseDuringUseIsSafe closes a key while goroutines sign with it: each
// signature either succeeds or returns ErrClosed, and nothing is freed under
// a running operation (the -asan run of .ci/run would see it).
func TestCloseDuringUseIsSafe(t *testing.T) {
	t.Parallel()
	k := keys(t).merchant
	sk, err := NewPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("message"))
	want := goSign(t, k, []byte("message"))
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for range 6 {
				sig, err := sk.Sign(nil, sum[:], crypto.SHA256)
				if err != nil && !errors.Is(err, ErrClosed) {
					t.Error(err)
				} else if err == nil && string(sig) != string(want) {
					t.Error("signature differs from Go's")
				}
			}
		})
	}
	wg.Go(sk.Close)
	wg.Wait()
}

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
	"strings"
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
	ResponseVerifications []struct {
		Name    string            `json:"name"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	} `json:"response_verifications"`
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

func newPublic(t testing.TB, k *rsa.PublicKey) *PublicKey {
	t.Helper()
	pk, err := NewPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pk.Close)
	return pk
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

// TestVerificationAgreesWithGoOnTheResponseVectors checks each answer's
// signature under each of the vectors' keys: the right key accepts the valid
// ones, and every other pairing is refused by both.
func TestVerificationAgreesWithGoOnTheResponseVectors(t *testing.T) {
	t.Parallel()
	k := keys(t)
	pubs := map[string]*rsa.PublicKey{
		"wechatpay": &k.wechatpay.PublicKey, "platform": &k.platform.PublicKey, "merchant": &k.merchant.PublicKey,
	}
	valid := 0
	for _, v := range loadVectors(t).ResponseVerifications {
		sig, err := base64.StdEncoding.DecodeString(v.Headers["Wechatpay-Signature"])
		if err != nil {
			continue // the probe: not Base64, never reaches RSA
		}
		sum := sha256.Sum256([]byte(v.Headers["Wechatpay-Timestamp"] + "\n" + v.Headers["Wechatpay-Nonce"] + "\n" + v.Body + "\n"))
		for name, pub := range pubs {
			want := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
			got := newPublic(t, pub).VerifyPKCS1v15SHA256(sum[:], sig)
			if got != want {
				t.Errorf("%s with the %s key: got %v, Go says %v", v.Name, name, got, want)
			}
			if got == nil {
				valid++
			}
		}
	}
	if valid < 5 {
		t.Errorf("only %d (answer, key) pairs verified; the vectors hold more valid answers", valid)
	}
}

func TestVerificationAgreesWithGo(t *testing.T) {
	t.Parallel()
	k := keys(t)
	msg := []byte("1795435200\n593BEC0C930BF1AFEB40B4A08C8FB242\n{}\n")
	sum := sha256.Sum256(msg)
	sig := goSign(t, k.wechatpay, msg)
	pub := &k.wechatpay.PublicKey
	flip := func(b []byte, bit int) []byte {
		b = append([]byte(nil), b...)
		b[bit/8] ^= 1 << (bit % 8)
		return b
	}
	otherSum := sha256.Sum256([]byte("another message"))
	ff := []byte(strings.Repeat("\xff", len(sig)))
	cases := []struct {
		name      string
		pub       *rsa.PublicKey
		digest    []byte
		sig       []byte
		wantValid bool
	}{
		{"valid", pub, sum[:], sig, true},
		{"first bit of the signature flipped", pub, sum[:], flip(sig, 0), false},
		{"a middle bit of the signature flipped", pub, sum[:], flip(sig, 1000), false},
		{"last bit of the signature flipped", pub, sum[:], flip(sig, 8*len(sig)-1), false},
		{"a bit of the digest flipped", pub, flip(sum[:], 77), sig, false},
		{"another message", pub, otherSum[:], sig, false},
		{"wrong key", &k.platform.PublicKey, sum[:], sig, false},
		{"signature one byte short", pub, sum[:], sig[1:], false},
		{"signature one byte long", pub, sum[:], append([]byte{0}, sig...), false},
		{"empty signature", pub, sum[:], nil, false},
		{"zero signature", pub, sum[:], make([]byte, len(sig)), false},
		{"signature above the modulus", pub, sum[:], ff, false},
		{"signature equal to the modulus", pub, sum[:], pub.N.Bytes(), false},
		{"digest one byte short", pub, sum[:31], sig, false},
		{"empty digest", pub, nil, sig, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			want := rsa.VerifyPKCS1v15(c.pub, crypto.SHA256, c.digest, c.sig)
			got := newPublic(t, c.pub).VerifyPKCS1v15SHA256(c.digest, c.sig)
			if (got == nil) != c.wantValid || (want == nil) != c.wantValid {
				t.Fatalf("OpenSSL: %v, Go: %v, want valid=%v", got, want, c.wantValid)
			}
			if got != nil && !errors.Is(got, rsa.ErrVerification) {
				t.Fatalf("OpenSSL refused with %v, want rsa.ErrVerification", got)
			}
		})
	}
}

// FuzzSignatureEqualsGo signs fuzzed messages with both and checks that the
// signatures are equal and that each verifies the other's result alike, with
// one bit of the signature flipped too.
func FuzzSignatureEqualsGo(f *testing.F) {
	for _, v := range loadVectors(f).RequestSignatures {
		f.Add([]byte(v.Message), uint16(0))
	}
	f.Add([]byte(""), uint16(7))
	f.Add([]byte("\x00\xff\n"), uint16(2047))
	k := keys(f)
	sk := newPrivate(f, k.merchant)
	pk := newPublic(f, &k.merchant.PublicKey)
	f.Fuzz(func(t *testing.T, msg []byte, bit uint16) {
		sum := sha256.Sum256(msg)
		got, err := sk.Sign(nil, sum[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		want := goSign(t, k.merchant, msg)
		if string(got) != string(want) {
			t.Fatalf("signature of %q differs from Go's", msg)
		}
		if err := pk.VerifyPKCS1v15SHA256(sum[:], got); err != nil {
			t.Fatalf("OpenSSL refused its own signature: %v", err)
		}
		bad := append([]byte(nil), got...)
		i := int(bit) % (8 * len(bad))
		bad[i/8] ^= 1 << (i % 8)
		g, w := pk.VerifyPKCS1v15SHA256(sum[:], bad), rsa.VerifyPKCS1v15(&k.merchant.PublicKey, crypto.SHA256, sum[:], bad)
		if (g == nil) != (w == nil) || g == nil {
			t.Fatalf("bit %d flipped: OpenSSL %v, Go %v; want both to refuse", i, g, w)
		}
	})
}

// FuzzVerificationAgreesWithGo verifies fuzzed signatures of any length.
func FuzzVerificationAgreesWithGo(f *testing.F) {
	k := keys(f)
	msg := []byte("seed")
	sum := sha256.Sum256(msg)
	good := goSign(f, k.merchant, msg)
	f.Add(sum[:], good)
	f.Add(sum[:], good[1:])
	f.Add(sum[:], append([]byte{1}, good[1:]...))
	f.Add(sum[:16], good)
	f.Add([]byte{}, []byte{})
	pub := &k.merchant.PublicKey
	pk := newPublic(f, pub)
	f.Fuzz(func(t *testing.T, digest, sig []byte) {
		got, want := pk.VerifyPKCS1v15SHA256(digest, sig), rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig)
		if (got == nil) != (want == nil) {
			t.Fatalf("OpenSSL %v, Go %v", got, want)
		}
		if got != nil && !errors.Is(got, rsa.ErrVerification) {
			t.Fatalf("OpenSSL refused with %v, want rsa.ErrVerification", got)
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
	pub := func(n *big.Int, e int) *rsa.PublicKey { return &rsa.PublicKey{N: n, E: e} }
	for _, c := range []struct {
		name string
		pub  *rsa.PublicKey
	}{
		{"nil", nil},
		{"no modulus", pub(nil, 65537)},
		{"even modulus", pub(new(big.Int).Lsh(k.N, 1), 65537)},
		{"short modulus", pub(new(big.Int).Rsh(k.N, 1100), 65537)},
		{"exponent 1", pub(k.N, 1)},
		{"even exponent", pub(k.N, 65536)},
		{"exponent above 2^31-1", pub(k.N, 1<<31+1)},
	} {
		if _, err := NewPublicKey(c.pub); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
		if c.pub != nil && c.pub.N != nil {
			// Go refuses these keys at verification; OpenSSL must never be asked.
			if rsa.VerifyPKCS1v15(c.pub, crypto.SHA256, make([]byte, 32), make([]byte, c.pub.Size())) == nil {
				t.Errorf("%s: Go accepted", c.name)
			}
		}
	}
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
	pk, err := NewPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sk.Close()
	sk.Close()
	pk.Close()
	pk.Close()
	sum := sha256.Sum256(nil)
	if _, err := sk.Sign(nil, sum[:], crypto.SHA256); !errors.Is(err, ErrClosed) {
		t.Errorf("Sign after Close: %v", err)
	}
	if err := pk.VerifyPKCS1v15SHA256(sum[:], make([]byte, 256)); !errors.Is(err, ErrClosed) {
		t.Errorf("Verify after Close: %v", err)
	}
}

// TestConcurrentUseSignsLikeGo shares one key between goroutines, as a client
// does; libcrypto keeps per-key blinding state behind its own lock.
func TestConcurrentUseSignsLikeGo(t *testing.T) {
	t.Parallel()
	k := keys(t).merchant
	sk := newPrivate(t, k)
	pk := newPublic(t, &k.PublicKey)
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
				if err := pk.VerifyPKCS1v15SHA256(sum[:], sig); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

// TestCloseDuringUseIsSafe closes keys while goroutines sign and verify with
// them: each operation either succeeds or returns ErrClosed, and nothing is
// freed under a running operation (the -asan run of .ci/run would see it).
func TestCloseDuringUseIsSafe(t *testing.T) {
	t.Parallel()
	k := keys(t).merchant
	sk, err := NewPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := NewPublicKey(&k.PublicKey)
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
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Error(err)
					}
					sig = want
				} else if string(sig) != string(want) {
					t.Error("signature differs from Go's")
				}
				if err := pk.VerifyPKCS1v15SHA256(sum[:], sig); err != nil && !errors.Is(err, ErrClosed) {
					t.Error(err)
				}
			}
		})
	}
	wg.Go(func() {
		sk.Close()
		pk.Close()
	})
	wg.Wait()
}

package pkcs1

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// These tests run in every build (go test, go test -tags openssl): whichever
// backend is compiled in must sign and verify exactly as crypto/rsa does.

const vectorDir = "../../testdata/vectors"

var vectorKeys = sync.OnceValues(func() (map[string]*rsa.PrivateKey, error) {
	keys := map[string]*rsa.PrivateKey{}
	for _, name := range []string{"merchant", "wechatpay", "platform"} {
		raw, err := os.ReadFile(filepath.Join(vectorDir, "keys", "test_"+name+"_key.pem"))
		if err != nil {
			return nil, err
		}
		block, _ := pem.Decode(raw)
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		keys[name] = k.(*rsa.PrivateKey)
	}
	return keys, nil
})

func vectorKey(t *testing.T, name string) *rsa.PrivateKey {
	t.Helper()
	keys, err := vectorKeys()
	if err != nil {
		t.Fatal(err)
	}
	return keys[name]
}

func TestSignerEqualsTheKnownAnswers(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(vectorDir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		RequestSignatures []struct{ Message, Signature string } `json:"request_signatures"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	s := NewSigner(vectorKey(t, "merchant"))
	for i, c := range v.RequestSignatures {
		sum := sha256.Sum256([]byte(c.Message))
		sig, err := s.Sign(rand.Reader, sum[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if got := base64.StdEncoding.EncodeToString(sig); got != c.Signature {
			t.Errorf("request_signatures[%d] with the %s backend: got %s, want %s", i, Backend, got, c.Signature)
		}
	}
}

// TestAKeyLibcryptoRefusesStillSigns: a three-prime private key (which
// package ossl does not take) signs in every build, as crypto/rsa does.
func TestAKeyLibcryptoRefusesStillSigns(t *testing.T) {
	t.Parallel()
	// Multi-prime keys are deprecated in crypto/rsa, which is why a backend may refuse one.
	//lint:ignore SA1019 the test needs the deprecated kind of key a backend may refuse
	k3, err := rsa.GenerateMultiPrimeKey(rand.Reader, 3, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("m"))
	sig, err := NewSigner(k3).Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(&k3.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("three-prime key: %v", err)
	}
}

//go:build openssl && cgo

package pkcs1

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"testing"
)

func TestOpenSSLBuildSignsWithLibcrypto(t *testing.T) {
	t.Parallel()
	if Backend != "openssl" {
		t.Fatalf("Backend = %q", Backend)
	}
	k := vectorKey(t, "merchant")
	if _, ok := NewSigner(k).(*Signer); !ok {
		t.Fatalf("NewSigner returned %T, want a key held by libcrypto", NewSigner(k))
	}
}

// The signer is the crypto.Decrypter the *rsa.PrivateKey was, so a client
// built with the tag still decrypts sensitive fields.
func TestOpenSSLSignerDecryptsLikeTheKey(t *testing.T) {
	t.Parallel()
	k := vectorKey(t, "merchant")
	ct, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, &k.PublicKey, []byte("13800138000"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := NewSigner(k).(crypto.Decrypter)
	if !ok {
		t.Fatal("the signer is not a crypto.Decrypter")
	}
	got, err := d.Decrypt(rand.Reader, ct, &rsa.OAEPOptions{Hash: crypto.SHA1})
	if err != nil || string(got) != "13800138000" {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
}

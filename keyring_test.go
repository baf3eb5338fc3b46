package wxpay

import (
	"testing"

	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

func TestKeyRingReplacesAndLists(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	ring := NewKeyRing()
	ring.AddPublicKey("PUB_KEY_ID_1", &k.PlatformKey.PublicKey)
	ring.AddPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey) // a new public key replaces the old one
	ring.AddCertificates(k.PlatformCert, k.PlatformCert)
	if got := ring.Serials(); len(got) != 2 || got[0] != k.PlatformSerial && got[1] != k.PlatformSerial {
		t.Fatalf("Serials = %v", got)
	}
	if _, ok := ring.Lookup("PUB_KEY_ID_1"); ok {
		t.Fatal("the replaced public key is still trusted")
	}
	if certs := ring.Certificates(); len(certs) != 1 {
		t.Fatalf("Certificates = %d", len(certs))
	}
	clone := ring.Clone()
	clone.AddPublicKey("PUB_KEY_ID_2", &k.WechatPayKey.PublicKey)
	if _, ok := ring.Lookup("PUB_KEY_ID_2"); ok {
		t.Fatal("Clone shares state with the original")
	}
}

package wxpay

import (
	"crypto"
	"crypto/rsa"

	"github.com/seed2ac2593f/wxpay/internal/pkcs1"
)

// CryptoBackend names the code this build makes the merchant's RSA
// signatures with: "go" (crypto/rsa; the default) or "openssl" (OpenSSL 3's
// libcrypto, in a build with -tags openssl and cgo). Signatures are checked
// with crypto/rsa in every build. With GOEXPERIMENT=boringcrypto it stays
// "go": BoringCrypto then replaces crypto/rsa itself, which
// crypto/boring.Enabled reports.
const CryptoBackend = pkcs1.Backend

// NewRSASigner returns key as this build signs with it, for PKCS#1 v1.5
// signatures of SHA-256 digests (SHA256withRSA, what WeChat Pay uses): key
// itself by default, or a copy held by libcrypto with -tags openssl, made
// once here and freed when the signer is garbage collected. Its signatures
// are byte-identical to crypto/rsa's, and it decrypts as key does (it is a
// crypto.Decrypter). WithMerchant passes the merchant key through it to
// WithMerchantSigner, the seam of an HSM key; it is for signing anything
// else with the same code.
func NewRSASigner(key *rsa.PrivateKey) crypto.Signer { return pkcs1.NewSigner(key) }

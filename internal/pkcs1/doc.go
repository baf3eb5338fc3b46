// Package pkcs1 is the one place where the SDK chooses the code that makes
// RSA PKCS#1 v1.5 SHA-256 signatures with a key it holds (the merchant key of
// WithMerchant, the sandbox's signing keys). The choice is the build's:
//
//   - by default, Go's crypto/rsa (pure Go, no cgo);
//   - with -tags openssl and cgo, OpenSSL 3's libcrypto (package ossl);
//     -tags openssl without cgo does not build, rather than fall back
//     silently to Go.
//
// Either way the result is a crypto.Signer, the seam an HSM key uses too, so
// the rest of the SDK has one signing path. A key is converted once, when the
// caller takes it in, never per signature; a key libcrypto refuses (more than
// two primes) stays with crypto/rsa. Verification, a public-key operation a
// tenth the cost of a signature, is crypto/rsa's in every build.
package pkcs1

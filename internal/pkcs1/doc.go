// Package pkcs1 is the one place where the SDK makes and checks RSA PKCS#1
// v1.5 SHA-256 signatures: the client's requests, the key ring's
// verification of answers and notifications, and the sandbox's signing and
// checking. Which code does the arithmetic is chosen by the build:
//
//   - by default, Go's crypto/rsa (pure Go, no cgo);
//   - with -tags openssl and cgo, OpenSSL 3's libcrypto (package ossl);
//     -tags openssl without cgo does not build, rather than fall back
//     silently to Go.
//
// A key is converted once, by NewSigner or NewVerifier, when the caller
// takes it in (NewClient, KeyRing insertion, the sandbox's configuration),
// never per signature. A key libcrypto refuses (more than two primes, or a
// public key crypto/rsa would refuse to verify with) stays with crypto/rsa,
// so both builds give the same answer for every key.
package pkcs1

//go:build openssl && cgo

// Package ossl signs and verifies RSA PKCS#1 v1.5 SHA-256 with the system's
// libcrypto (OpenSSL 3). It exists only in builds with -tags openssl and cgo;
// the default build of the SDK is pure Go and never links it.
//
// A key is converted once, by NewPrivateKey or NewPublicKey, into an EVP_PKEY
// that lives until Close or until the Go value is garbage collected. Every
// operation is one cgo call that frees whatever it allocated and drains the
// thread's OpenSSL error queue before returning, because a goroutine may run
// on another thread at its next call.
//
//	k, err := ossl.NewPrivateKey(rsaKey) // once per key
//	sig, err := k.Sign(nil, sum[:], crypto.SHA256)
//
// Signatures are byte-identical to crypto/rsa.SignPKCS1v15 (PKCS#1 v1.5 is
// deterministic) and every verification result agrees with
// crypto/rsa.VerifyPKCS1v15; the tests check both.
package ossl

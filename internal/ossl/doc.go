//go:build openssl && cgo

// Package ossl makes RSA PKCS#1 v1.5 SHA-256 signatures with the system's
// libcrypto (OpenSSL 3). It exists only in builds with -tags openssl and cgo;
// the default build of the SDK is pure Go and never links it.
//
// A key is converted once, by NewPrivateKey, into an EVP_PKEY that lives
// until Close or until the Go value is garbage collected. Every signature is
// one cgo call that frees whatever it allocated and drains the thread's
// OpenSSL error queue before returning, because a goroutine may run on
// another thread at its next call.
//
//	k, err := ossl.NewPrivateKey(rsaKey) // once per key
//	sig, err := k.Sign(nil, sum[:], crypto.SHA256)
//
// Signatures are byte-identical to crypto/rsa.SignPKCS1v15 (PKCS#1 v1.5 is
// deterministic); the tests check it.
package ossl

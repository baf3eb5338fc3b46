//go:build openssl && !cgo

package pkcs1

// With -tags openssl but cgo off the SDK would sign with crypto/rsa while its
// user believes it signs with libcrypto; this line makes that build fail.
var _ = the_openssl_build_tag_needs_cgo_CGO_ENABLED_1_and_a_C_compiler

//go:build !openssl && !goexperiment.boringcrypto

package bench

// cryptoBackend names the RSA code this binary's wxpay cells use: crypto/rsa.
const cryptoBackend = "go"

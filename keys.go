package wxpay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/seed2ac2593f/wxpay/internal/wxauth"
)

// LoadPrivateKey parses a merchant API private key (apiclient_key.pem) in
// PKCS#8 ("PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY") PEM form.
// Encrypted, non-RSA and short keys are refused with an error that says so.
func LoadPrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, err := decodePEM(pemBytes, "private key", "PRIVATE KEY", "RSA PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("wxpay: parse %s: %w", block.Type, err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("wxpay: private key is %T, want an RSA key", key)
	}
	if err := checkKeySize(&rk.PublicKey); err != nil {
		return nil, err
	}
	return rk, nil
}

// LoadPublicKey parses an RSA public key: the WeChat Pay public key
// (pub_key.pem, SPKI "PUBLIC KEY"), a PKCS#1 "RSA PUBLIC KEY", or the key
// inside a "CERTIFICATE".
func LoadPublicKey(pemBytes []byte) (*rsa.PublicKey, error) {
	block, err := decodePEM(pemBytes, "public key", "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	default:
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("wxpay: parse %s: %w", block.Type, err)
	}
	rk, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("wxpay: public key is %T, want an RSA key", key)
	}
	if err := checkKeySize(rk); err != nil {
		return nil, err
	}
	return rk, nil
}

// LoadCertificate parses a PEM certificate: a platform certificate
// (wechatpay_*.pem) or the merchant's own apiclient_cert.pem.
func LoadCertificate(pemBytes []byte) (*x509.Certificate, error) {
	block, err := decodePEM(pemBytes, "certificate", "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("wxpay: parse CERTIFICATE: %w", err)
	}
	rk, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("wxpay: certificate key is %T, want an RSA key", cert.PublicKey)
	}
	if err := checkKeySize(rk); err != nil {
		return nil, err
	}
	return cert, nil
}

// CertificateSerial returns a certificate's serial number the way WeChat Pay
// writes it: upper-case hexadecimal of the serial's bytes, as in serial_no
// and Wechatpay-Serial.
func CertificateSerial(cert *x509.Certificate) string {
	return fmt.Sprintf("%X", cert.SerialNumber.Bytes())
}

// decodePEM finds the first PEM block of one of the wanted types and explains
// what it found instead when there is none.
func decodePEM(data []byte, what string, types ...string) (*pem.Block, error) {
	var seen []string
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] == "4,ENCRYPTED" {
			return nil, fmt.Errorf("wxpay: %s is encrypted; decrypt it first (openssl pkey -in key.pem -out plain.pem)", what)
		}
		for _, t := range types {
			if block.Type == t {
				return block, nil
			}
		}
		seen = append(seen, block.Type)
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("wxpay: no PEM data found for the %s", what)
	}
	return nil, fmt.Errorf("wxpay: %s: found PEM %q, want %s", what, strings.Join(seen, `", "`), strings.Join(types, " or "))
}

func checkKeySize(k *rsa.PublicKey) error {
	if k.N == nil {
		return errors.New("wxpay: RSA key has no modulus")
	}
	if bits := k.N.BitLen(); bits < wxauth.MinKeyBits {
		return fmt.Errorf("wxpay: RSA key has %d bits, want at least %d", bits, wxauth.MinKeyBits)
	}
	return nil
}

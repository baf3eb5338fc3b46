package merchants

import (
	"crypto/x509"
	"fmt"
	"io"
	"os"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/credentials"
)

// MerchantCertificate reads the merchant API certificate src names
// (apiclient_cert.pem), for its expiry; nil when only its serial was given.
// The SDK's credentials read it for the serial and keep only that; call this
// once src.Load has accepted the file.
func MerchantCertificate(src credentials.Sources) (*x509.Certificate, error) {
	f := src.MerchantCertFile
	if f.Value == "" {
		return nil, nil
	}
	file, err := os.Open(f.Value)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.From, err)
	}
	defer file.Close()
	raw, err := io.ReadAll(io.LimitReader(file, credentials.MaxFileBytes))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.From, err)
	}
	cert, err := wxpay.LoadCertificate(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.From, err)
	}
	return cert, nil
}

package merchants_test

import (
	"testing"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/sandbox"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/merchants"
)

// A merchant's API certificate is kept, for its expiry, when the file names
// it; with merchant_serial only there is none to watch.
func TestAMerchantKeepsItsCertificateWhenTheFileNamesIt(t *testing.T) {
	t.Parallel()
	f := keys(t)
	path := f.write(t, "merchants:\n"+f.merchant("1900000109")+
		f.merchant("1900000110", "merchant_cert: -", "merchant_serial: "+wxpay.CertificateSerial(f.keys.MerchantCert)))
	set, err := merchants.Load(path, merchants.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := set.Merchant("1900000109").Cert; c == nil || wxpay.CertificateSerial(c) != wxpay.CertificateSerial(f.keys.MerchantCert) {
		t.Errorf("merchant_cert %s: certificate %v", sandbox.FileMerchantCert, c)
	}
	if c := set.Merchant("1900000110").Cert; c != nil {
		t.Errorf("merchant_serial only: certificate %v, want none", c)
	}
}

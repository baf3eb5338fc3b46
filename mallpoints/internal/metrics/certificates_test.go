package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/metrics"
)

func TestEachCertificateReportsTheSecondsUntilItExpires(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	certs := []metrics.Certificate{
		{Kind: metrics.CertTLS, Serial: "1a", NotAfter: now.Add(30 * 24 * time.Hour)},
		{Kind: metrics.CertAdminTLS, Serial: "2b", NotAfter: now.Add(-time.Hour)}, // expired
		{Kind: metrics.CertMerchant, Merchant: "1900000109", Serial: "3C", NotAfter: now.Add(5 * 365 * 24 * time.Hour)},
		{Kind: metrics.CertPlatform, Merchant: "1900000109", Serial: "4D", NotAfter: now.Add(10 * 24 * time.Hour)},
		{Kind: metrics.CertPlatform, Merchant: "1900000109", Serial: "4D", NotAfter: now.Add(10 * 24 * time.Hour)}, // listed twice
	}
	calls := 0
	m := metrics.New(nil)
	m.WatchCertificates(func() []metrics.Certificate { calls++; return certs }, func() time.Time { return now })
	want := `
# HELP mallpoints_certificate_expiry_seconds Seconds until the certificate expires, negative once it has: the listeners' TLS certificates (kind tls, admin_tls), each merchant's API certificate (merchant) and the WeChat Pay platform certificates it verifies with (platform).
# TYPE mallpoints_certificate_expiry_seconds gauge
mallpoints_certificate_expiry_seconds{kind="admin_tls",merchant="",serial="2b"} -3600
mallpoints_certificate_expiry_seconds{kind="merchant",merchant="1900000109",serial="3C"} 1.5768e+08
mallpoints_certificate_expiry_seconds{kind="platform",merchant="1900000109",serial="4D"} 864000
mallpoints_certificate_expiry_seconds{kind="tls",merchant="",serial="1a"} 2.592e+06
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "mallpoints_certificate_expiry_seconds"); err != nil {
		t.Error(err)
	}
	if calls != 1 {
		t.Errorf("the list was read %d times in one scrape", calls)
	}
}

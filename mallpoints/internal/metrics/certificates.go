package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Kinds of certificate, the kind label of mallpoints_certificate_expiry_seconds.
const (
	// CertTLS is the public listener's (--tls-cert): WeChat Pay refuses to
	// deliver to an https URL whose certificate has expired.
	CertTLS = "tls"
	// CertAdminTLS is the admin listener's (--admin-tls-cert).
	CertAdminTLS = "admin_tls"
	// CertMerchant is a merchant's API certificate (apiclient_cert.pem,
	// --merchant-cert or merchant_cert), whose serial signs every call.
	CertMerchant = "merchant"
	// CertPlatform is a WeChat Pay platform certificate a merchant verifies
	// answers and notifications with; the SDK's refresher downloads new ones
	// every 12 hours.
	CertPlatform = "platform"
)

// Certificate is a certificate the process holds, and when it expires.
type Certificate struct {
	Kind string // CertTLS, CertAdminTLS, CertMerchant or CertPlatform
	// Merchant is the mchid whose certificate it is; "" for the listeners'.
	Merchant string
	// Serial is the certificate's serial number, in hexadecimal.
	Serial   string
	NotAfter time.Time
}

var descCertExpiry = prometheus.NewDesc("mallpoints_certificate_expiry_seconds",
	"Seconds until the certificate expires, negative once it has: the listeners' TLS certificates (kind tls, admin_tls), each merchant's API certificate (merchant) and the WeChat Pay platform certificates it verifies with (platform).",
	[]string{"kind", "merchant", "serial"}, nil)

// WatchCertificates registers the gauge of the certificates list returns,
// read at each scrape, as the merchants and their platform certificates
// change; now is the clock (time.Now). Call it once.
func (m *Metrics) WatchCertificates(list func() []Certificate, now func() time.Time) {
	m.reg.MustRegister(&certCollector{list: list, now: now})
}

type certCollector struct {
	list func() []Certificate
	now  func() time.Time
}

func (c *certCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descCertExpiry }

func (c *certCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	seen := map[[3]string]bool{}
	for _, cert := range c.list() {
		// A certificate listed twice is one series: a scrape with a
		// duplicate fails.
		key := [3]string{cert.Kind, cert.Merchant, cert.Serial}
		if seen[key] {
			continue
		}
		seen[key] = true
		ch <- prometheus.MustNewConstMetric(descCertExpiry, prometheus.GaugeValue, cert.NotAfter.Sub(now).Seconds(),
			cert.Kind, cert.Merchant, cert.Serial)
	}
}

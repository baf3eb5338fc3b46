package wxpay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed2ac2593f/wxpay/internal/wxauth"
	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

func TestDownloadCertificatesVerifiesWithWhatItFetched(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	srv := wxtest.NewServer(k)
	defer srv.Close()
	// A merchant that trusts nothing yet: the download bootstraps platform-certificate mode.
	c, err := NewClient(WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey), WithAPIv3Key(k.APIv3Key), WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Chain("v3/businesscircle/points/notify").Post(context.Background(), JSON(pointsBody)); !errors.Is(err, ErrUnknownSerial) {
		t.Fatalf("before the download: err = %v, want ErrUnknownSerial", err)
	}
	certs, err := c.DownloadCertificates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 1 || CertificateSerial(certs[0]) != k.PlatformSerial {
		t.Fatalf("downloaded %d certificates", len(certs))
	}
	if err := c.KeyRing().AddCertificates(certs...); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Chain("v3/businesscircle/points/notify").Post(context.Background(), JSON(pointsBody))
	if err != nil || resp.Serial != k.PlatformSerial {
		t.Fatalf("after the download: %v, %v", resp, err)
	}
}

func TestDownloadCertificatesFailsClosed(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	for _, tc := range []struct {
		name  string
		fault wxtest.Fault
		key   string
		want  error
	}{
		{"wrong APIv3 key", wxtest.NoFault, "00000000000000000000000000000000", ErrDecrypt},
		{"bad signature", wxtest.FaultBadSignature, k.APIv3Key, ErrBadSignature},
		{"probe", wxtest.FaultProbe, k.APIv3Key, ErrProbeSignature},
		{"stale", wxtest.FaultStaleTimestamp, k.APIv3Key, ErrClockSkew},
	} {
		srv := wxtest.NewServer(k, wxtest.WithFault(tc.fault))
		c, err := NewClient(WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey), WithAPIv3Key(tc.key), WithBaseURL(srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.DownloadCertificates(context.Background()); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
		srv.Close()
	}
}

func TestDownloadCertificatesNeedsTheAPIv3Key(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, &wxtest.Server{URL: "http://127.0.0.1:1"})
	if _, err := c.DownloadCertificates(context.Background()); err == nil {
		t.Fatal("no error without an APIv3 key")
	}
}

// certificatesMemAnswer is a /v3/certificates answer carrying wxtest's
// platform certificate, signed with it.
func certificatesMemAnswer(t testing.TB) memAnswer {
	k := wxtest.SharedKeys()
	ct, err := wxauth.EncryptAEAD([]byte(k.APIv3Key), "0123456789ab", "certificate", wxtest.EncodeCertPEM(k.PlatformCert))
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"data":[{"serial_no":%q,"effective_time":"2020-01-01T00:00:00+08:00","expire_time":"2099-01-01T00:00:00+08:00",`+
		`"encrypt_certificate":{"algorithm":"AEAD_AES_256_GCM","nonce":"0123456789ab","associated_data":"certificate","ciphertext":%q}}]}`,
		k.PlatformSerial, ct)
	return memAnswer{status: 200, body: body, signed: true, platform: true}
}

// newRefresherClient is a client with only the APIv3 key, whose answers
// come from m: it trusts what it downloads.
func newRefresherClient(t testing.TB, m *memTransport, opts ...Option) *Client {
	t.Helper()
	k := wxtest.SharedKeys()
	c, err := NewClient(append([]Option{WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey), WithAPIv3Key(k.APIv3Key),
		WithBaseURL("http://127.0.0.1:9"), WithHTTPClient(&http.Client{Transport: m})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCertificateRefresherUpdatesTheRingAndStops(t *testing.T) {
	t.Parallel()
	wxtest.SharedKeys()
	synctest.Test(t, func(t *testing.T) {
		good := certificatesMemAnswer(t)
		var mu sync.Mutex
		forge := false
		m := &memTransport{answer: func() memAnswer {
			mu.Lock()
			defer mu.Unlock()
			a := good
			a.forged = forge
			return a
		}}
		c := newRefresherClient(t, m)
		r, err := c.StartCertificateRefresher(t.Context(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Stop()
		if _, ok := c.KeyRing().Lookup(wxtest.SharedKeys().PlatformSerial); !ok || r.Err() != nil || r.LastSuccess().IsZero() {
			t.Fatalf("after start: ring %v, err %v", c.KeyRing().Serials(), r.Err())
		}
		time.Sleep(3*time.Hour + time.Second)
		if n := len(m.got()); n != 4 {
			t.Fatalf("%d downloads in 3 h at 1 h intervals, want 4", n)
		}
		mu.Lock()
		forge = true
		mu.Unlock()
		time.Sleep(time.Hour)
		if !errors.Is(r.Err(), ErrBadSignature) {
			t.Fatalf("refresh error = %v, want ErrBadSignature", r.Err())
		}
		r.Stop()
		n := len(m.got())
		time.Sleep(10 * time.Hour)
		if len(m.got()) != n {
			t.Fatal("the refresher kept running after Stop")
		}
		if err := r.Err(); !errors.Is(err, ErrRefresherStopped) || !errors.Is(err, ErrBadSignature) {
			t.Fatalf("Err after Stop = %v, want ErrRefresherStopped and the last failure", err)
		}
		if _, ok := c.KeyRing().Lookup(wxtest.SharedKeys().PlatformSerial); !ok {
			t.Fatal("a failed refresh dropped the known certificate")
		}
	})
}

// TestCertificateRefresherOutlivesTheStartupDeadline: the context of the
// first download bounds that download, not the refreshing.
func TestCertificateRefresherOutlivesTheStartupDeadline(t *testing.T) {
	t.Parallel()
	wxtest.SharedKeys()
	synctest.Test(t, func(t *testing.T) {
		good := certificatesMemAnswer(t)
		m := &memTransport{answer: func() memAnswer { return good }}
		c := newRefresherClient(t, m)
		startup, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		r, err := c.StartCertificateRefresher(startup, time.Hour)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Stop()
		time.Sleep(2*time.Hour + time.Second)
		if n := len(m.got()); n != 3 || r.Err() != nil {
			t.Fatalf("%d downloads, Err %v: the startup deadline ended the refreshing", n, r.Err())
		}
	})
}

// TestCertificateRefresherUsesTheClientsClock: LastSuccess is stamped by
// WithClock, like every other time the client keeps.
func TestCertificateRefresherUsesTheClientsClock(t *testing.T) {
	t.Parallel()
	wxtest.SharedKeys()
	synctest.Test(t, func(t *testing.T) {
		good := certificatesMemAnswer(t)
		m := &memTransport{answer: func() memAnswer { return good }}
		fixed := time.Now().Add(42 * time.Second)
		c := newRefresherClient(t, m, WithClock(func() time.Time { return fixed }))
		r, err := c.StartCertificateRefresher(t.Context(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Stop()
		if !r.LastSuccess().Equal(fixed) {
			t.Fatalf("LastSuccess = %v, want the client's clock %v", r.LastSuccess(), fixed)
		}
	})
}

func TestCertificateRefresherReportsTheFirstFailure(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	srv := wxtest.NewServer(k, wxtest.WithFault(wxtest.FaultProbe))
	defer srv.Close()
	c, _ := NewClient(WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey), WithAPIv3Key(k.APIv3Key), WithBaseURL(srv.URL))
	if _, err := c.StartCertificateRefresher(context.Background(), time.Hour); !errors.Is(err, ErrProbeSignature) {
		t.Fatalf("err = %v", err)
	}
}

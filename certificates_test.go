package wxpay

import (
	"context"
	"errors"
	"testing"
	"time"

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

func TestCertificateRefresherUpdatesTheRingAndStops(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	srv := wxtest.NewServer(k)
	defer srv.Close()
	c, err := NewClient(WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey), WithAPIv3Key(k.APIv3Key), WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.StartCertificateRefresher(context.Background(), 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.KeyRing().Lookup(k.PlatformSerial); !ok || r.Err() != nil || r.LastSuccess().IsZero() {
		t.Fatalf("after start: ring %v, err %v", c.KeyRing().Serials(), r.Err())
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(srv.Requests()) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	srv.SetFault(wxtest.FaultBadSignature)
	for r.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !errors.Is(r.Err(), ErrBadSignature) {
		t.Fatalf("refresh error = %v, want ErrBadSignature", r.Err())
	}
	r.Stop()
	n := len(srv.Requests())
	time.Sleep(60 * time.Millisecond)
	if len(srv.Requests()) != n {
		t.Fatal("the refresher kept running after Stop")
	}
	if _, ok := c.KeyRing().Lookup(k.PlatformSerial); !ok {
		t.Fatal("a failed refresh dropped the known certificate")
	}
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

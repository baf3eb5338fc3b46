package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// Each key mode signs answers with what it has; a migration signs with the
// key the request's Wechatpay-Serial names, else the newest platform
// certificate (docs/protocol.md §3.4).
func TestAnswerSigningKey(t *testing.T) {
	t.Parallel()
	k := newServer(t).Keys
	target := "/v3/businesscircle/user-authorizations/" + openID + "?appid=" + appID
	type ask struct {
		serial *string // Wechatpay-Serial sent; nil: none
		want   string  // serial of the answer
	}
	pub, platform := k.PublicKeyID, k.PlatformSerial
	tests := []struct {
		mode sandbox.KeyMode
		asks []ask
	}{
		{sandbox.PublicKeyMode, []ask{{nil, pub}, {&pub, pub}, {&platform, pub}, {ptr(""), pub}}},
		{sandbox.PlatformCertificateMode, []ask{{nil, platform}, {&pub, platform}, {&platform, platform}}},
		{sandbox.MigrationMode, []ask{{nil, platform}, {ptr(""), platform}, {&pub, pub}, {&platform, platform},
			{ptr("PUB_KEY_ID_0000000000000000000000000000000000"), platform}}},
	}
	for _, tt := range tests {
		srv := newServer(t, sandbox.WithKeyMode(tt.mode))
		for _, a := range tt.asks {
			r := raw{method: http.MethodGet, target: target}
			if a.serial != nil {
				r.header = map[string]string{"Wechatpay-Serial": *a.serial}
			}
			got := verifyAnswer(t, k, send(t, srv, r))
			if got != a.want {
				t.Errorf("mode %d, Wechatpay-Serial %v: answer signed by %s, want %s", tt.mode, a.serial, got, a.want)
			}
		}
		// The SDK client asks for its preferred key and verifies.
		_, resp, err := businesscircle.New(srv.Client).Businesscircle.UserAuthorizations.Get(context.Background(), openID,
			businesscircle.UserAuthorizationQuery{AppID: appID})
		if err != nil {
			t.Fatalf("mode %d: %v", tt.mode, err)
		}
		want := pub
		if tt.mode == sandbox.PlatformCertificateMode {
			want = platform
		}
		if resp.Serial != want {
			t.Errorf("mode %d: client verified with %s, want %s", tt.mode, resp.Serial, want)
		}
	}
}

// GET /v3/certificates gives the platform certificates encrypted with the
// APIv3 key, newest first; the SDK downloads and verifies them. Without
// platform certificates it is WeChat Pay's 404.
func TestCertificatesDownload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, mode := range []sandbox.KeyMode{sandbox.PlatformCertificateMode, sandbox.MigrationMode} {
		srv := newServer(t, sandbox.WithKeyMode(mode))
		certs, err := srv.Client.DownloadCertificates(ctx)
		if err != nil {
			t.Fatalf("mode %d: %v", mode, err)
		}
		if len(certs) != 1 || !certs[0].Equal(srv.Keys.PlatformCert) {
			t.Errorf("mode %d: downloaded %d certificates, want the configured one", mode, len(certs))
		}
	}

	// A client that trusts nothing yet downloads with the APIv3 key alone.
	srv := newServer(t, sandbox.WithKeyMode(sandbox.PlatformCertificateMode))
	k := srv.Keys
	bare, err := wxpay.NewClient(wxpay.WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey),
		wxpay.WithAPIv3Key(k.APIv3Key), wxpay.WithBaseURL(srv.URL), wxpay.WithClock(fixedClock))
	if err != nil {
		t.Fatal(err)
	}
	if certs, err := bare.DownloadCertificates(ctx); err != nil || len(certs) != 1 {
		t.Errorf("bootstrap download: %d certificates, %v", len(certs), err)
	}

	pubOnly := newServer(t)
	_, err = pubOnly.Client.DownloadCertificates(ctx)
	var apiErr *wxpay.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "RESOURCE_NOT_EXISTS" ||
		apiErr.Message != "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥。可查看指引https://pay.weixin.qq.com/docs/merchant/products/platform-certificate/wxp-pub-key-guide.html" {
		t.Errorf("public-key mode download: %v", err)
	}
}

// During a certificate rotation both certificates are listed, newest first,
// the newest signs by default and the older one when asked for.
func TestCertificateRotation(t *testing.T) {
	t.Parallel()
	k := newServer(t).Keys
	newer := newerCertificate(t, k)
	srv := newServer(t, sandbox.WithKeyMode(sandbox.PlatformCertificateMode), sandbox.WithConfig(func(c *sandbox.Config) {
		c.PlatformCertificates = append(c.PlatformCertificates, sandbox.PlatformCertificate{Certificate: newer, Key: k.PlatformKey})
	}))
	newerSerial := wxpay.CertificateSerial(newer)
	a := send(t, srv, raw{method: http.MethodGet, target: "/v3/certificates"})
	var list struct {
		Data []struct {
			SerialNo string `json:"serial_no"`
		} `json:"data"`
	}
	if err := json.Unmarshal(a.body, &list); err != nil || len(list.Data) != 2 ||
		list.Data[0].SerialNo != newerSerial || list.Data[1].SerialNo != k.PlatformSerial {
		t.Fatalf("certificates = %s, want the newer then the older", a.body)
	}
	if got := a.header.Get("Wechatpay-Serial"); got != newerSerial {
		t.Errorf("default signer %s, want the newest certificate %s", got, newerSerial)
	}
	old := send(t, srv, raw{method: http.MethodGet, target: "/v3/certificates", header: map[string]string{"Wechatpay-Serial": k.PlatformSerial}})
	if got := old.header.Get("Wechatpay-Serial"); got != k.PlatformSerial {
		t.Errorf("asked for the older certificate, signed by %s", got)
	}
	certs, err := srv.Client.DownloadCertificates(context.Background())
	if err != nil || len(certs) != 2 {
		t.Errorf("download: %d certificates, %v", len(certs), err)
	}
}

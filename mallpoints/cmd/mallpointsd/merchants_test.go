package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/sandbox"

	"github.com/seed2ac2593f/wxpay/mallpoints/testkit"
)

// TestWithAMerchantsFileEachMerchantIsNotifiedAtItsURLAndSignsItsMallsSyncs
// runs the service with --merchants: a direct merchant in public-key mode
// and a service provider that also gives platform certificates, whose APIv3
// key is in a variable. The provider's certificates are downloaded at start
// by the provider; each payment arrives at its merchant's URL and its sync
// is sent by that merchant; SIGHUP with a mistake in the file names its line.
func TestWithAMerchantsFileEachMerchantIsNotifiedAtItsURLAndSignsItsMallsSyncs(t *testing.T) {
	t.Parallel()
	const direct, provider, sub = "1900000109", "1900000209", "1900000301"
	a, err := sandbox.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	p, err := sandbox.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pk := *p // the provider's own merchant and APIv3 keys; WeChat Pay's keys are the one sandbox's
	pk.MchID, pk.WechatPayKey, pk.PublicKeyID, pk.PlatformKey, pk.PlatformCert = provider, a.WechatPayKey, a.PublicKeyID, a.PlatformKey, a.PlatformCert
	for name, k := range map[string]*sandbox.Keys{"direct": a, "provider": &pk} {
		if err := k.WriteDir(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "merchants.yaml")
	good := `merchants:
  - mchid: "` + direct + `"
    private_key: direct/apiclient_key.pem
    merchant_cert: direct/apiclient_cert.pem
    wechatpay_public_key: direct/pub_key.pem
    wechatpay_public_key_id: ` + a.PublicKeyID + `
    apiv3_key_file: direct/apiv3_key.txt
  - mchid: "` + provider + `"
    mode: partner
    private_key: provider/apiclient_key.pem
    merchant_cert: provider/apiclient_cert.pem
    wechatpay_public_key: provider/pub_key.pem
    wechatpay_public_key_id: ` + a.PublicKeyID + `
    platform_certs: [provider/platform_cert.pem]
    apiv3_key_env: MALL_` + provider + `_APIV3_KEY
    sub_mchids: ["` + sub + `"]
`
	if err := os.WriteFile(file, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"MALL_" + provider + "_APIV3_KEY": p.APIv3Key}

	pubAddr := freeAddr(t)
	cfg := a.Config()
	cfg.Merchants[0].NotifyURL = "http://" + pubAddr + "/wechatpay/notify/" + direct
	cfg.Merchants = append(cfg.Merchants, sandbox.Merchant{MchID: provider, Certificate: p.MerchantCert, APIv3Key: p.APIv3Key,
		NotifyURL: "http://" + pubAddr + "/wechatpay/notify/" + provider, SubMerchants: []sandbox.SubMerchant{{MchID: sub}}})
	cfg.NotifyRetrySchedule = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
		time.Second, time.Second, 2 * time.Second, 2 * time.Second, 5 * time.Second}
	var sbLogs testkit.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&sbLogs, nil))
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	sbHTTP := httptest.NewServer(sb)
	defer sbHTTP.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var out, logs testkit.Buffer
	hup := make(chan os.Signal, 1)
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"--listen", pubAddr, "--admin-listen", "127.0.0.1:0", "--db", filepath.Join(dir, "mallpoints.db"),
			"--base-url", sbHTTP.URL, "--merchants", file}, func(k string) string { return env[k] }, hup, &out, &logs)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d:\n%s", code, logs.String())
		}
	}()
	printed(t, &out, &logs, regexp.MustCompile(`merchant `+provider+` \(partner\) notified at http://\S+/wechatpay/notify/`+provider))
	admin := printed(t, &out, &logs, regexp.MustCompile(`admin API at (http://[^ ]+)/api/`))[1]
	printed(t, &sbLogs, &logs, regexp.MustCompile(`path=/v3/certificates status=200 .*mchid=`+provider))

	for _, c := range []struct{ mall, signer string }{{direct, direct}, {sub, provider}} {
		req := sandbox.MemberRequest{AppID: demoAppID, OpenID: "oMerchants01"}
		pay := sandbox.PaymentRequest{AppID: demoAppID, OpenID: "oMerchants01", Amount: 25600}
		if c.mall != c.signer {
			req.SubMchID, pay.SubMchID = c.mall, c.mall
		}
		if _, _, err := sb.Authorize(req); err != nil {
			t.Fatal(err)
		}
		paid, err := sb.Pay(pay)
		if err != nil {
			t.Fatal(err)
		}
		// The sandbox logs the merchant each call was signed by.
		printed(t, &sbLogs, &logs, regexp.MustCompile(`path=/v3/businesscircle/points/notify status=204 .*mchid=`+c.signer))
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
			var got struct {
				Transaction struct{ Sync struct{ State string } }
			}
			resp, err := http.Get(admin + "/api/transactions/" + c.mall + "/" + paid.TransactionID)
			if err != nil {
				t.Fatal(err)
			}
			json.NewDecoder(resp.Body).Decode(&got)
			resp.Body.Close()
			if got.Transaction.Sync.State == "synced" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("mall %s: the payment is not synced:\n%s", c.mall, logs.String())
			}
		}
		if p, _ := sb.Points(paid.TransactionID); p.SyncCount != 1 {
			t.Errorf("mall %s: sandbox sync count %d, want 1", c.mall, p.SyncCount)
		}
	}

	if err := os.WriteFile(file, []byte("merchants:\n  - mchid: \""+direct+"\"\n    private_kee: x.pem\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hup <- syscall.SIGHUP
	printed(t, &logs, &out, regexp.MustCompile(`merchants not reloaded; the previous merchants stay in force.*merchants\.yaml:3: merchants\[0\]\.private_kee: unknown key`))
	if err := os.WriteFile(file, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	hup <- syscall.SIGHUP
	printed(t, &logs, &out, regexp.MustCompile(`msg="mallpointsd: merchants reloaded" merchants=2`))
}

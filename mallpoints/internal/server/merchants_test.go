package server_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/seed2ac2593f/wxpay/sandbox"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/server"
)

// The malls of the two-merchant tests: a direct merchant (the test keys'
// 1900000109) and a service provider serving two sub-merchants, of which
// the merchants file lists one.
const (
	direct      = "1900000109"
	provider    = "1900000209"
	listedSub   = "1900000301"
	unlistedSub = "1900000302"
)

// providerKeys are the provider's own merchant key and APIv3 key.
var providerKeys = sync.OnceValues(sandbox.GenerateKeys)

// twoMerchants is a sandbox with the direct merchant and the provider, and
// a merchants file listing the direct merchant and the provider with
// listedSub only; each merchant is notified at its own URL.
type twoMerchants struct {
	dir  string // the merchants file's folder
	path string
}

func newTwoMerchants(t *testing.T) *twoMerchants {
	t.Helper()
	a, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	p, err := providerKeys()
	if err != nil {
		t.Fatal(err)
	}
	tm := &twoMerchants{dir: t.TempDir()}
	tm.path = filepath.Join(tm.dir, "merchants.yaml")
	// Each merchant's folder of keys; WeChat Pay's public key is the one
	// sandbox's, so both verify with it.
	pk := *p
	pk.MchID, pk.WechatPayKey, pk.PublicKeyID, pk.PlatformKey = provider, a.WechatPayKey, a.PublicKeyID, nil
	for dir, k := range map[string]*sandbox.Keys{"direct": a, "provider": &pk} {
		if err := k.WriteDir(filepath.Join(tm.dir, dir)); err != nil {
			t.Fatal(err)
		}
	}
	tm.write(t, true)
	return tm
}

// write writes the merchants file, with the provider or without it.
func (tm *twoMerchants) write(t *testing.T, withProvider bool) {
	t.Helper()
	a, _ := testKeys()
	p, _ := providerKeys()
	file := `merchants:
  - mchid: "` + direct + `"
    name: 测试商圈
    private_key: direct/apiclient_key.pem
    merchant_cert: direct/apiclient_cert.pem
    wechatpay_public_key: direct/pub_key.pem
    wechatpay_public_key_id: ` + a.PublicKeyID + `
    apiv3_key_file: direct/apiv3_key.txt
`
	if withProvider {
		file += `  - mchid: "` + provider + `"
    mode: partner
    private_key: provider/apiclient_key.pem
    merchant_serial: ` + p.MerchantSerial + `
    wechatpay_public_key: provider/pub_key.pem
    wechatpay_public_key_id: ` + a.PublicKeyID + `
    apiv3_key_file: provider/apiv3_key.txt
    sub_mchids: ["` + listedSub + `"]
`
	}
	if err := os.WriteFile(tm.path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
}

// options serve the sandbox's two merchants from the merchants file.
func (tm *twoMerchants) options() envOptions {
	return envOptions{merchants: tm.path, sandbox: func(cfg *sandbox.Config) {
		p, _ := providerKeys()
		base := strings.TrimSuffix(cfg.Merchants[0].NotifyURL, "/wechatpay/notify")
		cfg.Merchants[0].NotifyURL = base + "/wechatpay/notify/" + direct
		cfg.Merchants = append(cfg.Merchants, sandbox.Merchant{
			MchID: provider, Certificate: p.MerchantCert, APIv3Key: p.APIv3Key,
			NotifyURL:    base + "/wechatpay/notify/" + provider,
			SubMerchants: []sandbox.SubMerchant{{MchID: listedSub, Name: "朝阳店"}, {MchID: unlistedSub, Name: "通州店"}},
		})
	}}
}

// The "done means": two merchants' malls served by one process,
// each notified at its own URL, each sync signed by the merchant that
// serves its mall; a sub-merchant the file does not list is taken, synced
// by the provider whose URL received it, and flagged.
func TestTwoMerchantsMallsAreServedByOneProcessEachSyncSignedByItsOwner(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		tm := newTwoMerchants(t)
		e := newEnv(t, dsn, tm.options())
		for _, tc := range []struct {
			mall, merchant, subMchID, name string
			listed                         bool
		}{
			{direct, direct, "", "测试商圈", true},
			{listedSub, provider, listedSub, "朝阳店", true},
			{unlistedSub, provider, unlistedSub, "通州店", false},
		} {
			openid := e.member(tc.mall)
			p := e.payment(tc.mall, openid, 12345, "")
			tr := e.synced(tc.mall, p.TransactionID)
			if tr.Transaction.Points != 123 {
				t.Errorf("mall %s: %d points", tc.mall, tr.Transaction.Points)
			}
			// The sandbox takes a points sync only from the merchant whose
			// payment it is, so a sync signed by the other would not land.
			got := e.sandboxSync(p.TransactionID)
			if got.Count != 1 || got.Body.SubMchID != tc.subMchID {
				t.Errorf("mall %s: the sandbox got %d syncs, sub_mchid %q; want 1, %q", tc.mall, got.Count, got.Body.SubMchID, tc.subMchID)
			}
			if d := e.deliveryOf(p.NotificationID); d.path != "/wechatpay/notify/"+tc.merchant {
				t.Errorf("mall %s: its payment was notified at %s, want merchant %s's URL", tc.mall, d.path, tc.merchant)
			}
			if name := e.srv.MallName(tc.mall); name != tc.name {
				t.Errorf("mall %s is named %q, want %q", tc.mall, name, tc.name)
			}
			var list struct {
				Malls []struct {
					Mall, Name, Merchant string
					Listed               bool
				}
			}
			if status := e.get("/api/merchants", &list); status != http.StatusOK {
				t.Fatalf("GET /api/merchants: %d", status)
			}
			found := false
			for _, m := range list.Malls {
				if m.Mall == tc.mall {
					found = true
					if m.Merchant != tc.merchant || m.Listed != tc.listed || m.Name != tc.name {
						t.Errorf("GET /api/merchants: %+v; want merchant %s, listed %v, name %s", m, tc.merchant, tc.listed, tc.name)
					}
				}
			}
			if !found {
				t.Errorf("GET /api/merchants does not list mall %s", tc.mall)
			}
		}
		// The unlisted mall's activation and payment were both flagged.
		if n, _ := value(t, e.scrape(), "mallpoints_unlisted_mall_notifications_total", map[string]string{"merchant": provider}); n != 2 {
			t.Errorf("mallpoints_unlisted_mall_notifications_total{merchant=%q} = %v, want 2", provider, n)
		}
		// The dashboard shows the name beside the id.
		if page, _ := e.page(http.MethodGet, "/members", nil); !strings.Contains(page, "通州店 ("+unlistedSub+")") {
			t.Errorf("the members page does not name mall %s", unlistedSub)
		}
	})
}

// A notification at one merchant's URL that decrypts only with another's
// key is refused, so WeChat Pay delivers it again (to the right URL, once
// registered); under --merchants the bare URL, and a merchant not in the
// file, are 404.
func TestANotificationAtAnotherMerchantsURLIsRefused(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		tm := newTwoMerchants(t)
		e := newEnv(t, dsn, tm.options())
		openid := e.member(listedSub)
		p := e.payment(listedSub, openid, 500, "")
		e.synced(listedSub, p.TransactionID) // taken: a delivery in progress would be answered 500
		d := e.deliveryOf(p.NotificationID)
		if status := e.replayAt("/wechatpay/notify/"+direct, d); status != http.StatusBadRequest {
			t.Errorf("the provider's notification at the direct merchant's URL: %d, want 400", status)
		}
		for _, path := range []string{"/wechatpay/notify", "/wechatpay/notify/1900000999"} {
			if status := e.replayAt(path, d); status != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", path, status)
			}
		}
		if status := e.replay(d); status != http.StatusOK && status != http.StatusNoContent {
			t.Errorf("at its own URL again: %d, want 2xx", status)
		}
	})
}

// Without --merchants, the one merchant's notifications arrive at the bare
// URL, as before, and at its own.
func TestTheFlagsMerchantIsNotifiedAtTheBareURLAndAtItsOwn(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		openid := e.member(e.mchID)
		p := e.payment(e.mchID, openid, 500, "")
		e.synced(e.mchID, p.TransactionID) // taken: a delivery in progress would be answered 500
		d := e.deliveryOf(p.NotificationID)
		if d.path != "/wechatpay/notify" {
			t.Errorf("notified at %s", d.path)
		}
		for _, path := range []string{"/wechatpay/notify/" + e.mchID, "/wechatpay/notify"} {
			if status := e.replayAt(path, d); status != http.StatusOK && status != http.StatusNoContent {
				t.Errorf("%s: %d, want 2xx", path, status)
			}
		}
		if status := e.replayAt("/wechatpay/notify/1900000999", d); status != http.StatusNotFound {
			t.Errorf("another merchant's URL: %d, want 404", status)
		}
	})
}

// A reload that drops a merchant with pending syncs is refused, naming the
// count, and the merchants in force stay; so does a file with a mistake,
// naming its line. Once the syncs are done, the merchant can go.
func TestAReloadThatDropsAMerchantWithPendingSyncsIsRefused(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		tm := newTwoMerchants(t)
		e := newEnv(t, dsn, tm.options())
		ctx := context.Background()
		openid := e.member(listedSub)
		e.sb.SetFaults(sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{"*": {ErrorRate: 1, ErrorStatus: 500}}})
		txid := e.pay(listedSub, openid, 500, "")
		e.eventually("a failed attempt", func() bool {
			var tr transaction
			return e.get("/api/transactions/"+listedSub+"/"+txid, &tr) == http.StatusOK && tr.Transaction.Sync.Attempts > 0
		})

		tm.write(t, false)
		_, err := e.srv.ReloadMerchants(ctx)
		if !errors.Is(err, server.ErrMerchantsNotReloaded) || !strings.Contains(err.Error(), "merchant "+provider+" has 1 pending sync ") {
			t.Fatalf("reload dropping the provider: %v", err)
		}
		if e.srv.Merchants().Load().Merchant(provider) == nil {
			t.Fatal("the provider is no longer in force after a refused reload")
		}
		if err := os.WriteFile(tm.path, []byte("merchants:\n  - mchid: \""+direct+"\"\n    private_kee: x.pem\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := e.srv.ReloadMerchants(ctx); err == nil || !strings.Contains(err.Error(), tm.path+":3: merchants[0].private_kee: unknown key") {
			t.Fatalf("reload of a file with a mistake: %v", err)
		}

		e.sb.SetFaults(sandbox.Faults{})
		e.synced(listedSub, txid)
		tm.write(t, false)
		if _, err := e.srv.ReloadMerchants(ctx); err != nil {
			t.Fatalf("reload once the syncs are done: %v", err)
		}
		if status := e.replayAt("/wechatpay/notify/"+provider, e.deliveries()[0]); status != http.StatusNotFound {
			t.Errorf("the dropped provider's URL: %d, want 404", status)
		}
	})
}

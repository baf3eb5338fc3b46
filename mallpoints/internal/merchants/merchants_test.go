package merchants_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/sandbox"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/merchants"
)

// keyDir is a folder of sandbox keys, made once for the package's tests: a
// 2048-bit RSA key is slow.
var keyDir = sync.OnceValues(func() (*keyFiles, error) {
	k, err := sandbox.GenerateKeys()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "merchants-test-")
	if err != nil {
		return nil, err
	}
	return &keyFiles{keys: k, dir: dir}, k.WriteDir(filepath.Join(dir, "keys"))
})

type keyFiles struct {
	keys *sandbox.Keys
	dir  string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if f, err := keyDir(); err == nil {
		os.RemoveAll(f.dir)
	}
	os.Exit(code)
}

// keys returns the folder the test's merchants files go in: the keys are
// in its keys/ folder.
func keys(t *testing.T) *keyFiles {
	t.Helper()
	f, err := keyDir()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// merchant is one merchant of a file, its keys the sandbox's; lines
// replace or add keys ("mode: partner").
func (f *keyFiles) merchant(mchid string, lines ...string) string {
	keys := map[string]string{
		"mchid":                   `"` + mchid + `"`,
		"private_key":             "keys/" + sandbox.FileMerchantKey,
		"merchant_cert":           "keys/" + sandbox.FileMerchantCert,
		"wechatpay_public_key":    "keys/" + sandbox.FilePublicKey,
		"wechatpay_public_key_id": f.keys.PublicKeyID,
		"apiv3_key_file":          "keys/" + sandbox.FileAPIv3Key,
	}
	order := []string{"mchid", "private_key", "merchant_cert", "wechatpay_public_key", "wechatpay_public_key_id", "apiv3_key_file"}
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ":")
		if _, ok := keys[k]; !ok {
			order = append(order, k)
		}
		keys[k] = strings.TrimSpace(v)
	}
	var b strings.Builder
	first := true
	for _, k := range order {
		v, ok := keys[k]
		if !ok || v == "-" {
			continue
		}
		if first {
			first = false
			b.WriteString("  - ")
		} else {
			b.WriteString("    ")
		}
		b.WriteString(k + ": " + v + "\n")
	}
	return b.String()
}

// write writes a merchants file into the keys' folder and returns its path.
func (f *keyFiles) write(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(f.dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+".yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	return path
}

// TestAMerchantsFileThatCannotBeUsedNamesItsLine: every problem names the
// file, the line and the key, and none quotes a key.
func TestAMerchantsFileThatCannotBeUsedNamesItsLine(t *testing.T) {
	t.Parallel()
	f := keys(t)
	a := f.merchant("1900000109", "name: 大悦城")
	p := f.merchant("1900000209", "mode: partner", `sub_mchids: ["1900000301", "1900000302"]`)
	keyPath := filepath.Join(f.dir, "keys")
	for _, tc := range []struct {
		name, file string
		env        map[string]string
		want       string // with KEYS for the keys' folder
	}{
		{"empty file", "", nil, ": the file lists no merchants"},
		{"no merchant listed", "merchants: []\n", nil, ":1: merchants: the file lists no merchants"},
		{"unknown key at the top", "merchant:\n" + a, nil, ":1: merchant: unknown key; the keys here: merchants"},
		{"unknown key of a merchant", "merchants:\n" + a + "    privat_key: x.pem\n", nil,
			":9: merchants[0].privat_key: unknown key; the keys of a merchant: mchid, name, mode,"},
		{"key given twice", "merchants:\n" + a + "    mchid: \"1900000110\"\n", nil, ":9: merchants[0].mchid: given twice (first at line 2)"},
		{"a mall listed twice across merchants", "merchants:\n" + a + p + "    sub_mchids: [\"1900000109\"]\n", nil,
			":17: merchants[1].sub_mchids: given twice (first at line 16)"},
		{"a sub-merchant listed as a direct merchant too", "merchants:\n" + a + strings.Replace(p, "1900000302", "1900000109", 1), nil,
			":16: merchants[1].sub_mchids[1]: mall 1900000109 is already listed at line 2; a mall belongs to one merchant"},
		{"a sub-merchant listed by two providers", "merchants:\n" + p + strings.Replace(p, "1900000209", "1900000210", 1), nil,
			":17: merchants[1].sub_mchids[0]: mall 1900000301 is already listed at line 9; a mall belongs to one merchant"},
		{"a merchant listed twice", "merchants:\n" + a + a, nil,
			":9: merchants[1].mchid: mall 1900000109 is already listed at line 2; a mall belongs to one merchant"},
		{"sub-merchants of a direct merchant", "merchants:\n" + f.merchant("1900000109", "sub_mchids: [\"1900000301\"]"), nil,
			":8: merchants[0].sub_mchids: only a merchant in mode: partner serves sub-merchants"},
		{"no mchid", "merchants:\n" + f.merchant("1900000109", "mchid: -", "name: x"), nil, ":2: merchants[0]: a merchant needs its mchid"},
		{"mchid not an id", "merchants:\n" + f.merchant("1900-000109"), nil, `:2: merchants[0].mchid: must be 1 to 32 letters or digits, got "1900-000109"`},
		{"unknown mode", "merchants:\n" + f.merchant("1900000109", "mode: direct"), nil,
			`:8: merchants[0].mode: must be merchant (a directly connected mall) or partner`},
		{"no private key", "merchants:\n" + f.merchant("1900000109", "private_key: -"), nil,
			":2: merchants[0]: merchant 1900000109 needs private_key"},
		{"no certificate or serial", "merchants:\n" + f.merchant("1900000109", "merchant_cert: -"), nil,
			":2: merchants[0]: merchant 1900000109 needs merchant_cert (apiclient_cert.pem) or merchant_serial"},
		{"public key without its id", "merchants:\n" + f.merchant("1900000109", "wechatpay_public_key_id: -"), nil,
			":5: merchants[0].wechatpay_public_key: needs wechatpay_public_key_id (PUB_KEY_ID_…) beside it"},
		{"nothing to verify with", "merchants:\n" + f.merchant("1900000109", "wechatpay_public_key_id: -", "wechatpay_public_key: -"), nil,
			":2: merchants[0]: merchant 1900000109 needs a key to verify WeChat Pay with"},
		{"platform certificates not a list", "merchants:\n" + f.merchant("1900000109", "platform_certs: keys/"+sandbox.FilePlatformCert), nil,
			":8: merchants[0].platform_certs: must be a list of certificate files"},
		{"no APIv3 key", "merchants:\n" + f.merchant("1900000109", "apiv3_key_file: -"), nil,
			":2: merchants[0]: merchant 1900000109 needs apiv3_key_env or apiv3_key_file"},
		{"APIv3 key twice", "merchants:\n" + f.merchant("1900000109", "apiv3_key_env: MALL_KEY"), nil,
			":7: merchants[0].apiv3_key_file: give apiv3_key_env or apiv3_key_file, not both"},
		{"the APIv3 key itself where its variable belongs", "merchants:\n" + f.merchant("1900000109", "apiv3_key_file: -", "apiv3_key_env: "+"0"+f.keys.APIv3Key[1:]), nil,
			":7: merchants[0].apiv3_key_env: must name an environment variable (letters, digits and _), never hold the key itself"},
		{"APIv3 key variable not set", "merchants:\n" + f.merchant("1900000109", "apiv3_key_file: -", "apiv3_key_env: MALL_1900000109_APIV3_KEY"), nil,
			":7: merchants[0].apiv3_key_env: the environment variable it names is not set"},
		{"APIv3 key too short", "merchants:\n" + f.merchant("1900000109", "apiv3_key_file: -", "apiv3_key_env: MALL_KEY"), map[string]string{"MALL_KEY": "0123456789"},
			":7: merchants[0].apiv3_key_env MALL_KEY: wxpay: APIv3 key has 10 bytes, want 32"},
		{"missing key file", "merchants:\n" + f.merchant("1900000109", "private_key: keys/nonexistent.pem"), nil,
			":3: merchants[0].private_key KEYS/nonexistent.pem: no such file or directory"},
		{"certificate of another key", "merchants:\n" + f.merchant("1900000109", "merchant_cert: keys/"+sandbox.FilePlatformCert), nil,
			":4: merchants[0].merchant_cert KEYS/" + sandbox.FilePlatformCert + " is not the certificate of merchants[0].private_key KEYS/" + sandbox.FileMerchantKey},
		{"a display name with a line break", "merchants:\n" + f.merchant("1900000109", `name: "a\nb"`), nil,
			":8: merchants[0].name: must be valid UTF-8 without control characters"},
		{"anchors", "merchants:\n  - &m\n    mchid: \"1\"\n", nil, ":2: anchors and aliases (&name, *name) are not supported"},
		{"a second document", "merchants:\n" + a + "---\nmerchants: []\n", nil, ":9: a merchants file is one YAML document"},
		{"not YAML", "merchants: [\n", nil, ":1: YAML syntax: did not find expected node content"},
		{"a list where the merchants go", "merchants: 1900000109\n", nil, ":1: merchants: must be a list (items starting with -, or [a, b])"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := f.write(t, tc.file)
			_, err := merchants.Load(path, merchants.Options{LookupEnv: func(k string) (string, bool) {
				v, ok := tc.env[k]
				return v, ok
			}})
			want := path + strings.ReplaceAll(tc.want, "KEYS", keyPath)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("error = %v\nwant    %s…", err, want)
			}
			if strings.Contains(err.Error(), f.keys.APIv3Key) || strings.Contains(err.Error(), f.keys.APIv3Key[1:]) || strings.Contains(err.Error(), "MII") {
				t.Errorf("the error quotes a secret: %v", err)
			}
		})
	}
}

// TestEachMallIsSignedForByTheMerchantThatServesIt: a direct merchant's own
// mall is signed for without sub_mchid, a provider's sub-merchant with it,
// a mall the file does not list by nobody; each merchant has its own client
// and parser.
func TestEachMallIsSignedForByTheMerchantThatServesIt(t *testing.T) {
	t.Parallel()
	f := keys(t)
	path := f.write(t, "merchants:\n"+f.merchant("1900000109", "name: 大悦城", "mode: merchant")+
		f.merchant("1900000209", "mode: partner", `sub_mchids: ["1900000301"]`, "apiv3_key_file: -", "apiv3_key_env: P_KEY"))
	set, err := merchants.Load(path, merchants.Options{LookupEnv: func(k string) (string, bool) {
		return map[string]string{"P_KEY": f.keys.APIv3Key}[k], k == "P_KEY"
	}})
	if err != nil {
		t.Fatal(err)
	}
	reg := merchants.NewRegistry(set)
	a, p := set.Merchant("1900000109"), set.Merchant("1900000209")
	if a == nil || p == nil || a.Client == p.Client || a.Parser == p.Parser {
		t.Fatalf("merchants %v and %v: want two, each with its own client and parser", a, p)
	}
	for _, tc := range []struct {
		mall   string
		client any
		sub    string
		ok     bool
	}{
		{"1900000109", a.Client, "", true},
		{"1900000301", p.Client, "1900000301", true},
		{"1900000302", nil, "", false},
		{"1900000209", nil, "", false}, // a provider is no mall of its own
	} {
		c, sub, ok := reg.ClientFor(tc.mall)
		if any(c) != tc.client && (c != nil || tc.client != nil) || sub != tc.sub || ok != tc.ok {
			t.Errorf("ClientFor(%s) = %p, %q, %v; want %p, %q, %v", tc.mall, c, sub, ok, tc.client, tc.sub, tc.ok)
		}
	}
	if got := set.Name("1900000109"); got != "大悦城" {
		t.Errorf("Name = %q", got)
	}
	if set.Default() != "1900000109" || len(set.Merchants()) != 2 || p.Mode != merchants.Partner || a.Mode != merchants.Direct {
		t.Errorf("default %s, %d merchants, modes %s and %s", set.Default(), len(set.Merchants()), a.Mode, p.Mode)
	}
}

// TestTheFlagsMerchantServesEveryMall: without a file, the one merchant
// signs for its own mall and for any other as its sub-merchant.
func TestTheFlagsMerchantServesEveryMall(t *testing.T) {
	t.Parallel()
	set := merchants.Single("1900000109", nil, nil)
	if _, sub, ok := set.ClientFor("1900000109"); !ok || sub != "" {
		t.Errorf("own mall: sub %q, ok %v", sub, ok)
	}
	if _, sub, ok := set.ClientFor("1900000301"); !ok || sub != "1900000301" {
		t.Errorf("another mall: sub %q, ok %v", sub, ok)
	}
}

// TestPlatformCertificatesAreDownloadedPerMerchant: StartRefresh downloads
// the certificates of the merchants that give platform_certs only, each
// with its own client; a failed download names the merchant and leaves
// nothing running.
func TestPlatformCertificatesAreDownloadedPerMerchant(t *testing.T) {
	t.Parallel()
	f := keys(t)
	sb, err := sandbox.New(f.keys.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	var calls sync.Map // mchid → true, of the certificate downloads the sandbox answered
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v3/certificates" {
			_, mchid, _ := strings.Cut(r.Header.Get("Authorization"), `mchid="`)
			mchid, _, _ = strings.Cut(mchid, `"`)
			calls.Store(mchid, true)
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	path := f.write(t, "merchants:\n"+f.merchant(f.keys.MchID, "platform_certs: [keys/"+sandbox.FilePlatformCert+"]")+
		f.merchant("1900000110"))
	set, err := merchants.Load(path, merchants.Options{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := set.StartRefresh(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	set.Stop()
	if _, ok := calls.Load(f.keys.MchID); !ok {
		t.Errorf("merchant %s, which gives platform_certs, downloaded none", f.keys.MchID)
	}
	if _, ok := calls.Load("1900000110"); ok {
		t.Error("merchant 1900000110, which gives none, downloaded certificates")
	}

	srv.Close()
	err = set.StartRefresh(context.Background(), time.Hour)
	if err == nil || !strings.Contains(err.Error(), "merchant "+f.keys.MchID+": download platform certificates") {
		t.Errorf("a failed download: %v", err)
	}
}

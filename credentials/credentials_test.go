package credentials_test

import (
	"context"
	"flag"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/credentials"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// keyDir is a folder of sandbox keys, made once for the package's tests.
var keyDir = sync.OnceValues(func() (*keyFiles, error) {
	k, err := sandbox.GenerateKeys()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "credentials-test-")
	if err != nil {
		return nil, err
	}
	if err := k.WriteDir(dir); err != nil {
		return nil, err
	}
	return &keyFiles{keys: k, dir: dir}, nil
})

type keyFiles struct {
	keys *sandbox.Keys
	dir  string
}

func (f *keyFiles) path(name string) string { return filepath.Join(f.dir, name) }

func TestMain(m *testing.M) {
	code := m.Run()
	if f, err := keyDir(); err == nil {
		os.RemoveAll(f.dir)
	}
	os.Exit(code)
}

func keys(t *testing.T) *keyFiles {
	t.Helper()
	f, err := keyDir()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// env is everything a service needs, as environment variables.
func (f *keyFiles) env() map[string]string {
	return map[string]string{
		"WXPAY_MCHID":                   f.keys.MchID,
		"WXPAY_PRIVATE_KEY":             f.path(sandbox.FileMerchantKey),
		"WXPAY_MERCHANT_CERT":           f.path(sandbox.FileMerchantCert),
		"WXPAY_WECHATPAY_PUBLIC_KEY":    f.path(sandbox.FilePublicKey),
		"WXPAY_WECHATPAY_PUBLIC_KEY_ID": f.keys.PublicKeyID,
		"WXPAY_APIV3_KEY_FILE":          f.path(sandbox.FileAPIv3Key),
	}
}

// sources parses args with every credential flag registered and resolves
// them against env.
func sources(t *testing.T, args []string, env map[string]string, fallback credentials.Lookup) credentials.Sources {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flags := credentials.Register(fs, credentials.All)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return flags.Sources(func(k string) string { return env[k] }, fallback)
}

func TestAFlagWinsOverItsVariableWhichWinsOverTheFallback(t *testing.T) {
	t.Parallel()
	config := func(name string) ([]string, string) {
		v := map[string][]string{"mchid": {"3"}, "merchant-serial": {"C3"}, "platform-cert": {"c.pem", "d.pem"}}[name]
		return v, `"` + name + `" in config.json`
	}
	type want struct {
		mchid, mchidFrom string
		serial, cert     string
		certs            []string
		certsFrom        string
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want want
	}{
		{"flag", []string{"--mchid", "1"}, map[string]string{"WXPAY_MCHID": "2"},
			want{"1", "--mchid", "C3", "", []string{"c.pem", "d.pem"}, `"platform-cert" in config.json`}},
		{"variable", nil, map[string]string{"WXPAY_MCHID": "2", "WXPAY_PLATFORM_CERTS": " a.pem, ,b.pem "},
			want{"2", "WXPAY_MCHID", "C3", "", []string{"a.pem", "b.pem"}, "WXPAY_PLATFORM_CERTS"}},
		{"fallback", nil, nil,
			want{"3", `"mchid" in config.json`, "C3", "", []string{"c.pem", "d.pem"}, `"platform-cert" in config.json`}},
		{"an empty flag hides the variable", []string{"--mchid="}, map[string]string{"WXPAY_MCHID": "2"},
			want{"", "--mchid (or WXPAY_MCHID)", "C3", "", []string{"c.pem", "d.pem"}, `"platform-cert" in config.json`}},
		{"repeated flag", []string{"--platform-cert", "x.pem", "--platform-cert", "y.pem"}, map[string]string{"WXPAY_PLATFORM_CERTS": "a.pem"},
			want{"3", `"mchid" in config.json`, "C3", "", []string{"x.pem", "y.pem"}, "--platform-cert"}},
		// The serial and the certificate are one choice: a certificate
		// given as a flag hides the serial of the variable and the file.
		{"one choice", []string{"--merchant-cert", "m.pem"}, map[string]string{"WXPAY_MERCHANT_SERIAL": "C2"},
			want{"3", `"mchid" in config.json`, "", "m.pem", []string{"c.pem", "d.pem"}, `"platform-cert" in config.json`}},
		{"one choice, from the variable", nil, map[string]string{"WXPAY_MERCHANT_CERT": "m.pem"},
			want{"3", `"mchid" in config.json`, "", "m.pem", []string{"c.pem", "d.pem"}, `"platform-cert" in config.json`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := sources(t, tc.args, tc.env, config)
			got := want{s.MchID.Value, s.MchID.From, s.MerchantSerial.Value, s.MerchantCertFile.Value,
				s.PlatformCertFiles.Values, s.PlatformCertFiles.From}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestOnlyAFlagIsOnTheCommandLine(t *testing.T) {
	t.Parallel()
	s := sources(t, []string{"--apiv3-key", "k"}, map[string]string{"WXPAY_MCHID": "1"}, nil)
	if !s.APIv3Key.OnCommandLine || s.MchID.OnCommandLine {
		t.Errorf("OnCommandLine: --apiv3-key %v, WXPAY_MCHID %v; want true, false", s.APIv3Key.OnCommandLine, s.MchID.OnCommandLine)
	}
}

// The loaded options make a client that talks to a sandbox with these keys:
// the merchant serial was read from the certificate, the public key and the
// APIv3 key (from its file, line break and all) are the sandbox's.
func TestLoadedCredentialsSignAndVerify(t *testing.T) {
	t.Parallel()
	f := keys(t)
	sb, err := sandbox.New(f.keys.Config())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	env := f.env()
	env["WXPAY_BASE_URL"] = srv.URL
	creds, err := sources(t, nil, env, nil).Load(credentials.All)
	if err != nil {
		t.Fatal(err)
	}
	if creds.MchID != f.keys.MchID || creds.APIv3Key != f.keys.APIv3Key || len(creds.Warnings) != 0 {
		t.Errorf("MchID %q, APIv3 key of %d bytes, warnings %q", creds.MchID, len(creds.APIv3Key), creds.Warnings)
	}
	if got := creds.Keys.Serials(); !reflect.DeepEqual(got, []string{f.keys.PublicKeyID}) {
		t.Errorf("keys %q, want the public key only", got)
	}
	client, err := wxpay.NewClient(creds.Options...)
	if err != nil {
		t.Fatal(err)
	}
	// Downloading certificates needs the merchant's signature, the APIv3 key
	// and a key to verify the answer.
	certs, err := client.DownloadCertificates(context.Background())
	if err != nil || len(certs) != 1 || wxpay.CertificateSerial(certs[0]) != f.keys.PlatformSerial {
		t.Fatalf("download: %d certificates, %v", len(certs), err)
	}
}

func TestLoadNamesWhatIsMissingOrWrong(t *testing.T) {
	t.Parallel()
	f := keys(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big := write("big.pem", strings.Repeat("A", credentials.MaxFileBytes+1))
	atLimit := write("limit.pem", strings.Repeat("\n", credentials.MaxFileBytes))
	shortKey := write("short.txt", "0123456789\n")
	keyPEM, err := os.ReadFile(f.path(sandbox.FileMerchantKey))
	if err != nil {
		t.Fatal(err)
	}
	with := func(kv ...string) map[string]string {
		env := f.env()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(env, kv[i])
			} else {
				env[kv[i]] = kv[i+1]
			}
		}
		return env
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		need credentials.Parts
		want string
	}{
		{"no mchid", nil, with("WXPAY_MCHID", ""), credentials.All, "--mchid (or WXPAY_MCHID) is required"},
		{"no private key", nil, with("WXPAY_PRIVATE_KEY", ""), credentials.All, "--private-key (or WXPAY_PRIVATE_KEY) is required"},
		{"no serial", nil, with("WXPAY_MERCHANT_CERT", ""), credentials.All,
			"--merchant-serial (or WXPAY_MERCHANT_SERIAL) or --merchant-cert (or WXPAY_MERCHANT_CERT) is required"},
		{"a merchant given in part is loaded even when not needed", nil, map[string]string{"WXPAY_MCHID": "1"}, 0,
			"--private-key (or WXPAY_PRIVATE_KEY) is required"},
		{"public key without its id", nil, with("WXPAY_WECHATPAY_PUBLIC_KEY_ID", ""), credentials.All,
			"--wechatpay-public-key-id (or WXPAY_WECHATPAY_PUBLIC_KEY_ID) is required with WXPAY_WECHATPAY_PUBLIC_KEY"},
		{"id without its public key", []string{"--wechatpay-public-key="}, map[string]string{"WXPAY_WECHATPAY_PUBLIC_KEY_ID": f.keys.PublicKeyID}, 0,
			"--wechatpay-public-key (or WXPAY_WECHATPAY_PUBLIC_KEY) is required with WXPAY_WECHATPAY_PUBLIC_KEY_ID"},
		{"not a public key id", nil, with("WXPAY_WECHATPAY_PUBLIC_KEY_ID", "12345"), credentials.All,
			`WXPAY_WECHATPAY_PUBLIC_KEY_ID: wxpay: public key id "12345" does not start with PUB_KEY_ID_`},
		{"no key to verify with", nil, with("WXPAY_WECHATPAY_PUBLIC_KEY", "", "WXPAY_WECHATPAY_PUBLIC_KEY_ID", ""), credentials.All,
			"a key to verify with is required: --wechatpay-public-key (or WXPAY_WECHATPAY_PUBLIC_KEY) with --wechatpay-public-key-id (or WXPAY_WECHATPAY_PUBLIC_KEY_ID), or --platform-cert (or WXPAY_PLATFORM_CERTS)"},
		{"no APIv3 key", nil, with("WXPAY_APIV3_KEY_FILE", ""), credentials.All,
			"--apiv3-key-file (or WXPAY_APIV3_KEY_FILE) or --apiv3-key (or WXPAY_APIV3_KEY) is required"},
		{"APIv3 key twice", nil, with("WXPAY_APIV3_KEY", f.keys.APIv3Key), credentials.All,
			"WXPAY_APIV3_KEY and WXPAY_APIV3_KEY_FILE: give one"},
		{"APIv3 key too short", []string{"--apiv3-key", "0123456789"}, nil, credentials.APIv3Key,
			"--apiv3-key: wxpay: APIv3 key has 10 bytes, want 32"},
		{"APIv3 key file too short", nil, with("WXPAY_APIV3_KEY_FILE", shortKey), credentials.All,
			"WXPAY_APIV3_KEY_FILE: the file holds 10 bytes besides white space; an APIv3 key has 32"},
		{"APIv3 key file missing, its path not repeated", nil, with("WXPAY_APIV3_KEY_FILE", f.keys.APIv3Key), credentials.All,
			"WXPAY_APIV3_KEY_FILE: no such file or directory"},
		{"missing key file", []string{"--private-key", "/nonexistent/key.pem"}, f.env(), credentials.All,
			"--private-key /nonexistent/key.pem: no such file or directory"},
		{"key file over the limit", []string{"--private-key", big}, f.env(), credentials.All,
			"--private-key " + big + ": larger than 64 KiB, the limit"},
		{"endless key file", nil, with("WXPAY_PRIVATE_KEY", "/dev/zero"), credentials.All,
			"WXPAY_PRIVATE_KEY /dev/zero: larger than 64 KiB, the limit"},
		{"a file at the limit is read whole", []string{"--merchant-cert", atLimit}, f.env(), credentials.All,
			"--merchant-cert " + atLimit + ": wxpay: no PEM data found for the certificate"},
		{"APIv3 key file over the limit", nil, with("WXPAY_APIV3_KEY_FILE", big), credentials.All,
			"WXPAY_APIV3_KEY_FILE: larger than 64 KiB, the limit"},
		{"not PEM", []string{"--wechatpay-public-key", os.DevNull}, f.env(), credentials.All,
			"--wechatpay-public-key " + os.DevNull + ": wxpay: no PEM data found for the public key"},
		{"a private key where the certificate belongs", nil, with("WXPAY_MERCHANT_CERT", f.path(sandbox.FileMerchantKey)), credentials.All,
			"WXPAY_MERCHANT_CERT " + f.path(sandbox.FileMerchantKey) + `: wxpay: certificate: found PEM "PRIVATE KEY", want CERTIFICATE`},
		{"PEM text where its path belongs", nil, with("WXPAY_PRIVATE_KEY", string(keyPEM)), credentials.All,
			"WXPAY_PRIVATE_KEY holds PEM text; it takes the path of a PEM file"},
		{"certificate of another key", []string{"--merchant-cert", f.path(sandbox.FilePlatformCert)}, f.env(), credentials.All,
			"--merchant-cert " + f.path(sandbox.FilePlatformCert) + " is not the certificate of WXPAY_PRIVATE_KEY " + f.path(sandbox.FileMerchantKey)},
		{"serial disagrees with the certificate", []string{"--merchant-serial", "01", "--merchant-cert", f.path(sandbox.FileMerchantCert)}, f.env(), credentials.All,
			"--merchant-serial 01 disagrees with the serial " + f.keys.MerchantSerial + " of --merchant-cert " + f.path(sandbox.FileMerchantCert)},
		{"platform certificate missing", nil, with("WXPAY_PLATFORM_CERTS", f.path(sandbox.FilePlatformCert)+",/nonexistent.pem"), credentials.All,
			"WXPAY_PLATFORM_CERTS /nonexistent.pem: no such file or directory"},
		{"plain http elsewhere", []string{"--base-url", "http://example.com/"}, f.env(), credentials.All,
			`--base-url: wxpay: base URL "http://example.com/": plain http is allowed only for loopback addresses`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := sources(t, tc.args, tc.env, nil).Load(tc.need)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v\nwant    %s", err, tc.want)
			}
			for _, secret := range []string{f.keys.APIv3Key, string(keyPEM), "MII"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error quotes a secret: %v", err)
				}
			}
		})
	}
}

// A serial given with the certificate it belongs to is accepted in any case,
// and a part not needed and not given is not an error.
func TestLoadAcceptsWhatAgrees(t *testing.T) {
	t.Parallel()
	f := keys(t)
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		need credentials.Parts
	}{
		{"serial in lower case", []string{"--merchant-serial", strings.ToLower(f.keys.MerchantSerial),
			"--merchant-cert", f.path(sandbox.FileMerchantCert)}, f.env(), credentials.All},
		{"serial without certificate", []string{"--merchant-serial", f.keys.MerchantSerial}, map[string]string{
			"WXPAY_MCHID": f.keys.MchID, "WXPAY_PRIVATE_KEY": f.path(sandbox.FileMerchantKey),
			"WXPAY_MERCHANT_CERT": "/nonexistent.pem"}, credentials.Merchant},
		{"platform certificates only", []string{"--platform-cert", f.path(sandbox.FilePlatformCert)}, nil, credentials.Verifier},
		{"nothing, nothing needed", nil, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := sources(t, tc.args, tc.env, nil).Load(tc.need); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAnAPIv3KeyGivenAsAFlagIsAcceptedWithAWarning(t *testing.T) {
	t.Parallel()
	f := keys(t)
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		warn bool
	}{
		{"flag", []string{"--apiv3-key", f.keys.APIv3Key}, nil, true},
		{"variable", nil, map[string]string{"WXPAY_APIV3_KEY": f.keys.APIv3Key}, false},
		{"file flag", []string{"--apiv3-key-file", f.path(sandbox.FileAPIv3Key)}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			creds, err := sources(t, tc.args, tc.env, nil).Load(credentials.APIv3Key)
			if err != nil {
				t.Fatal(err)
			}
			if creds.APIv3Key != f.keys.APIv3Key {
				t.Error("wrong APIv3 key")
			}
			if got := len(creds.Warnings) == 1; got != tc.warn {
				t.Fatalf("warnings %q, want one: %v", creds.Warnings, tc.warn)
			}
			if tc.warn && (!strings.HasPrefix(creds.Warnings[0], "--apiv3-key: ") || strings.Contains(creds.Warnings[0], f.keys.APIv3Key)) {
				t.Errorf("warning %q: want it to name --apiv3-key and not quote the key", creds.Warnings[0])
			}
		})
	}
}

func TestGivenIgnoresTheBaseURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--base-url", "https://api2.mch.weixin.qq.com/"}, false},
		{[]string{"--mchid", "1"}, true},
		{[]string{"--platform-cert", "a.pem"}, true},
	} {
		if got := sources(t, tc.args, nil, nil).Given(); got != tc.want {
			t.Errorf("%q: Given() = %v, want %v", tc.args, got, tc.want)
		}
	}
}

// The help is made from the registrations: each registered flag has its
// line, with its variable, and nothing else has one.
func TestUsageHasALineForEachRegisteredFlag(t *testing.T) {
	t.Parallel()
	for _, parts := range []credentials.Parts{credentials.Merchant, credentials.Verifier | credentials.APIv3Key, credentials.All} {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		credentials.Register(fs, parts)
		usage := credentials.Usage(parts)
		var registered int
		fs.VisitAll(func(fl *flag.Flag) {
			registered++
			env := strings.Fields(fl.Usage)[0] // "[WXPAY_MCHID]"
			if !strings.Contains(usage, "\n  --"+fl.Name+" ") && !strings.HasPrefix(usage, "  --"+fl.Name+" ") || !strings.Contains(usage, env) {
				t.Errorf("usage lacks --%s %s:\n%s", fl.Name, env, usage)
			}
		})
		if lines := strings.Count(usage, "\n"); lines != registered {
			t.Errorf("usage has %d lines for %d flags:\n%s", lines, registered, usage)
		}
	}
}

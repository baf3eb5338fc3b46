package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit"
)

// printed waits until b, what run prints or logs, matches re and returns
// the submatches; after a minute, which only bounds a hang, the test fails
// and shows b and other.
func printed(t *testing.T, b, other *testkit.Buffer, re *regexp.Regexp) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := b.Match(ctx, re)
	if err != nil {
		t.Fatalf("%v; printed:\n%s\nand:\n%s", err, b.String(), other.String())
	}
	return m
}

// freeAddr returns a loopback address nothing listens on, for the service
// to take.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncedLine is the outbox's log line for a sync WeChat Pay accepted,
// written once the attempt is recorded.
var syncedLine = regexp.MustCompile(`msg="outbox: synced"`)

func TestWithoutCredentialsTheSandboxModeMakesAPaymentFromThePrintedCurlLine(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var out, logs testkit.Buffer
	done := make(chan int)
	env := map[string]string{}
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--sandbox-listen", "127.0.0.1:0"},
			func(k string) string { return env[k] }, nil, &out, &logs)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit code %d; log:\n%s", code, logs.String())
		}
	}()
	adminRE := regexp.MustCompile(`admin API at (http://[^ ]+)/api/`)
	admin := printed(t, &out, &logs, adminRE)[1]
	text := out.String()
	first := strings.SplitN(text, "\n", 2)[0]
	if !strings.Contains(first, "embedded sandbox") {
		t.Errorf("first line %q does not say the sandbox is in use", first)
	}
	if !strings.Contains(text, "./mallpoints.db is not touched") {
		t.Errorf("output does not say the default database is left alone:\n%s", text)
	}
	if _, err := os.Stat("mallpoints.db"); err == nil {
		t.Error("a database was made in the working folder")
	}

	// Run the printed curl line's request.
	curl := regexp.MustCompile(`curl -s -H 'Content-Type: application/json' -d '([^']+)' (http://\S+/sandbox/transactions)`).FindStringSubmatch(text)
	if curl == nil {
		t.Fatalf("no payment curl line in:\n%s", text)
	}
	resp, err := http.Post(curl[2], "application/json", strings.NewReader(curl[1]))
	if err != nil {
		t.Fatal(err)
	}
	var paid struct {
		TransactionID string `json:"transaction_id"`
	}
	json.NewDecoder(resp.Body).Decode(&paid)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || paid.TransactionID == "" {
		t.Fatalf("payment: %s", resp.Status)
	}
	printed(t, &logs, &out, syncedLine)
	resp, err = http.Get(admin + "/api/transactions/1900000109/" + paid.TransactionID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Transaction struct {
			Points int64
			Sync   struct{ State string }
		}
	}
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &got)
	if got.Transaction.Sync.State != "synced" || got.Transaction.Points != 123 {
		t.Errorf("the payment after its sync was logged: %s; want synced with 123 points", raw)
	}
}

func TestFlagsAreCheckedBeforeAnythingStarts(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"admin listener off loopback needs a token", []string{"--admin-listen", "0.0.0.0:8081"}, nil, "--admin-token"},
		{"the environment counts too", nil, map[string]string{"MALLPOINTS_ADMIN_LISTEN": "10.1.2.3:8081"}, "--admin-token"},
		{"TLS needs both files", []string{"--tls-cert", "c.pem"}, nil, "--tls-cert and --tls-key"},
		{"an unknown flag", []string{"--nope"}, nil, "nope"},
		{"a stray argument", []string{"serve"}, nil, `unexpected argument "serve"`},
		{"a bad log format", []string{"--log-format", "xml"}, nil, "--log-format"},
		{"credentials need a private key", []string{"--mchid", "1900000109", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, nil, "--private-key (or WXPAY_PRIVATE_KEY) is required"},
		{"a connection limit is positive", []string{"--max-connections", "0"}, nil, "--max-connections must be at least 1"},
		{"so is the admin listener's", nil, map[string]string{"MALLPOINTS_ADMIN_MAX_CONNECTIONS": "many"}, "MALLPOINTS_ADMIN_MAX_CONNECTIONS"},
		{"an admin URL is an http or https URL", []string{"--admin-url", "points.mall.example", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--sandbox-listen", "127.0.0.1:0"}, nil, "--admin-url"},
		{"so is each of the environment's", []string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--sandbox-listen", "127.0.0.1:0"}, map[string]string{"MALLPOINTS_ADMIN_URL": "https://points.mall.example, ftp://x"}, "--admin-url"},
		{"an expiry batch holds a member at least", []string{"--expiry-batch", "0"}, nil, "--expiry-batch must be at least 1"},
		{"an expiry pause is a duration", nil, map[string]string{"MALLPOINTS_EXPIRY_PAUSE": "soon"}, "MALLPOINTS_EXPIRY_PAUSE"},
		{"and not a negative one", []string{"--expiry-pause", "-1s"}, nil, "--expiry-pause must not be negative"},
		{"a merchants file or the one merchant's credentials", []string{"--merchants", "merchants.yaml", "--mchid", "1900000109"}, nil, "--merchants lists the merchants"},
		{"a merchants file that cannot be used names its line", []string{"--merchants", os.DevNull, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, nil, os.DevNull + ": the file lists no merchants"},
		{"the sandbox mode keeps its own database", []string{"--db", "x.db", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, nil, "--db needs WeChat Pay credentials"},
		{"the proxy's secret is read from its file", []string{"--admin-proxy-secret-file", "no-such-file"}, nil, "--admin-proxy-secret-file"},
		{"a trusted proxy is an address or a block", []string{"--admin-trusted-proxies", "10.0.0.0/8,proxy.internal", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--sandbox-listen", "127.0.0.1:0"}, nil, "--admin-trusted-proxies"},
		{"a retention under WeChat Pay's redeliveries", []string{"--retention", "1d"}, nil, "--retention 1d is under 2 days"},
		{"a retention in days or a duration", nil, map[string]string{"MALLPOINTS_RETENTION": "3 months"}, `--retention "3 months"`},
		{"single sign-on needs the proxy's secret", []string{"--admin-trusted-proxies", "10.0.0.1", "--admin-proxy-user-header", "X-Forwarded-User", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--sandbox-listen", "127.0.0.1:0"}, nil, "--admin-proxy-secret-file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var out, errs testkit.Buffer
			code := run(context.Background(), c.args, func(k string) string { return c.env[k] }, nil, &out, &errs)
			if code == 0 || !strings.Contains(errs.String(), c.want) {
				t.Errorf("exit %d, stderr %q; want a failure naming %q", code, errs.String(), c.want)
			}
		})
	}
}

// The expiry flags set the expiry runs' rate; 0s is no pause, which
// ledger.ExpiryConfig says with a negative one.
func TestExpiryFlagsSetTheRunsBatchAndPause(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want ledger.ExpiryConfig
	}{
		{"the defaults", nil, nil, ledger.ExpiryConfig{Batch: ledger.ExpiryBatch, Pause: ledger.ExpiryPause}},
		{"flags", []string{"--expiry-batch", "50", "--expiry-pause", "250ms"}, nil, ledger.ExpiryConfig{Batch: 50, Pause: 250 * time.Millisecond}},
		{"the environment", nil, map[string]string{"MALLPOINTS_EXPIRY_BATCH": "20", "MALLPOINTS_EXPIRY_PAUSE": "1s"}, ledger.ExpiryConfig{Batch: 20, Pause: time.Second}},
		{"no pause", []string{"--expiry-pause", "0s"}, nil, ledger.ExpiryConfig{Batch: ledger.ExpiryBatch, Pause: -1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseFlags(c.args, func(k string) string { return c.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.expiry(); got != c.want {
				t.Errorf("expiry config %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestTrustedProxiesAreOneListInAFlagOrTheEnvironment(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--admin-trusted-proxies", "10.0.0.0/8, fd00::/8", "--admin-trusted-proxies", "192.0.2.10"}, nil},
		{nil, map[string]string{"MALLPOINTS_ADMIN_TRUSTED_PROXIES": "10.0.0.0/8,fd00::/8 ,192.0.2.10"}},
	} {
		c2, err := parseFlags(c.args, func(k string) string { return c.env[k] }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(c2.trustedProxies, " "); got != "10.0.0.0/8 fd00::/8 192.0.2.10" {
			t.Errorf("%v %v: trusted proxies %q", c.args, c.env, got)
		}
	}
}

func TestRetentionIsDaysOrADurationNinetyDaysByDefault(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		env  map[string]string
		want time.Duration
	}{
		{nil, nil, 90 * 24 * time.Hour},
		{[]string{"--retention", "30d"}, nil, 30 * 24 * time.Hour},
		{[]string{"--retention", "48h"}, nil, 48 * time.Hour},
		{nil, map[string]string{"MALLPOINTS_RETENTION": "400d"}, 400 * 24 * time.Hour},
	} {
		got, err := parseFlags(c.args, func(k string) string { return c.env[k] }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if got.retention != c.want {
			t.Errorf("%v %v: retention %v, want %v", c.args, c.env, got.retention, c.want)
		}
	}
}

// TestTheHelpNamesEveryFlagAndOnlyRegisteredOnes: the help is made from the
// tables that register the flags, so it cannot drift from them.
func TestTheHelpNamesEveryFlagAndOnlyRegisteredOnes(t *testing.T) {
	t.Parallel()
	var out, errs testkit.Buffer
	if code := run(context.Background(), []string{"--help"}, func(string) string { return "" }, nil, &out, &errs); code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	help := errs.String()
	inHelp := map[string]bool{}
	for _, m := range regexp.MustCompile(`--([a-z0-9-]+)`).FindAllStringSubmatch(help, -1) {
		inHelp[m[1]] = true
	}
	fs, _, _ := (&config{}).flagSet()
	registered := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		registered[f.Name] = true
		if !inHelp[f.Name] {
			t.Errorf("--%s is registered but not in the help", f.Name)
		}
	})
	for name := range inHelp {
		if !registered[name] {
			t.Errorf("the help names --%s, which is not registered", name)
		}
	}
	// Each variable of a flag is named beside it.
	for _, env := range []string{"MALLPOINTS_LISTEN", "MALLPOINTS_MERCHANTS", "MALLPOINTS_ADMIN_MAX_CONNECTIONS", "WXPAY_MCHID", "WXPAY_APIV3_KEY_FILE"} {
		if !strings.Contains(help, "["+env) {
			t.Errorf("the help does not name %s", env)
		}
	}
}

package main

import (
	"cmp"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/testkit"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

const goodToken = "0123456789abcdef0123456789abcdef" // 32 characters

func TestAnAdminTokenShorterThan32CharactersIsRefusedWithHowToMakeOne(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("s3cret\n"), 0o600)
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"as a flag", []string{"--admin-token", "s3cret"}, nil},
		{"in the environment", nil, map[string]string{"MALLPOINTS_ADMIN_TOKEN": "s3cret"}},
		{"in a file", nil, map[string]string{"MALLPOINTS_ADMIN_TOKEN_FILE": short}},
		{"one short", []string{"--admin-token", goodToken[1:]}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// Should the token be taken, the service starts: stop it so that
			// the test fails instead of waiting.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			args := append([]string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--sandbox-listen", "127.0.0.1:0"}, c.args...)
			var out, errs testkit.Buffer
			code := run(ctx, args, func(k string) string { return c.env[k] }, nil, &out, &errs)
			if code == 0 || !strings.Contains(errs.String(), "at least 32") || !strings.Contains(errs.String(), "openssl rand -hex 32") {
				t.Errorf("exit %d, stderr %q; want a refusal saying how to make a token", code, errs.String())
			}
			if strings.Contains(errs.String(), "s3cret") {
				t.Errorf("the refusal shows the token: %q", errs.String())
			}
		})
	}
}

func TestSecretsAreReadFromTheFilesTheEnvironmentNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	token, key := write("token", goodToken+"\n"), write("apiv3", "0123456789abcdefghijklmnopqrstuv\r\n")
	// The APIv3 key is read with the other credentials.
	creds := credentialEnv(t)
	with := func(env map[string]string) func(string) string {
		return func(k string) string { return cmp.Or(env[k], creds[k]) }
	}
	c, err := parseFlags(nil, with(map[string]string{"MALLPOINTS_ADMIN_TOKEN_FILE": token, "WXPAY_APIV3_KEY_FILE": key}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.adminToken != goodToken || c.creds.APIv3Key != "0123456789abcdefghijklmnopqrstuv" {
		t.Errorf("read %q and %q: the trailing newline must go, nothing else", c.adminToken, c.creds.APIv3Key)
	}
	if len(c.warnings) != 0 {
		t.Errorf("warnings for secrets from files: %q", c.warnings)
	}
	for _, bad := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"a missing file", map[string]string{"MALLPOINTS_ADMIN_TOKEN_FILE": filepath.Join(dir, "nope")}, "MALLPOINTS_ADMIN_TOKEN_FILE"},
		{"an empty file", map[string]string{"WXPAY_APIV3_KEY_FILE": write("empty", "\n")}, "WXPAY_APIV3_KEY_FILE"},
		{"a file far larger than a secret", map[string]string{"WXPAY_APIV3_KEY_FILE": write("big", strings.Repeat("k", 1<<20))}, "WXPAY_APIV3_KEY_FILE"},
		{"both the variable and its file", map[string]string{"MALLPOINTS_ADMIN_TOKEN": goodToken, "MALLPOINTS_ADMIN_TOKEN_FILE": token}, "MALLPOINTS_ADMIN_TOKEN_FILE"},
	} {
		_, err := parseFlags(nil, with(bad.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: error %v, want one naming %s", bad.name, err, bad.want)
		}
		if err != nil && strings.Contains(err.Error(), goodToken) {
			t.Errorf("%s: the error shows the secret: %v", bad.name, err)
		}
	}
}

// credentialEnv is the environment naming a fresh merchant's credentials,
// the APIv3 key aside.
func credentialEnv(t *testing.T) map[string]string {
	t.Helper()
	keys, err := sandbox.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := keys.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"WXPAY_MCHID": keys.MchID, "WXPAY_PRIVATE_KEY": filepath.Join(dir, sandbox.FileMerchantKey),
		"WXPAY_MERCHANT_CERT":        filepath.Join(dir, sandbox.FileMerchantCert),
		"WXPAY_WECHATPAY_PUBLIC_KEY": filepath.Join(dir, sandbox.FilePublicKey), "WXPAY_WECHATPAY_PUBLIC_KEY_ID": keys.PublicKeyID,
	}
}

func TestASecretGivenAsAFlagWorksButWarnsThatItIsVisibleInProc(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var out, logs testkit.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--sandbox-listen", "127.0.0.1:0",
			"--admin-token", goodToken}, func(string) string { return "" }, nil, &out, &logs)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit code %d; log:\n%s", code, logs.String())
		}
	}()
	admin := printed(t, &out, &logs, regexp.MustCompile(`admin API at (http://[^ ]+)/api/`))[1]
	if l := logs.String(); !strings.Contains(l, "--admin-token") || !strings.Contains(l, "/cmdline") || !strings.Contains(l, "MALLPOINTS_ADMIN_TOKEN_FILE") {
		t.Errorf("no warning that the flag's value is visible in /proc; log:\n%s", l)
	}
	if strings.Contains(logs.String()+out.String(), goodToken) {
		t.Error("the token is in the output")
	}
	req, _ := http.NewRequest(http.MethodGet, admin+"/api/members", nil)
	req.Header.Set("Authorization", "Bearer "+goodToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the token given as a flag: status %d, want 200", resp.StatusCode)
	}
}

func TestAnAPIv3KeyGivenAsAFlagWorksButWarnsNamingTheFileVariable(t *testing.T) {
	t.Parallel()
	creds := credentialEnv(t)
	c, err := parseFlags([]string{"--apiv3-key", "0123456789abcdefghijklmnopqrstuv"}, func(k string) string { return creds[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(c.warnings, "\n")
	if !strings.Contains(w, "--apiv3-key") || !strings.Contains(w, "/proc/PID/cmdline") || !strings.Contains(w, "WXPAY_APIV3_KEY_FILE") {
		t.Errorf("warnings %q; want one naming --apiv3-key, /proc and WXPAY_APIV3_KEY_FILE", w)
	}
	if strings.Contains(w, "0123456789abcdefghijklmnopqrstuv") {
		t.Error("the warning shows the key")
	}
}

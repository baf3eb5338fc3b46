package main

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/testkit"
)

// TestTheAdminListenerServesHTTPSWithSecureSessionCookies starts the
// service (sandbox mode) with --admin-tls-cert/--admin-tls-key: the console
// is served over https only, and a sign-in's cookie is Secure.
func TestTheAdminListenerServesHTTPSWithSecureSessionCookies(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := writeTLSPair(t, t.TempDir())
	const token = "an-admin-token-of-more-than-32-characters"
	ctx, cancel := context.WithCancel(context.Background())
	var out, logs testkit.Buffer
	done := make(chan int)
	env := map[string]string{"MALLPOINTS_ADMIN_TOKEN": token}
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--sandbox-listen", "127.0.0.1:0",
			"--admin-tls-cert", certFile, "--admin-tls-key", keyFile}, func(k string) string { return env[k] }, nil, &out, &logs)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d:\n%s", code, logs.String())
		}
	}()
	admin := printed(t, &out, &logs, regexp.MustCompile(`admin API at (https://[^ ]+)/api/`))[1]
	if !strings.Contains(out.String(), "dashboard at "+admin+"/") {
		t.Errorf("the dashboard is not named with https:\n%s", out.String())
	}
	if resp, err := http.Get("http://" + strings.TrimPrefix(admin, "https://") + "/signin"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain http on the admin listener: %s, want 400", resp.Status)
		}
	}
	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, _ := http.NewRequest(http.MethodPost, admin+"/signin", strings.NewReader(url.Values{"token": {token}, "next": {"/"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", admin)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var secure bool
	for _, c := range resp.Cookies() {
		secure = secure || (c.Name == "mallpointsd_session" && c.Secure && c.HttpOnly)
	}
	if resp.StatusCode != http.StatusSeeOther || !secure {
		t.Errorf("sign-in over https: %s, cookies %v; want 303 with a Secure, HttpOnly session cookie", resp.Status, resp.Cookies())
	}
}

package interop

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gopaywechat "github.com/go-pay/gopay/wechat/v3"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	wxutils "github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// TestWxpaySandboxCommand follows the README: start `wxpay sandbox` with no
// key flags (it makes keys, or reuses those in --keys-dir, and serves in
// migration mode: public key and platform certificate), then point each
// peer at it with nothing but the files in that folder, as the README's
// sections show, and sync points.
func TestWxpaySandboxCommand(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "wxpay")
	build := exec.Command("go", "build", "-o", bin, "github.com/seed2ac2593f/wxpay/cmd/wxpay")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/wxpay: %v\n%s", err, out)
	}
	// The keys of this test binary, in the folder layout `wxpay sandbox`
	// makes and reuses (it would otherwise spend a second making its own).
	keys := keyDir
	cmd := exec.Command(bin, "sandbox", "--listen", "127.0.0.1:0", "--keys-dir", keys)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	listening := regexp.MustCompile(`listening on (http://127\.0\.0\.1:[0-9]+)/`)
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	var base string
	select {
	case base = <-urlc:
	case <-time.After(10 * time.Second):
		t.Fatal("wxpay sandbox did not say where it listens")
	}

	file := func(name string) string { return filepath.Join(keys, name) }
	read := func(name string) string {
		b, err := os.ReadFile(file(name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	mchid, keyID, apiv3 := read(sandbox.FileMchID), read(sandbox.FilePublicKeyID), read(sandbox.FileAPIv3Key)
	// The admin API, as any test of any language would use it; an env per
	// (sub)test, so that failures are reported by the test that has them.
	admin := func(t *testing.T) *env { return &env{t: t, URL: base} }
	admin(t).admin(http.MethodPost, "/sandbox/authorizations", sandbox.MemberRequest{AppID: appID, OpenID: openID}, nil)
	syncOnce := func(t *testing.T, sync func(body map[string]any) outcome) {
		t.Helper()
		e := admin(t)
		p := e.pay(100)
		if o := sync(pointsBody(p.TransactionID)); !o.Accepted {
			t.Fatalf("points sync: %s: %s", o, o.Detail)
		}
		if got := e.points(p.TransactionID); got.SyncCount != 1 {
			t.Errorf("GET /sandbox/points/%s: %d syncs, want 1", p.TransactionID, got.SyncCount)
		}
	}

	t.Run("wechatpay-go", func(t *testing.T) {
		priv, err := wxutils.LoadPrivateKeyWithPath(file(sandbox.FileMerchantKey))
		if err != nil {
			t.Fatal(err)
		}
		cert, err := wxutils.LoadCertificateWithPath(file(sandbox.FileMerchantCert))
		if err != nil {
			t.Fatal(err)
		}
		pub, err := wxutils.LoadPublicKeyWithPath(file(sandbox.FilePublicKey))
		if err != nil {
			t.Fatal(err)
		}
		client, err := core.NewClient(context.Background(), option.WithWechatPayPublicKeyAuthCipher(
			mchid, wxutils.GetCertificateSerialNumber(*cert), priv, keyID, pub))
		if err != nil {
			t.Fatal(err)
		}
		w := &wechatpayGoClient{c: client, url: base}
		syncOnce(t, func(body map[string]any) outcome { return w.pointsSync(t, body, 0) })
	})

	t.Run("gopay", func(t *testing.T) {
		cert, err := wxutils.LoadCertificateWithPath(file(sandbox.FileMerchantCert))
		if err != nil {
			t.Fatal(err)
		}
		c, err := gopaywechat.NewClientV3(mchid, wxutils.GetCertificateSerialNumber(*cert), apiv3, read(sandbox.FileMerchantKey))
		if err != nil {
			t.Fatal(err)
		}
		c.SetLogger(quietLogger{})
		c.SetProxyHost(base)
		if err := c.AutoVerifySignByCert([]byte(read(sandbox.FilePublicKey)), keyID); err != nil {
			t.Fatal(err)
		}
		g := &gopayClient{c: c}
		syncOnce(t, func(body map[string]any) outcome { return g.pointsSync(t, body, 0) })
	})

	t.Run("wechatpay-axios-plugin", func(t *testing.T) {
		n := requireNode(t)
		serial := func(name string) string {
			var r struct{ Serial string }
			n.step(t, "cert-serial", map[string]any{"in": file(name)}, &r)
			return r.Serial
		}
		// The plugin sends no Wechatpay-Serial, so a sandbox holding both
		// kinds of key answers it as WeChat Pay does during a migration: with
		// the platform certificate. Given only the public key, it refuses that.
		f := map[string]any{
			"base-url":    base + "/",
			"mchid":       mchid,
			"serial":      serial(sandbox.FileMerchantCert),
			"private-key": file(sandbox.FileMerchantKey),
			"cert":        []string{keyID + "=" + file(sandbox.FilePublicKey)},
		}
		p := admin(t).pay(100)
		var r axiosResult
		n.step(t, "points", mergeFlags(f, map[string]any{"data": string(mustJSON(pointsBody(p.TransactionID)))}), &r)
		if o := r.outcome(); o.Accepted || o.Check != "serial" {
			t.Errorf("plugin with the public key only, against a sandbox in migration: %s %s; want rejected (serial)", o, o.Detail)
		}
		// With both keys in `certs`, as the README says, it works.
		f["cert"] = []string{
			keyID + "=" + file(sandbox.FilePublicKey),
			serial(sandbox.FilePlatformCert) + "=" + file(sandbox.FilePlatformCert),
		}
		syncOnce(t, func(body map[string]any) outcome {
			var r axiosResult
			n.step(t, "points", mergeFlags(f, map[string]any{"data": string(mustJSON(body))}), &r)
			return r.outcome()
		})
	})
}

func mergeFlags(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

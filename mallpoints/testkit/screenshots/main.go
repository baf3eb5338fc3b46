// Command screenshots makes the pictures of the dashboard in docs/: it
// builds wxpay and mallpointsd, starts mallpointsd on its embedded sandbox
// on loopback, makes a few payments and a refund there, waits until their
// points are synced, and has a headless Chromium take the overview in
// each language, a browser preferring that language would get:
// dashboard.png (English) and dashboard-zh.png (Simplified Chinese).
//
// From mallpoints/:
//
//	go run ./testkit/screenshots            # writes ../docs/dashboard.png and ../docs/dashboard-zh.png
//	go run ./testkit/screenshots -out /tmp  # somewhere else
//
// It needs Chromium (apt-get install chromium, or MALLPOINTS_CHROMIUM) and,
// for the Chinese page, fonts-noto-cjk. It is a program, not a test: it
// sends nothing anywhere but loopback, and it stops what it started.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/seed2ac2593f/wxpay/mallpoints/testkit"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/browsertest"
)

// shots are the pictures made: the file and the Accept-Language of the
// browser that takes it.
var shots = []struct{ file, accept string }{
	{"dashboard.png", "en-GB,en;q=0.9"},
	{"dashboard-zh.png", "zh-CN,zh;q=0.9,en;q=0.8"},
}

// payments are what the members buy: a morning at a mall.
var payments = []struct {
	member     int
	amount     int64 // fen
	shop, name string
}{
	{0, 12345, "F1-101", "星巴克"}, {1, 8800, "B1-012", "鲜果时光"}, {2, 56900, "F3-305", "优衣库"},
	{0, 3200, "B1-020", "喜茶"}, {3, 129900, "F2-210", "华为体验店"}, {1, 26800, "F4-402", "海底捞"},
}

func main() {
	out := flag.String("out", "../docs", "the folder the pictures are written to")
	root := flag.String("root", "..", "the SDK's module folder, which holds mallpoints/")
	flag.Parse()
	log.SetFlags(0)
	if err := run(*root, *out); err != nil {
		log.Fatal("screenshots: ", err)
	}
}

func run(root, out string) error {
	chromium := browsertest.Path()
	if chromium == "" {
		return errors.New("no Chromium on PATH: apt-get install -y chromium, or set MALLPOINTS_CHROMIUM")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tmp, err := os.MkdirTemp("", "mallpoints-screenshots-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	log.Print("building wxpay and mallpointsd")
	bins, err := testkit.Build(ctx, root, tmp)
	if err != nil {
		return err
	}
	svc, err := bins.StartService(ctx, testkit.ServiceOptions{})
	if err != nil {
		return err
	}
	defer svc.Stop(10 * time.Second)
	if svc.SandboxURL == "" {
		return errors.New("mallpointsd did not say where its embedded sandbox listens")
	}
	log.Printf("mallpointsd on %s, its sandbox on %s", svc.AdminURL, svc.SandboxURL)
	if err := makePayments(ctx, svc); err != nil {
		return err
	}
	for _, s := range shots {
		png, err := overview(ctx, chromium, svc.AdminURL, s.accept)
		if err != nil {
			return fmt.Errorf("%s: %w", s.file, err)
		}
		path := filepath.Join(out, s.file)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			return err
		}
		log.Printf("wrote %s (%d bytes)", path, len(png))
	}
	return nil
}

// makePayments has four members pay at the sandbox and one payment
// refunded in part, and waits until every sync is done.
func makePayments(ctx context.Context, svc *testkit.Service) error {
	const appid = "wxd678efh567hg6787"
	openids := []string{"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "oUpF8uN95-Ptaags6E-ZnbAwS6Rg", "oUpF8uJ9Kf1sYc0qZxw2hVn3bDpE", "oUpF8uQ7r0aWmLx4T9sEe1YvCkGh"}
	for _, o := range openids {
		if err := post(ctx, svc.SandboxURL+"/sandbox/authorizations", map[string]any{"appid": appid, "openid": o}, nil); err != nil {
			return err
		}
	}
	var txids []string
	for _, p := range payments {
		var ans struct {
			TransactionID string `json:"transaction_id"`
		}
		err := post(ctx, svc.SandboxURL+"/sandbox/transactions", map[string]any{"appid": appid, "openid": openids[p.member],
			"amount": p.amount, "shop_number": p.shop, "shop_name": p.name}, &ans)
		if err != nil {
			return err
		}
		txids = append(txids, ans.TransactionID)
	}
	if err := waitSynced(ctx, svc.AdminURL, len(payments)); err != nil {
		return err
	}
	if err := post(ctx, svc.SandboxURL+"/sandbox/refunds", map[string]any{"transaction_id": txids[2], "refund_amount": 19900}, nil); err != nil {
		return err
	}
	return waitFor(ctx, func() (bool, error) {
		var feed struct{ Entries []struct{ Kind string } }
		if err := get(ctx, svc.AdminURL+"/api/entries?limit=100", &feed); err != nil {
			return false, err
		}
		return len(feed.Entries) == len(payments)+1, nil
	})
}

// waitSynced waits until n syncs are synced.
func waitSynced(ctx context.Context, admin string, n int) error {
	return waitFor(ctx, func() (bool, error) {
		var l struct{ Syncs []struct{} }
		if err := get(ctx, admin+"/api/syncs?state=synced&limit=100", &l); err != nil {
			return false, err
		}
		return len(l.Syncs) >= n, nil
	})
}

func waitFor(ctx context.Context, done func() (bool, error)) error {
	for {
		ok, err := done()
		if ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// overview opens the overview in a fresh headless Chromium whose browser
// prefers accept, and returns a picture of the whole page.
func overview(ctx context.Context, chromium, admin, accept string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "mallpoints-chromium-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	actx, cancel := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(chromium), chromedp.UserDataDir(dir), chromedp.Headless,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.DisableGPU, chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("hide-scrollbars", true), chromedp.WindowSize(1280, 900))
	defer cancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		return nil, err
	}
	if _, err := chromedp.Call(bctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Accept-Language": accept}}); err != nil {
		return nil, err
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(admin+"/"), chromedp.WaitVisible(chromedp.CSS("#payments-today")),
		chromedp.Evaluate[chromedp.Void](`document.fonts.ready.then(() => true)`, chromedp.EvalAwaitPromise)); err != nil {
		return nil, err
	}
	return chromedp.Run(bctx, chromedp.FullScreenshot(100))
}

func post(ctx context.Context, url string, body, v any) error {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return do(req, v)
}

func get(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	return do(req, v)
}

func do(req *http.Request, v any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s %s", req.Method, req.URL.Path, resp.Status, raw)
	}
	if v != nil {
		return json.Unmarshal(raw, v)
	}
	return nil
}

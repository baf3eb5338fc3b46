// Package browsertest starts a real headless Chromium for the dashboard's
// tests, driven with chromedp. It is imported by tests only.
//
// Chromium is Debian's (apt-get install chromium), found on PATH as
// chromium or chromium-browser, or named by MALLPOINTS_CHROMIUM. Without it
// the tests skip, except with CI=true, where they fail: CI installs it.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Timeout bounds one test's whole use of the browser.
const Timeout = 2 * time.Minute

// Path finds the Chromium binary, or "" when there is none.
func Path() string {
	if p := os.Getenv("MALLPOINTS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts a headless Chromium with a fresh profile for t and returns a
// chromedp context for its first tab; the browser ends with the test.
func New(t *testing.T) context.Context {
	t.Helper()
	path := Path()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("Chromium is required with CI=true: apt-get install -y chromium (or set MALLPOINTS_CHROMIUM)")
		}
		t.Skip("no Chromium on PATH (apt-get install -y chromium, or set MALLPOINTS_CHROMIUM): browser tests skipped")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.NoSandbox, // the tests may run as root, where Chromium's sandbox cannot start
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	return bctx
}

// Screenshot writes a PNG of the whole page to the file MALLPOINTS_SCREENSHOT
// names, when it is set; the README's picture of the dashboard is made so.
func Screenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	out := os.Getenv("MALLPOINTS_SCREENSHOT")
	if out == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot written to %s", out)
}

// Download clicks the element sel, lets the browser download the file the
// click leads to, and returns the name the server suggested and the bytes.
func Download(t *testing.T, ctx context.Context, sel string) (name string, data []byte) {
	t.Helper()
	dir := t.TempDir()
	events := true
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events,
	}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	begin := chromedp.BrowserEvents(ctx, browser.DownloadWillBegin)
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
	for ev, err := range begin {
		if err != nil {
			t.Fatalf("download of %s: %v", sel, err)
		}
		name = ev.SuggestedFilename
		break
	}
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download of %s: %v", sel, err)
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			data, err := os.ReadFile(filepath.Join(dir, ev.GUID))
			if err != nil {
				t.Fatal(err)
			}
			return name, data
		case browser.DownloadProgressStateCanceled:
			t.Fatalf("the download of %s was cancelled", sel)
		}
	}
	t.Fatalf("the download of %s did not finish", sel)
	return "", nil
}

// Text returns the text of the first element sel selects, waiting for it.
func Text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// Present reports whether sel selects an element now, without waiting.
func Present(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(sel), chromedp.AtLeast(0)))
	if err != nil {
		t.Fatalf("query %s: %v", sel, err)
	}
	return len(nodes) > 0
}

// AcceptLanguage makes the browser send Accept-Language: langs from now on,
// as a browser set to those languages does.
func AcceptLanguage(t *testing.T, ctx context.Context, langs string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("network: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Accept-Language": langs}}); err != nil {
		t.Fatalf("Accept-Language: %v", err)
	}
}

// Fonts returns the platform fonts Chromium drew the text of the first
// element sel selects with, by family, with the glyphs each drew: the
// fonts really used, which document.fonts.check cannot tell for a font of
// the system (it answers true for a family no @font-face names).
func Fonts(t *testing.T, ctx context.Context, sel string) map[string]float64 {
	t.Helper()
	if _, err := chromedp.Call(ctx, dom.Enable, dom.EnableParams{}); err != nil {
		t.Fatalf("DOM: %v", err)
	}
	if _, err := chromedp.Call(ctx, css.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("CSS: %v", err)
	}
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(sel)))
	if err != nil || len(nodes) == 0 {
		t.Fatalf("%s: %v", sel, err)
	}
	res, err := chromedp.Call(ctx, css.GetPlatformFontsForNode, css.GetPlatformFontsForNodeParams{NodeID: nodes[0].NodeID})
	if err != nil {
		t.Fatalf("fonts of %s: %v", sel, err)
	}
	fonts := map[string]float64{}
	for _, f := range res.Fonts {
		fonts[f.FamilyName] += f.GlyphCount
	}
	return fonts
}

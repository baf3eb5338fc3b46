package server_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/browsertest"
)

// The Rules page's preview form, in a browser signed in with the token: it
// posts through the dashboard's session and cross-origin checks and shows
// what the payment would earn, step by step.
func TestBrowserRulesPagePreviewsAPayment(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{rules: consoleSet(t), token: "browser-token"})
	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.admin.URL+"/rules"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), "browser-token"),
		chromedp.Click(chromedp.CSS("#signin-token")),
		chromedp.WaitVisible(chromedp.CSS("#preview-form"))); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if got := browsertest.Text(t, ctx, `dd[data-key="categories"]`); got != "零售 (S1): ×2" {
		t.Errorf("the categories read %q", got)
	}
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#preview-openid"), "o-browser"),
		chromedp.SetValue(chromedp.CSS("#preview-shop"), "S1"),
		chromedp.SetValue(chromedp.CSS("#preview-amount"), "123.45"),
		chromedp.SetValue(chromedp.CSS("#preview-time"), "2026-05-20 12:00"),
		chromedp.SetValue(chromedp.CSS("#preview-tier"), "金卡"),
		chromedp.Click(chromedp.CSS("#preview")),
		chromedp.WaitVisible(chromedp.CSS("#preview-result"))); err != nil {
		t.Fatalf("preview: %v", err)
	}
	for sel, want := range map[string]string{"#preview-points": "369", "#preview-bonus": "10", "#preview-tier-used": "金卡",
		"#preview-earn": "true"} {
		if got := browsertest.Text(t, ctx, sel); got != want {
			t.Errorf("%s reads %q, want %q", sel, got, want)
		}
	}
	if steps := browsertest.Text(t, ctx, "#preview-steps"); !strings.Contains(steps, "Member tier") || !strings.Contains(steps, "×1.5") {
		t.Errorf("the preview's steps read %q", steps)
	}
	browsertest.Screenshot(t, ctx)
}

package server_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/browsertest"
)

// A person signs in with an account's name and password in Chromium: the
// console names them, a viewer's retry is refused with 403, and signing
// out ends the session.
func TestBrowserSignsInWithAnAccountAndTheConsoleKeepsToItsRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{})
	const password = "a password of some length"
	if err := e.srv.Accounts().Add(context.Background(), "li.na", accounts.Viewer, nil, password); err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.admin.URL+"/members"),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "li.na"),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#who"))); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if got := browsertest.Text(t, ctx, "#who"); got != "li.na" {
		t.Errorf("the console names %q, want li.na", got)
	}
	if url, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasSuffix(url, "/members") {
		t.Errorf("after signing in the browser is at %q (%v), want the page it asked for", url, err)
	}
	// A viewer may not retry: a retry form sent from the console is refused.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`const f = document.createElement("form");
		f.method = "post"; f.action = "/parked/1/retry"; document.body.appendChild(f); f.submit();`),
		chromedp.WaitVisible(chromedp.CSS("#error"))); err != nil {
		t.Fatalf("a viewer's retry: %v", err)
	}
	if got := browsertest.Text(t, ctx, "#error"); !strings.Contains(got, `li.na may not do this: it needs the "retry" permission`) {
		t.Errorf("a viewer's retry shows %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("form.signout button")), chromedp.WaitVisible(chromedp.CSS("#name"))); err != nil {
		t.Fatalf("sign out: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(e.admin.URL+"/members"), chromedp.WaitVisible(chromedp.CSS("#name"))); err != nil {
		t.Errorf("after signing out a page does not ask to sign in: %v", err)
	}
}

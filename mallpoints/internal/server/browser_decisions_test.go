package server_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/browsertest"
)

// A payment parked because its mall's CRM fails, decided by the rules file
// from the Decisions page in a browser signed in with the token: the
// warning is shown before the button, the notice names the actor, and the
// transaction page shows the points with who decided them.
func TestBrowserDecisionsPageDecidesAParkedPaymentByTheRulesFile(t *testing.T) {
	t.Parallel()
	e, _, ids := parkedPayments(t, filepath.Join(t.TempDir(), "mallpoints.db"), "browser-token", 1)
	txid := ids[0]
	suffix := "payment-" + e.mchID + "-" + txid
	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.admin.URL+"/decisions"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), "browser-token"),
		chromedp.Click(chromedp.CSS("#signin-token")),
		chromedp.WaitVisible(chromedp.CSS("#rules-"+suffix))); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if row := browsertest.Text(t, ctx, `tr[data-decision="payment:`+e.mchID+`:`+txid+`"]`); !strings.Contains(row, "Parked") ||
		!strings.Contains(row, "¥123.45") || !strings.Contains(row, "boom") {
		t.Errorf("the parked row reads %q", row)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#rules-"+suffix)),
		chromedp.WaitVisible(chromedp.CSS("#confirm-rules-"+suffix))); err != nil {
		t.Fatalf("open the rules file's button: %v", err)
	}
	if w := browsertest.Text(t, ctx, `tr[data-decision="payment:`+e.mchID+`:`+txid+`"] .warning`); !strings.Contains(w, "may have credited the member already") {
		t.Errorf("the warning reads %q", w)
	}
	browsertest.Screenshot(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#confirm-rules-"+suffix)),
		chromedp.WaitVisible(chromedp.CSS("#notice"))); err != nil {
		t.Fatalf("decide by the rules file: %v", err)
	}
	if n := browsertest.Text(t, ctx, "#notice"); n != "Payment "+txid+" is decided by the rules file, recorded as asked by token." {
		t.Errorf("notice %q", n)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#none-waiting"))); err != nil {
		t.Errorf("the decisions page still lists the payment: %v", err)
	}
	e.synced(e.mchID, txid)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.admin.URL+"/transactions/"+e.mchID+"/"+txid),
		chromedp.WaitVisible(chromedp.CSS("#decision"))); err != nil {
		t.Fatal(err)
	}
	if p := browsertest.Text(t, ctx, "#points"); p != "123" {
		t.Errorf("the transaction page shows points %q, want 123", p)
	}
	if d := browsertest.Text(t, ctx, "#decision"); !strings.Contains(d, "Decided by the rules file after the CRM could not") ||
		!strings.Contains(d, "asked by token") {
		t.Errorf("who decided reads %q", d)
	}
	if s := browsertest.Text(t, ctx, "#sync-state"); s != "synced" {
		t.Errorf("the sync reads %q", s)
	}
}

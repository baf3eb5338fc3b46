package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/seed2ac2593f/wxpay/mallpoints/testkit"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/browsertest"
)

// TestBrowserASimulatedPaymentAppearsAsSynced is the newcomer's loop in a
// real browser: mallpointsd without credentials, a payment and a refund
// made with the dashboard's simulate forms, the payment shown as synced.
func TestBrowserASimulatedPaymentAppearsAsSynced(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var out, logs testkit.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--sandbox-listen", "127.0.0.1:0"},
			func(string) string { return "" }, nil, &out, &logs)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit code %d; log:\n%s", code, logs.String())
		}
	}()
	dashboard := printed(t, &out, &logs, regexp.MustCompile(`dashboard at (http://\S+)/,`))[1]

	b := browsertest.New(t)
	if err := chromedp.Do(b, chromedp.Navigate(dashboard+"/"),
		chromedp.WaitVisible(chromedp.CSS("#simulate-payment")),
		chromedp.SetValue(chromedp.CSS("#pay-amount"), "456.00"),
		chromedp.Click(chromedp.CSS("#pay")),
		chromedp.WaitVisible(chromedp.CSS("#notice"))); err != nil {
		t.Fatalf("simulate a payment: %v\nlog:\n%s", err, logs.String())
	}
	notice := browsertest.Text(t, b, "#notice")
	txid := regexp.MustCompile(`payment (\d+)`).FindStringSubmatch(notice)
	if txid == nil {
		t.Fatalf("notice %q names no payment", notice)
	}
	synced := `tr[data-transaction="` + txid[1] + `"] .state.synced`
	printed(t, &logs, &out, syncedLine)
	if err := chromedp.Do(b, chromedp.Navigate(dashboard+"/"), chromedp.WaitVisible(chromedp.CSS("#payments-today"))); err != nil {
		t.Fatal(err)
	}
	if !browsertest.Present(t, b, synced) {
		t.Fatalf("payment %s not shown as synced after its sync was logged; log:\n%s", txid[1], logs.String())
	}
	if got := browsertest.Text(t, b, `tr[data-transaction="`+txid[1]+`"] td.num:nth-of-type(5)`); got != "456" {
		t.Errorf("points shown %q, want 456", got)
	}

	// The transaction page shows the sync attempt with WeChat Pay's Request-ID.
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`a[href$="/`+txid[1]+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#attempts"))); err != nil {
		t.Fatal(err)
	}
	if s := browsertest.Text(t, b, "#sync-state"); s != "synced" {
		t.Errorf("transaction page: sync %q", s)
	}
	if row := browsertest.Text(t, b, "#attempts tbody tr"); !strings.Contains(row, "ok") || !strings.Contains(row, "204") {
		t.Errorf("attempt row %q, want ok with 204", row)
	}

	// A refund of 100 of the 456 yuan deducts floor(456 × 100 ÷ 456) = 100 points.
	if err := chromedp.Do(b, chromedp.Navigate(dashboard+"/"),
		chromedp.SetValue(chromedp.CSS("#refund-transaction"), txid[1]),
		chromedp.SetValue(chromedp.CSS("#refund-amount"), "100"),
		chromedp.Click(chromedp.CSS("#refund")),
		chromedp.WaitVisible(chromedp.CSS("#notice"))); err != nil {
		t.Fatal(err)
	}
	if n := browsertest.Text(t, b, "#notice"); !strings.Contains(n, "made refund") {
		t.Fatalf("refund notice %q", n)
	}
	printed(t, &logs, &out, regexp.MustCompile(`msg="ledger: refund" .*deducted=100 `))
	if err := chromedp.Do(b, chromedp.Navigate(dashboard+"/"), chromedp.WaitVisible(chromedp.CSS("#payments-today"))); err != nil {
		t.Fatal(err)
	}
	if got := browsertest.Text(t, b, "#points-deducted"); got != "100" {
		t.Errorf("points deducted shown %q after the refund was logged, want 100", got)
	}
	browsertest.Screenshot(t, b)
}

package server_test

import (
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/browsertest"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// The browser tests run on SQLite only: the pages are the same on both
// engines, which the handler tests cover.

func TestBrowserOverviewShowsTheNumbersTheAPIReportsAndTheCSVDownloads(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{token: "browser-token"})
	alice, bob := e.member(e.mchID), e.member(e.mchID)
	var paid []string
	for _, p := range []struct {
		openid string
		amount int64
	}{{alice, 12345}, {bob, 8800}, {alice, 30000}} {
		txid := e.pay(e.mchID, p.openid, p.amount, "")
		e.synced(e.mchID, txid)
		paid = append(paid, txid)
	}
	if _, err := e.sb.Refund(sandbox.RefundRequest{TransactionID: paid[2], RefundAmount: 10000}); err != nil {
		t.Fatal(err)
	}
	e.eventually("the refund to be deducted", func() bool {
		var tr transaction
		return e.get("/api/transactions/"+e.mchID+"/"+paid[2], &tr) == http.StatusOK && tr.Transaction.PointsDeducted == 100
	})

	// What the API reports.
	var txs struct {
		Transactions []struct {
			Points int64 `json:"points"`
		} `json:"transactions"`
	}
	e.get("/api/transactions?limit=500", &txs)
	var feed struct {
		Entries []struct {
			Points int64 `json:"points"`
		} `json:"entries"`
	}
	e.get("/api/entries?limit=500", &feed)
	var issued, deducted int64
	for _, en := range feed.Entries {
		if en.Points > 0 {
			issued += en.Points
		} else {
			deducted -= en.Points
		}
	}
	count := func(state string) string {
		var l struct{ Syncs []struct{} }
		e.get("/api/syncs?limit=500&state="+state, &l)
		return strconv.Itoa(len(l.Syncs))
	}
	want := map[string]string{
		"#payments-today":  strconv.Itoa(len(txs.Transactions)),
		"#points-issued":   strconv.FormatInt(issued, 10),
		"#points-deducted": strconv.FormatInt(deducted, 10),
		"#syncs-pending":   count("pending"),
		"#syncs-synced":    count("synced"),
		"#syncs-parked":    count("parked"),
	}
	if want["#payments-today"] != "3" || want["#points-issued"] != "511" || want["#points-deducted"] != "100" {
		t.Fatalf("the API reports %v; want 3 payments, 511 points issued, 100 deducted", want)
	}

	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.admin.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), "browser-token"),
		chromedp.Click(chromedp.CSS("#signin-token")),
		chromedp.WaitVisible(chromedp.CSS("#payments-today"))); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	for sel, w := range want {
		if got := browsertest.Text(t, ctx, sel); got != w {
			t.Errorf("overview %s shows %q; the API reports %s", sel, got, w)
		}
	}
	if n, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("svg.chart rect.bar"))); err != nil || len(n) != 24 {
		t.Errorf("the chart has %d bars (%v), want 24 hours", len(n), err)
	}
	browsertest.Screenshot(t, ctx)

	if err := chromedp.Do(ctx, chromedp.Navigate(e.admin.URL+"/export"), chromedp.WaitVisible(chromedp.CSS("#download"))); err != nil {
		t.Fatal(err)
	}
	name, data := browsertest.Download(t, ctx, "#download")
	if name != "ledger-"+today()+".csv" {
		t.Errorf("the download is named %q", name)
	}
	csv, bom := strings.CutPrefix(string(data), "\ufeff")
	if !bom {
		t.Error("the CSV has no UTF-8 byte-order mark: Excel on Chinese Windows would read it in the local code page")
	}
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) != len(feed.Entries)+1 || !strings.HasPrefix(lines[0], "seq,created_at,mall,mall_name,shop_number,shop_name,openid,kind,amount_yuan,") {
		t.Errorf("the CSV has %d lines for %d entries:\n%s", len(lines), len(feed.Entries), data)
	}
	for _, txid := range paid {
		if !strings.Contains(string(data), ","+txid+",") {
			t.Errorf("the CSV lacks transaction %s", txid)
		}
	}
}

func TestBrowserRetryButtonOfAParkedSyncWorks(t *testing.T) {
	t.Parallel()
	rulesPath, writeRules := brandRules(t, 999) // not the mall's brand: the sandbox refuses the parking sync with 403 NO_AUTH
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{rulesPath: rulesPath, brands: map[int64][]string{1001: {appID}}})
	openid := e.member(e.mchID)
	if st := e.do(http.MethodPost, "/api/parkings", map[string]any{"openid": openid, "plate_number": "粤B12345",
		"state": "IN", "time": time.Now().Format(time.RFC3339)}, nil, nil); st != http.StatusAccepted {
		t.Fatalf("POST /api/parkings: status %d", st)
	}
	e.eventually("the sync to park", func() bool {
		var l struct{ Syncs []struct{} }
		return e.get("/api/parked", &l) == http.StatusOK && len(l.Syncs) == 1
	})
	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.admin.URL+"/parked"), chromedp.WaitVisible(chromedp.CSS("#retry-1"))); err != nil {
		t.Fatal(err)
	}
	if row := browsertest.Text(t, ctx, `tr[data-sync="1"]`); !strings.Contains(row, "NO_AUTH") {
		t.Errorf("the parked row %q does not show WeChat Pay's code", row)
	}
	writeRules(1001)
	if _, err := e.srv.ReloadRules(); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#retry-1")), chromedp.WaitVisible(chromedp.CSS("#notice"))); err != nil {
		t.Fatal(err)
	}
	if n := browsertest.Text(t, ctx, "#notice"); !strings.Contains(n, "queued again") {
		t.Errorf("notice after retry: %q", n)
	}
	e.eventually("the retried sync to land", func() bool {
		var s struct{ Sync struct{ State string } }
		return e.get("/api/syncs/1", &s) == http.StatusOK && s.Sync.State == "synced"
	})
	if err := chromedp.Do(ctx, chromedp.Navigate(e.admin.URL+"/parked"), chromedp.WaitVisible(chromedp.CSS("#none-parked"))); err != nil {
		t.Errorf("the parked page after the retry: %v", err)
	}
}

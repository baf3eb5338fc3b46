package server_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/browsertest"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// untranslated lists the runs of Latin letters a page shows outside what
// is marked as no text of the page's language: elements with
// translate="no" (ids, codes, openids, names as written), code and pre,
// and elements in another language (lang="en", the switch to English).
// The words allowed are codes and names both languages write alike; the
// titles of the Rules page's keys and the Audit page's actions are codes
// too.
const untranslated = `(() => {
  const allowed = new Set(["mallpointsd", "openid", "appid", "AppID", "mchid", "total_points", "earn_points",
    "fen_per_point", "Request-ID", "id", "API", "CSV", "BOM", "UTF", "UTC", "RFC", "CRM", "SIGHUP", "PARAM_ERROR", "Excel"]);
  const skip = 'script, style, code, pre, [translate="no"], [lang]:not([lang^="zh"])';
  const found = [];
  const check = (text, where) => {
    for (const m of (text || "").matchAll(/[A-Za-z][A-Za-z_\-]*[A-Za-z]/g)) {
      if (!allowed.has(m[0])) found.push(JSON.stringify(m[0]) + " in " + where);
    }
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!el.closest(skip)) check(walker.currentNode.textContent, el.tagName.toLowerCase() + (el.id ? "#" + el.id : ""));
  }
  for (const el of document.querySelectorAll("[title], [aria-label], [placeholder]")) {
    if (el.closest(skip) || el.matches("dt[title], td[title]")) continue;
    for (const a of ["title", "aria-label", "placeholder"]) {
      if (el.hasAttribute(a)) check(el.getAttribute(a), el.tagName.toLowerCase() + "@" + a);
    }
  }
  for (const t of document.querySelectorAll("svg title")) check(t.textContent, "svg title");
  const subject = document.querySelector('h1 [translate="no"]');
  check(document.title.replace(subject ? subject.textContent : "", ""), "title");
  return found;
})()`

// A browser that prefers Chinese gets every page of the console in
// Simplified Chinese, drawn with the CJK font the stylesheet names first,
// with no English left; the switch on every page turns it to English,
// which the browser keeps, and back.
func TestBrowserEveryPageReadsInChineseWithACJKFont(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{rules: consoleSet(t)})
	alice, bob := e.member(e.mchID), e.member(e.mchID)
	txA := e.pay(e.mchID, alice, 12345, "")
	e.synced(e.mchID, txA)
	txB := e.pay(e.mchID, bob, 8800, "")
	e.synced(e.mchID, txB)
	if _, err := e.sb.Refund(sandbox.RefundRequest{TransactionID: txA, RefundAmount: 2000}); err != nil {
		t.Fatal(err)
	}
	e.eventually("the refund", func() bool {
		var tr transaction
		return e.get("/api/transactions/"+e.mchID+"/"+txA, &tr) == http.StatusOK && tr.Transaction.PointsDeducted > 0
	})
	if st := e.do(http.MethodPost, "/api/members/"+e.mchID+"/"+alice+"/adjustments", map[string]any{"points": -5, "reason": "兑换咖啡"},
		http.Header{"Idempotency-Key": {"redeem-1"}}, nil); st != http.StatusCreated {
		t.Fatalf("a redemption: %d", st)
	}

	// An expiry run, done, for the expiry page's list.
	if st, location, _ := e.requestExpiry(beijingToday()); st != http.StatusAccepted {
		t.Fatalf("an expiry run: %d", st)
	} else {
		e.expiryDone(location)
	}

	ctx := browsertest.New(t)
	browsertest.AcceptLanguage(t, ctx, "zh-CN,zh;q=0.9,en;q=0.8")
	pages := []struct{ path, h1 string }{
		{"/", "概览"},
		{"/members", "会员"},
		{"/members?q=" + alice[:6], "会员"},
		{"/members/" + e.mchID + "/" + alice, "会员 " + alice},
		{"/transactions", "交易"},
		{"/transactions/" + e.mchID + "/" + txA, "交易 " + txA},
		{"/parked", "已搁置的同步"},
		{"/decisions", "待商场 CRM 决定"},
		{"/rules", "积分规则"},
		{"/export", "导出"},
		{"/audit", "审计日志"},
		{"/expiry", "积分过期"},
		{"/signin", "登录"},
	}
	for _, p := range pages {
		if err := chromedp.Do(ctx, chromedp.Navigate(e.admin.URL+p.path), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		if h1 := browsertest.Text(t, ctx, "main h1"); h1 != p.h1 {
			t.Errorf("%s: the heading reads %q, want %q", p.path, h1, p.h1)
		}
		lang, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
		if err != nil || lang != "zh-CN" {
			t.Errorf("%s: <html lang=%q> (%v), want zh-CN", p.path, lang, err)
		}
		left, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](untranslated))
		if err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		for _, w := range left {
			t.Errorf("%s: untranslated %s", p.path, w)
		}
		// The stylesheet names the CJK family first, the browser has it,
		// and the heading's Han characters are drawn with it.
		first, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).fontFamily.split(",")[0].trim()`))
		if err != nil || first != `"Noto Sans CJK SC"` {
			t.Errorf("%s: the page's first font family is %s (%v), want \"Noto Sans CJK SC\"", p.path, first, err)
		}
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.fonts.ready.then(() => document.fonts.check('16px "Noto Sans CJK SC"', "概览"))`,
			chromedp.EvalAwaitPromise))
		if err != nil || !ok {
			t.Errorf("%s: document.fonts.check of Noto Sans CJK SC: %v, %v", p.path, ok, err)
		}
		if fonts := browsertest.Fonts(t, ctx, "main h1"); fonts["Noto Sans CJK SC"] == 0 {
			t.Errorf("%s: the heading is drawn with %v, not Noto Sans CJK SC (apt-get install fonts-noto-cjk)", p.path, fonts)
		}
	}

	// What the member page and the overview say, in Chinese: the API's
	// figures.
	var member struct {
		Member  struct{ Balance int64 }
		Entries []struct {
			Kind   string
			Points int64
		}
	}
	e.get("/api/members/"+e.mchID+"/"+alice, &member)
	var refunded int64
	for _, en := range member.Entries {
		if en.Kind == "refund" {
			refunded -= en.Points
		}
	}
	var paid transaction
	e.get("/api/transactions/"+e.mchID+"/"+txA, &paid)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.admin.URL+"/members/"+e.mchID+"/"+alice), chromedp.WaitVisible(chromedp.CSS("#balance"))); err != nil {
		t.Fatal(err)
	}
	for sel, want := range map[string]string{"#points-refunded": fmtInt(refunded), "#points-redeemed": "5",
		"#balance": fmtInt(member.Member.Balance), "#wechat-total": "微信支付显示 " + fmtInt(paid.Transaction.TotalPoints)} {
		if got := browsertest.Text(t, ctx, sel); got != want {
			t.Errorf("the member page's %s reads %q, want %q", sel, got, want)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(e.admin.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#amount-today"))); err != nil {
		t.Fatal(err)
	}
	if got := browsertest.Text(t, ctx, "#amount-today"); got != "¥211.45" {
		t.Errorf("today's amount reads %q, want ¥211.45", got)
	}
	if row := browsertest.Text(t, ctx, `tr[data-transaction="`+txB+`"]`); !strings.Contains(row, "已同步") || !strings.Contains(row, "¥88.00") ||
		!strings.Contains(row, "年") {
		t.Errorf("a payment's row reads %q: want its Beijing date, ¥88.00 and 已同步", row)
	}
	browsertest.Screenshot(t, ctx)

	// The switch: English, kept by the browser against its Accept-Language,
	// then Chinese again.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] main h1`))); err != nil {
		t.Fatalf("switch to English: %v", err)
	}
	if h1 := browsertest.Text(t, ctx, "main h1"); h1 != "Overview" {
		t.Errorf("after the switch the heading reads %q", h1)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(e.admin.URL+"/members"), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] main h1`))); err != nil {
		t.Errorf("the next page forgot the choice: %v", err)
	}
	if got := browsertest.Text(t, ctx, "#lang-switch"); got != "中文" {
		t.Errorf("the English page offers %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="zh-CN"] main h1`))); err != nil {
		t.Fatalf("switch back: %v", err)
	}
	if url, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasSuffix(url, "/members") {
		t.Errorf("the switch left the page for %q (%v)", url, err)
	}
}

// A page showing a payment whose sync is pending follows it: once WeChat
// Pay takes the sync, the page shows it synced without being reloaded.
func TestBrowserAPendingSyncTurnsSyncedWithoutAReload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{})
	openid := e.member(e.mchID)
	// WeChat Pay takes 6 s to answer the sync: long enough to see it pending.
	e.pointsFaults(sandbox.EndpointFaults{Latency: sandbox.Duration(6 * time.Second)})
	txid := e.pay(e.mchID, openid, 5000, "")
	e.eventually("the payment", func() bool {
		return e.get("/api/transactions/"+e.mchID+"/"+txid, nil) == http.StatusOK
	})
	ctx := browsertest.New(t)
	browsertest.AcceptLanguage(t, ctx, "zh-CN")
	for _, path := range []string{"/members/" + e.mchID + "/" + openid, "/transactions/" + e.mchID + "/" + txid} {
		if err := chromedp.Do(ctx, chromedp.Navigate(e.admin.URL+path), chromedp.WaitVisible(chromedp.CSS(`[data-state]`))); err != nil {
			t.Fatal(err)
		}
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("[data-state]").dataset.state`))
		if err != nil {
			t.Fatal(err)
		}
		if state == "synced" {
			continue // the second page came after the sync
		}
		if state != "pending" {
			t.Fatalf("%s shows the sync %q", path, state)
		}
		if got := browsertest.Text(t, ctx, `[data-state="pending"]`); got != "待同步" {
			t.Errorf("a pending sync reads %q", got)
		}
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.sameDocument = true`),
			chromedp.WaitVisible(chromedp.CSS(`[data-state="synced"]`))); err != nil {
			t.Fatalf("%s: the sync never showed synced: %v", path, err)
		}
		same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.sameDocument === true`))
		if err != nil || !same {
			t.Errorf("%s was reloaded to show the sync (%v)", path, err)
		}
		if got := browsertest.Text(t, ctx, `[data-state="synced"]`); got != "已同步" {
			t.Errorf("the synced sync reads %q", got)
		}
	}
	if e.synced(e.mchID, txid).Transaction.Sync.State != "synced" {
		t.Error("the API disagrees")
	}
}

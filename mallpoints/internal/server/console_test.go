package server_test

import (
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// consoleRules is a programme with a category, tiers, a bonus and expiry:
// a payment of ¥88.00 in shop S1 in 2024 earns 88 × 2 = 176 points and a
// bonus of 10, all of it due to expire (end of 2024, not before 2020).
const consoleRules = `default:
  fen_per_point: 100
  first_payment_bonus: 10
  categories: [{name: 零售, shops: [S1], multiplier: 2}]
  tiers: {window_months: 12, levels: [{name: 普卡, min_spend_fen: 0, multiplier: 1}, {name: 金卡, min_spend_fen: 100000, multiplier: 1.5}]}
  expiry: {policy: end_of_year, years: 0, start: 2020-01-01}
malls:
  - mchid: "1900000999"
    daily_cap: 300
`

func consoleSet(t *testing.T) *rules.Set {
	t.Helper()
	set, err := rules.Parse([]byte(consoleRules))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// cell is the text of the first element of an id on a page, tags stripped.
func cell(page, id string) string {
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}

// The transaction page shows the earning's steps as a table (each step in
// words, its figure and the running points) beside the one-line explain,
// and the member page shows what expires within 30 days: the API's
// expiring_30d.
func TestDashboardShowsTheStepsAndThePointsExpiring(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{rules: consoleSet(t)})
	openid := e.member(e.mchID)
	p, err := e.sb.Pay(sandbox.PaymentRequest{AppID: appID, OpenID: openid, Amount: 8800, ShopNumber: "S1", TimeEnd: "2024-06-01T12:00:00+08:00"})
	if err != nil {
		t.Fatal(err)
	}
	e.eventually("the old payment", func() bool {
		return e.get("/api/transactions/"+e.mchID+"/"+p.TransactionID, nil) == http.StatusOK
	})
	txPage, st := e.page(http.MethodGet, "/transactions/"+e.mchID+"/"+p.TransactionID, nil)
	if st != http.StatusOK {
		t.Fatalf("transaction page: %d", st)
	}
	rows := regexp.MustCompile(`(?s)<tr data-step="([a-z_]+)"><td>(.*?)</td><td>(.*?)</td><td class="num">(.*?)</td><td class="num">(\d+)</td></tr>`).FindAllStringSubmatch(txPage, -1)
	var got []string
	for _, r := range rows {
		got = append(got, html.UnescapeString(strings.Join(r[1:], "|")))
	}
	want := []string{
		"base|Base points (amount ÷ fen per point)|||88",
		"category|Category multiplier|零售|×2|176",
		"tier|Member tier|普卡|×1|176",
		"first_payment_bonus|First-payment bonus||+10|186",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the steps table:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ex := cell(txPage, "explain"); !strings.Contains(ex, "176") {
		t.Errorf("the explain summary %q lacks the points", ex)
	}

	var api struct {
		Expiring int64 `json:"expiring_30d"`
	}
	if st := e.get("/api/members/"+e.mchID+"/"+openid, &api); st != http.StatusOK || api.Expiring != 186 {
		t.Fatalf("the API: %d, expiring_30d %d, want 186", st, api.Expiring)
	}
	member, _ := e.page(http.MethodGet, "/members/"+e.mchID+"/"+openid, nil)
	if got := cell(member, "expiring"); got != "186" {
		t.Errorf("the member page shows %q expiring, the API 186", got)
	}
}

// The Rules page reads each section once, the default then each mall's own
// keys, and its preview form answers with ledger.Preview, writing nothing.
func TestDashboardRulesPageAndPreview(t *testing.T) {
	t.Parallel()
	e := newEnv(t, filepath.Join(t.TempDir(), "mallpoints.db"), envOptions{rules: consoleSet(t)})
	page, st := e.page(http.MethodGet, "/rules", nil)
	if st != http.StatusOK {
		t.Fatalf("GET /rules: %d", st)
	}
	for _, want := range []string{
		`<dd data-key="fen_per_point">1 point per ¥1.00 (fen_per_point 100), rounded down</dd>`,
		`<dd data-key="categories">零售 (S1): ×2</dd>`,
		`<dd data-key="tiers">by spend in the last 12 months: 普卡 from ¥0.00 ×1; 金卡 from ¥1,000.00 ×1.5</dd>`,
		`<dd data-key="first_payment_bonus">10 points</dd>`,
		`<dd data-key="expiry">points expire at the end of the Beijing year they are earned in, never before 1 Jan 2020</dd>`,
		`<dd data-key="daily_cap">300 points</dd>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the rules page lacks %s", want)
		}
	}
	if n := strings.Count(page, `data-key="fen_per_point"`); n != 1 {
		t.Errorf("fen_per_point shows %d times, want once: the mall section lists only its own keys", n)
	}
	if n := strings.Count(page, `data-mall="1900000999"`); n != 1 {
		t.Errorf("mall 1900000999 has %d sections, want 1", n)
	}

	form := url.Values{"mall": {e.mchID}, "openid": {"o-preview"}, "shop_number": {"S1"}, "amount": {"123.45"},
		"time_end": {"2026-05-20 12:00"}, "tier": {"金卡"}}
	res, st := e.page(http.MethodPost, "/rules/preview", form)
	if st != http.StatusOK {
		t.Fatalf("POST /rules/preview: %d\n%s", st, res)
	}
	// floor(123 × 2 × 1.5) = 369, and a first payment's bonus.
	if cell(res, "preview-points") != "369" || cell(res, "preview-bonus") != "10" || cell(res, "preview-tier-used") != "金卡" {
		t.Errorf("preview: points %q bonus %q tier %q, want 369, 10, 金卡", cell(res, "preview-points"), cell(res, "preview-bonus"), cell(res, "preview-tier-used"))
	}
	if !strings.Contains(res, `<tr data-step="tier"><td>Member tier</td><td>金卡</td><td class="num">×1.5</td><td class="num">369</td></tr>`) {
		t.Error("the preview lacks its steps")
	}
	if st := e.get("/api/members/"+e.mchID+"/o-preview", nil); st != http.StatusNotFound {
		t.Errorf("the preview wrote a member: %d", st)
	}
	form.Set("tier", "黑卡")
	if res, st := e.page(http.MethodPost, "/rules/preview", form); st != http.StatusBadRequest || !strings.Contains(res, "no tier") {
		t.Errorf("an unknown tier: %d", st)
	}
	form.Set("tier", "")
	form.Set("amount", "12345")
	if _, st := e.page(http.MethodPost, "/rules/preview", form); st != http.StatusOK {
		t.Errorf("a whole yuan amount: %d", st)
	}
	form.Set("amount", "1.234")
	if res, st := e.page(http.MethodPost, "/rules/preview", form); st != http.StatusBadRequest || !strings.Contains(res, "yuan") {
		t.Errorf("fen fractions: %d", st)
	}
}

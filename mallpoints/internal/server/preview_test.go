package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

// programmeRules caps a day at 500 points, gives a first-payment bonus of
// 50 and doubles points from 200 yuan of spend.
const programmeRules = `
default:
  daily_cap: 500
  first_payment_bonus: 50
  tiers:
    window_months: 12
    levels:
      - {name: 普卡, min_spend_fen: 0, multiplier: 1}
      - {name: 金卡, min_spend_fen: 20000, multiplier: 2}
`

type previewResults struct {
	Results []struct {
		Points      int64  `json:"points"`
		Bonus       int64  `json:"bonus"`
		EarnPoints  bool   `json:"earn_points"`
		Remark      string `json:"remark"`
		Tier        string `json:"tier"`
		Explanation []struct {
			Step       string `json:"step"`
			Name       string `json:"name"`
			Multiplier string `json:"multiplier"`
			Points     int64  `json:"points"`
		} `json:"explanation"`
	} `json:"results"`
}

type previewPayment struct {
	Mall       string `json:"mall,omitempty"`
	OpenID     string `json:"openid"`
	ShopNumber string `json:"shop_number"`
	Amount     int64  `json:"amount"`
	TimeEnd    string `json:"time_end"`
	Tier       string `json:"tier,omitempty"`
	SpendFen   *int64 `json:"spend_fen,omitempty"`
}

func now() string { return time.Now().Format(time.RFC3339) }

func TestPreviewEqualsTheLedger(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		set, err := rules.Parse([]byte(programmeRules))
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, dsn, envOptions{rules: set})
		openid := e.member(e.mchID)
		// The bonus once; 普卡 until the spend reaches 200 yuan; then the cap.
		for i, c := range []struct {
			amount        int64
			points, bonus int64
			tier          string
		}{{15000, 150, 50, "普卡"}, {10000, 100, 0, "普卡"}, {10000, 200, 0, "金卡"}, {10000, 50, 0, "金卡"}, {10000, 0, 0, "金卡"}} {
			// time_end is in whole seconds, and a payment counts in the
			// tier spend of payments after its time_end only.
			time.Sleep(time.Second)
			var p previewResults
			if s := e.do("POST", "/api/rules/preview", map[string]any{"payments": []previewPayment{
				{OpenID: openid, ShopNumber: "S01", Amount: c.amount, TimeEnd: now()}}}, nil, &p); s != http.StatusOK || len(p.Results) != 1 {
				t.Fatalf("payment %d: preview answered %d %+v", i, s, p)
			}
			got := p.Results[0]
			if got.Points != c.points || got.Bonus != c.bonus || got.Tier != c.tier || got.EarnPoints != (c.points > 0) {
				t.Errorf("payment %d: preview %+v; want %d points, bonus %d, %s", i, got, c.points, c.bonus, c.tier)
			}
			tx := e.pay(e.mchID, openid, c.amount, "S01")
			e.synced(e.mchID, tx)
			var made struct {
				Transaction struct {
					Points int64  `json:"points"`
					Bonus  int64  `json:"bonus"`
					Tier   string `json:"tier"`
				} `json:"transaction"`
			}
			e.get("/api/transactions/"+e.mchID+"/"+tx, &made)
			if m := made.Transaction; m.Points != got.Points || m.Bonus != got.Bonus || m.Tier != got.Tier {
				t.Errorf("payment %d: the ledger wrote %+v, the preview said %+v", i, m, got)
			}
		}
	})
}

func TestPreviewWritesNothingAndTakesAFileATierOrASpend(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		spend := int64(30000)
		day := time.Date(2026, 5, 20, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
		at := func(minutes int) string { return day.Add(time.Duration(minutes) * time.Minute).Format(time.RFC3339) }
		var p previewResults
		s := e.do("POST", "/api/rules/preview", map[string]any{"rules": programmeRules, "payments": []previewPayment{
			{OpenID: "o-new", ShopNumber: "S01", Amount: 15000, TimeEnd: at(0)},
			{OpenID: "o-new", ShopNumber: "S01", Amount: 10000, TimeEnd: at(1)},
			{OpenID: "o-new", ShopNumber: "S01", Amount: 10000, TimeEnd: at(2)},
			{OpenID: "o-gold", ShopNumber: "S01", Amount: 10000, TimeEnd: at(3), Tier: "金卡"},
			{OpenID: "o-rich", ShopNumber: "S01", Amount: 10000, TimeEnd: at(4), SpendFen: &spend},
		}}, nil, &p)
		if s != http.StatusOK || len(p.Results) != 5 {
			t.Fatalf("preview answered %d %+v", s, p)
		}
		// Earlier payments of a preview are the history of later ones.
		for i, want := range []struct {
			points, bonus int64
			tier          string
		}{{150, 50, "普卡"}, {100, 0, "普卡"}, {200, 0, "金卡"}, {200, 50, "金卡"}, {200, 50, "金卡"}} {
			if r := p.Results[i]; r.Points != want.points || r.Bonus != want.bonus || r.Tier != want.tier {
				t.Errorf("result %d: %+v; want %+v", i, r, want)
			}
		}
		steps := p.Results[2].Explanation
		if len(steps) < 2 || steps[0].Step != "base" || steps[1].Step != "tier" || steps[1].Name != "金卡" || steps[1].Multiplier != "2" {
			t.Errorf("explanation %+v; want base, then tier 金卡 ×2", steps)
		}
		if s := e.get("/api/members/"+e.mchID+"/o-new", nil); s != http.StatusNotFound {
			t.Errorf("after a preview the member answers %d; want 404: a preview writes nothing", s)
		}
		var entries struct {
			Entries []any `json:"entries"`
		}
		if e.get("/api/entries", &entries); len(entries.Entries) != 0 {
			t.Errorf("after a preview the ledger has %d entries; want none", len(entries.Entries))
		}

		// Without rules: the rules in force (the default: a point per yuan).
		p = previewResults{}
		if s := e.do("POST", "/api/rules/preview", map[string]any{"payments": []previewPayment{
			{OpenID: "o-new", ShopNumber: "S01", Amount: 15000, TimeEnd: now()}}}, nil, &p); s != http.StatusOK || p.Results[0].Points != 150 || p.Results[0].Bonus != 0 {
			t.Errorf("preview under the rules in force: %d %+v", s, p)
		}
	})
}

func TestPreviewRefusesBadRulesNamingTheLineAndBadPayments(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		pay := []previewPayment{{OpenID: "o1", Amount: 100, TimeEnd: now()}}
		for _, c := range []struct {
			name  string
			body  any
			code  string
			field string
			msg   string
		}{
			{"a key of the wrong kind", map[string]any{"rules": "default:\n  daily_cap: 10\n  fen_per_point: -1\n", "payments": pay},
				"INVALID_RULES", "rules", "line 3"},
			{"malformed YAML", map[string]any{"rules": "default:\n  daily_cap: [\n", "payments": pay}, "INVALID_RULES", "rules", "line"},
			{"no payments", map[string]any{}, "INVALID_FIELD", "payments", ""},
			{"a bad time", map[string]any{"payments": []previewPayment{{OpenID: "o1", Amount: 1, TimeEnd: "yesterday"}}},
				"INVALID_FIELD", "payments[0].time_end", ""},
			{"a tier the rules lack", map[string]any{"payments": []previewPayment{{OpenID: "o1", Amount: 1, TimeEnd: now(), Tier: "钻石卡"}}},
				"INVALID_FIELD", "payments[0].tier", ""},
			{"over 1 MiB", map[string]any{"rules": strings.Repeat("#", 1<<20), "payments": pay}, "BODY_TOO_LARGE", "", ""},
		} {
			var got struct{ Code, Field, Message string }
			if s := e.do("POST", "/api/rules/preview", c.body, nil, &got); s != http.StatusBadRequest || got.Code != c.code ||
				got.Field != c.field || !strings.Contains(got.Message, c.msg) {
				t.Errorf("%s: %d %+v; want 400 %s naming %q and %q", c.name, s, got, c.code, c.field, c.msg)
			}
		}
	})
}

package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

func TestATierSetThroughTheAPIOverridesTheComputedOneUntilItsDate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		set, err := rules.Parse([]byte(programmeRules))
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, dsn, envOptions{rules: set})
		beijing := time.FixedZone("CST", 8*3600)
		today := time.Now().In(beijing).Format(time.DateOnly)
		yesterday := time.Now().In(beijing).AddDate(0, 0, -1).Format(time.DateOnly)
		type member struct {
			Member struct {
				Tier      string `json:"tier"`
				TierUntil string `json:"tier_until"`
			} `json:"member"`
		}
		for _, c := range []struct {
			name         string
			tier, until  string
			points       int64
			computedTier string
		}{
			{"until today, inclusive", "金卡", today, 200, "金卡"},
			{"until yesterday: over", "金卡", yesterday, 100, "普卡"},
			{"a tier the rules lack falls back", "钻石卡", today, 100, "普卡"},
			{"cleared", "", "", 100, "普卡"},
		} {
			openid := e.member(e.mchID)
			var m member
			if s := e.do("PUT", "/api/members/"+e.mchID+"/"+openid+"/tier", map[string]any{"tier": c.tier, "until": c.until}, nil, &m); s != http.StatusOK ||
				m.Member.Tier != c.tier || m.Member.TierUntil != c.until {
				t.Fatalf("%s: PUT tier answered %d %+v", c.name, s, m)
			}
			// 100 yuan: 100 points, 200 at 金卡 (×2).
			tx := e.pay(e.mchID, openid, 10000, "S01")
			e.synced(e.mchID, tx)
			var made struct {
				Transaction struct {
					Points int64  `json:"points"`
					Tier   string `json:"tier"`
				} `json:"transaction"`
			}
			e.get("/api/transactions/"+e.mchID+"/"+tx, &made)
			if made.Transaction.Points != c.points || made.Transaction.Tier != c.computedTier {
				t.Errorf("%s: the payment earned %+v; want %d points at %s", c.name, made.Transaction, c.points, c.computedTier)
			}
		}

		// A member the service has not seen yet: the CRM may know it first.
		var m member
		if s := e.do("PUT", "/api/members/"+e.mchID+"/o-crm-first/tier", map[string]any{"tier": "金卡", "until": today}, nil, &m); s != http.StatusOK {
			t.Errorf("PUT tier of a new member answered %d", s)
		}
		if e.get("/api/members/"+e.mchID+"/o-crm-first", &m); m.Member.Tier != "金卡" || m.Member.TierUntil != today {
			t.Errorf("the member reads %+v", m)
		}
		for _, c := range []struct {
			name  string
			body  any
			field string
		}{
			{"no tier", map[string]any{"until": today}, "tier"},
			{"no until", map[string]any{"tier": "金卡"}, "until"},
			{"an until not a date", map[string]any{"tier": "金卡", "until": "2026-02-30"}, "until"},
		} {
			var got struct{ Code, Field string }
			if s := e.do("PUT", "/api/members/"+e.mchID+"/o1/tier", c.body, nil, &got); s != http.StatusBadRequest || got.Field != c.field {
				t.Errorf("%s: %d %+v; want 400 naming %s", c.name, s, got, c.field)
			}
		}
	})
}

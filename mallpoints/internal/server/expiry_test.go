package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// Expiry over HTTP: an old payment made with the sandbox's time_end earns
// a lot that is already due, the member's API shows it as expiring, and
// POST /api/expiry/run takes it, once: a second run for the date expires
// nothing more. A date after today or not a date is a 400 naming as_of.
func TestTheExpiryRunOverHTTP(t *testing.T) {
	set, err := rules.Parse([]byte("default:\n  expiry: {policy: end_of_year, years: 0, start: 2020-01-01}\n"))
	if err != nil {
		t.Fatal(err)
	}
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{rules: set})
		openid := e.member(e.mchID)
		p, err := e.sb.Pay(sandbox.PaymentRequest{AppID: appID, OpenID: openid, Amount: 8800, TimeEnd: "2024-06-01T12:00:00+08:00"})
		if err != nil {
			t.Fatal(err)
		}
		e.eventually("the old payment", func() bool {
			return e.get("/api/transactions/"+e.mchID+"/"+p.TransactionID, nil) == http.StatusOK
		})
		type memberView struct {
			Member struct {
				Balance int64 `json:"balance"`
			} `json:"member"`
			Expiring int64 `json:"expiring_30d"`
		}
		var before memberView
		if st := e.get("/api/members/"+e.mchID+"/"+openid, &before); st != 200 || before.Member.Balance != 88 || before.Expiring != 88 {
			t.Errorf("member before the run: %d %+v, want balance 88, all of it expiring", st, before)
		}

		listed := func() (n int64, found bool) {
			var page struct {
				Members []struct {
					OpenID   string `json:"openid"`
					Expiring *int64 `json:"expiring_30d"`
				} `json:"members"`
			}
			if st := e.get("/api/members?mall="+e.mchID, &page); st != 200 {
				t.Fatalf("GET /api/members: %d", st)
			}
			for _, m := range page.Members {
				if m.Expiring == nil {
					t.Errorf("member %s listed without expiring_30d", m.OpenID)
				} else if m.OpenID == openid {
					n, found = *m.Expiring, true
				}
			}
			return n, found
		}
		if n, ok := listed(); !ok || n != 88 {
			t.Errorf("the list before the run: expiring %d (listed %v), want 88", n, ok)
		}

		today := time.Now().In(time.FixedZone("UTC+8", 8*3600)).Format(time.DateOnly)
		type result struct {
			AsOf    string `json:"as_of"`
			Points  int64  `json:"points"`
			Members []struct {
				Mall, OpenID string
				Points       int64
			} `json:"members"`
		}
		var first, again result
		if st := e.do(http.MethodPost, "/api/expiry/run", `{"as_of":"`+today+`"}`, nil, &first); st != 200 ||
			first.AsOf != today || first.Points != 88 || len(first.Members) != 1 || first.Members[0].OpenID != openid {
			t.Errorf("the run: %d %+v, want 88 points of one member", st, first)
		}
		if st := e.do(http.MethodPost, "/api/expiry/run", `{"as_of":"`+today+`"}`, nil, &again); st != 200 || again.Points != 0 || len(again.Members) != 0 {
			t.Errorf("the run again: %d %+v, want nothing more expired", st, again)
		}
		var after memberView
		if st := e.get("/api/members/"+e.mchID+"/"+openid, &after); st != 200 || after.Member.Balance != 0 || after.Expiring != 0 {
			t.Errorf("member after the run: %d %+v, want balance 0, nothing expiring", st, after)
		}
		if n, ok := listed(); !ok || n != 0 {
			t.Errorf("the list after the run: expiring %d (listed %v), want 0", n, ok)
		}

		tomorrow := time.Now().In(time.FixedZone("UTC+8", 8*3600)).AddDate(0, 0, 1).Format(time.DateOnly)
		for _, body := range []string{`{"as_of":"` + tomorrow + `"}`, `{"as_of":"2026-1-1"}`, `{}`, `{"asof":"2026-01-01"}`} {
			var ae apiError
			if st := e.do(http.MethodPost, "/api/expiry/run", body, nil, &ae); st != 400 || (ae.Field != "as_of" && ae.Field != "asof") {
				t.Errorf("%s: %d %+v, want 400 naming as_of", body, st, ae)
			}
		}
	})
}

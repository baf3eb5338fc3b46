package server_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/server"
	"github.com/seed2ac2593f/wxpay/notify"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

type memberView struct {
	Member struct {
		OpenID   string `json:"openid"`
		AuthType string `json:"auth_type"`
		Balance  int64  `json:"balance"`
		Erased   bool   `json:"erased"`
	} `json:"member"`
	Entries []struct {
		Seq       int64  `json:"seq"`
		Kind      string `json:"kind"`
		Points    int64  `json:"points"`
		Requested int64  `json:"requested"`
		Shortfall int64  `json:"shortfall"`
	} `json:"entries"`
}

func (e *env) memberView(mall, openid string) memberView {
	e.t.Helper()
	var m memberView
	if st := e.get("/api/members/"+mall+"/"+openid, &m); st != http.StatusOK {
		e.t.Fatalf("member %s: status %d", openid, st)
	}
	return m
}

// refund refunds part of a payment at the sandbox and waits until the
// service has recorded it.
func (e *env) refund(mall, txid string, amount int64) {
	e.t.Helper()
	var before transaction
	e.get("/api/transactions/"+mall+"/"+txid, &before)
	if _, err := e.sb.Refund(sandbox.RefundRequest{TransactionID: txid, RefundAmount: amount}); err != nil {
		e.t.Fatal(err)
	}
	e.eventually("refund of "+txid, func() bool {
		var tr transaction
		e.get("/api/transactions/"+mall+"/"+txid, &tr)
		return tr.Transaction.Refunded == before.Transaction.Refunded+amount
	})
}

func TestRefundsDeductOnTheRunningTotalOncePerRefundNeverBelowZero(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		mall := e.mchID

		// Three partial refunds of a payment of 10 yuan that earned 10 points:
		// floor(10×3/10)=3, floor(10×6/10)-3=3, floor(10×10/10)-6=4.
		alice := e.member(mall)
		tx := e.pay(mall, alice, 1000, "")
		e.synced(mall, tx)
		for _, r := range []int64{300, 300, 400} {
			e.refund(mall, tx, r)
		}
		var tr transaction
		e.get("/api/transactions/"+mall+"/"+tx, &tr)
		var deducted []int64
		for _, en := range tr.Entries {
			if en.Kind == "refund" {
				deducted = append(deducted, -en.Points)
			}
		}
		if len(deducted) != 3 || deducted[0] != 3 || deducted[1] != 3 || deducted[2] != 4 {
			t.Errorf("deductions %v, want [3 3 4]", deducted)
		}
		if b := e.memberView(mall, alice).Member.Balance; b != 0 {
			t.Errorf("balance after refunding everything: %d, want 0", b)
		}

		// A refund after the points were spent: the balance stops at zero
		// and the shortfall is recorded.
		bob := e.member(mall)
		tx2 := e.pay(mall, bob, 5000, "")
		e.synced(mall, tx2)
		if st := e.do(http.MethodPost, "/api/members/"+mall+"/"+bob+"/adjustments",
			map[string]any{"points": -40, "reason": "redeemed a coffee"}, http.Header{"Idempotency-Key": {"redeem-1"}}, nil); st != http.StatusCreated {
			t.Fatalf("redemption: status %d", st)
		}
		e.refund(mall, tx2, 5000)
		m := e.memberView(mall, bob)
		if m.Member.Balance != 0 {
			t.Errorf("balance %d, want 0", m.Member.Balance)
		}
		if top := m.Entries[0]; top.Kind != "refund" || top.Points != -10 || top.Requested != -50 || top.Shortfall != 40 {
			t.Errorf("refund entry %+v, want points -10, requested -50, shortfall 40", top)
		}
	})
}

func TestAnActivationUpgradesTheMemberAndNeverDowngradesIt(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		openid := "oActivation0001"
		if _, _, err := e.sb.Authorize(sandbox.MemberRequest{AppID: appID, OpenID: openid, AuthType: "REGISTERED_MODE"}); err != nil {
			t.Fatal(err)
		}
		e.eventually("registered", func() bool {
			var m memberView
			return e.get("/api/members/"+e.mchID+"/"+openid, &m) == 200 && m.Member.AuthType == "REGISTERED_MODE"
		})
		if _, _, err := e.sb.Authorize(sandbox.MemberRequest{AppID: appID, OpenID: openid}); err != nil {
			t.Fatal(err)
		}
		e.eventually("upgraded", func() bool {
			return e.memberView(e.mchID, openid).Member.AuthType == "REGISTERED_AND_AUTHORIZATION_MODE"
		})
		// The first activation delivered again, late: still upgraded.
		first := e.deliveries()[0]
		if st := e.replay(first); st != http.StatusNoContent && st != http.StatusOK {
			t.Fatalf("replay: status %d", st)
		}
		if got := e.memberView(e.mchID, openid).Member.AuthType; got != "REGISTERED_AND_AUTHORIZATION_MODE" {
			t.Errorf("after a late REGISTERED_MODE: %s", got)
		}
	})
}

func TestPartnerModeKeepsEachMallApartAndSyncsItsSubMchID(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		const mallA, mallB = "1900000201", "1900000202"
		e := newEnv(t, dsn, envOptions{subs: []string{mallA, mallB}})
		openid := e.member(mallA)
		// The same openid at another mall is another member.
		if _, _, err := e.sb.Authorize(sandbox.MemberRequest{SubMchID: mallB, AppID: appID, OpenID: openid}); err != nil {
			t.Fatal(err)
		}
		e.eventually("member at mall B", func() bool {
			var m memberView
			return e.get("/api/members/"+mallB+"/"+openid, &m) == http.StatusOK
		})
		txA := e.pay(mallA, openid, 20000, "")
		txB := e.pay(mallB, openid, 5000, "")
		for _, c := range []struct {
			mall, tx string
			points   int64
		}{{mallA, txA, 200}, {mallB, txB, 50}} {
			got := e.synced(c.mall, c.tx).Transaction
			s := e.sandboxSync(c.tx)
			if got.Points != c.points || got.TotalPoints != c.points || s.Body.SubMchID != c.mall ||
				*s.Body.TotalPoints != c.points {
				t.Errorf("mall %s: points %d, total %d, synced %+v; want %d with sub_mchid %s",
					c.mall, got.Points, got.TotalPoints, s.Body, c.points, c.mall)
			}
			if b := e.memberView(c.mall, openid).Member.Balance; b != c.points {
				t.Errorf("mall %s: balance %d, want %d", c.mall, b, c.points)
			}
		}
	})
}

func TestRulesExcludedShopsCapsAndPromotionsReachTheSync(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
		set, err := rules.Parse([]byte(`
default:
  min_amount_fen: 500
  daily_cap: 300
  shops:
    - {shop_number: S01, multiplier: 2}
    - {shop_number: S09, excluded: true}
  promotions:
    - {name: today, multiplier: 3, start: ` + today + `, end: ` + today + `, shops: [S02]}
`))
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, dsn, envOptions{rules: set})
		openid := e.member(e.mchID)
		for _, c := range []struct {
			name   string
			amount int64
			shop   string
			points int64
			total  int64
			remark string
		}{
			{"a double-points shop", 10000, "S01", 200, 200, ""},
			{"an excluded shop", 50000, "S09", 0, 200, rules.DefaultRemarkExcluded},
			{"a promotion, capped", 5000, "S02", 100, 300, ""},
			{"the cap reached", 10000, "S03", 0, 300, rules.DefaultRemarkCapReached},
			{"below the minimum", 400, "S03", 0, 300, rules.DefaultRemarkBelowMinimum},
		} {
			tx := e.pay(e.mchID, openid, c.amount, c.shop)
			got := e.synced(e.mchID, tx).Transaction
			s := e.sandboxSync(tx)
			if got.Points != c.points || got.TotalPoints != c.total || got.RuleVersion != set.Version() {
				t.Errorf("%s: points %d total %d version %s; want %d, %d, %s", c.name, got.Points, got.TotalPoints,
					got.RuleVersion, c.points, c.total, set.Version())
			}
			if s.Body.IncreasedPoints != c.points || *s.Body.TotalPoints != c.total || s.Body.EarnPoints != (c.points > 0) ||
				s.Body.NoPointsRemarks != c.remark {
				t.Errorf("%s: sandbox received %+v", c.name, s.Body)
			}
		}
	})
}

func TestAMalformedRulesFileStopsTheStartNamingTheLine(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	os.WriteFile(path, []byte("default:\n  daily_cap: 10\n  multipler: 2\n"), 0o600)
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	client, err := wxpay.NewClient(wxpay.WithMerchant(keys.MchID, keys.MerchantSerial, keys.MerchantKey),
		wxpay.WithWechatPayPublicKey(keys.PublicKeyID, &keys.WechatPayKey.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	parser, err := notify.NewParser(client.Verifier(), keys.APIv3Key)
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "mallpoints.db")
	_, err = server.New(context.Background(), server.Config{DB: db, MchID: keys.MchID, Client: client, Parser: parser, RulesPath: path})
	if err == nil || !strings.Contains(err.Error(), "rules.yaml:3:") || !strings.Contains(err.Error(), "multipler") {
		t.Fatalf("error %v does not name line 3 and the unknown key", err)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("the database was created although the rules did not load")
	}
}

func TestAPaymentFromAnUnseenMemberCreatesItAndKeepsTheCommitTag(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		// The sandbox notifies payments of authorised members only, so the
		// lost activation is played by handing the payment to the ledger.
		n := &notify.Notification{ID: "n-unseen-1", EventType: businesscircle.EventTypeTransactionSuccess}
		_, err := e.srv.Ledger().Transaction(context.Background(), n, &businesscircle.TransactionEvent{
			MchID: e.mchID, AppID: appID, OpenID: "oNeverActivated", TransactionID: "4200000000000000000000000001",
			Amount: 1999, TimeEnd: time.Now().Format(time.RFC3339), CommitTag: "manual-commit-1"})
		if err != nil {
			t.Fatal(err)
		}
		m := e.memberView(e.mchID, "oNeverActivated")
		if m.Member.Balance != 19 || m.Member.AuthType != "" || len(m.Entries) != 1 {
			t.Errorf("member %+v: want balance 19, no activation, one entry", m)
		}
		var tr struct {
			Entries []struct {
				CommitTag string `json:"commit_tag"`
			} `json:"entries"`
		}
		e.get("/api/transactions/"+e.mchID+"/4200000000000000000000000001", &tr)
		if len(tr.Entries) != 1 || tr.Entries[0].CommitTag != "manual-commit-1" {
			t.Errorf("entries %+v: want the commit_tag kept", tr.Entries)
		}
	})
}

func TestARefundOfAnUnknownPaymentFailsSoWeChatPayDeliversItAgainAndWritesNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		n := &notify.Notification{ID: "n-refund-unknown", EventType: businesscircle.EventTypeRefundSuccess}
		refund := &businesscircle.RefundEvent{MchID: e.mchID, OpenID: "oSomeone", TransactionID: "4200000000000000000000000404",
			RefundID: "50300000000000000000000001", PayAmount: 1000, RefundAmount: 500}
		_, err := e.srv.Ledger().Refund(context.Background(), n, refund)
		if !errors.Is(err, ledger.ErrUnknownTransaction) {
			t.Fatalf("error %v, want ErrUnknownTransaction", err)
		}
		var feed feedPage
		e.get("/api/entries", &feed)
		if len(feed.Entries) != 0 {
			t.Errorf("entries written: %+v", feed.Entries)
		}
		if st := e.get("/api/members/"+e.mchID+"/oSomeone", nil); st != http.StatusNotFound {
			t.Errorf("a member was created: %d", st)
		}
	})
}

package server_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestErasureIsRefusedWhileASyncOfTheMemberIsParked(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		rulesPath, _ := brandRules(t, 999) // not the mall's brand: WeChat Pay refuses the parking sync
		e := newEnv(t, dsn, envOptions{rulesPath: rulesPath, brands: map[int64][]string{1001: {appID}}})
		openid := e.member(e.mchID)
		body := map[string]any{"openid": openid, "plate_number": "粤B12345", "state": "IN",
			"time": time.Now().Format(time.RFC3339)}
		if st := e.do(http.MethodPost, "/api/parkings", body, nil, nil); st != http.StatusAccepted {
			t.Fatalf("POST /api/parkings: status %d", st)
		}
		e.eventually("the parking sync to park", func() bool {
			var parked syncList
			return e.get("/api/parked", &parked) == http.StatusOK && len(parked.Syncs) == 1
		})
		var refused apiError
		st := e.do(http.MethodPost, "/api/members/"+e.mchID+"/"+openid+"/erasure", nil, nil, &refused)
		if st != http.StatusConflict || refused.Code != "SYNCS_PARKED" {
			t.Errorf("erasure with a parked sync: %d %+v, want 409 SYNCS_PARKED", st, refused)
		}
		if st := e.get("/api/members/"+e.mchID+"/"+openid, nil); st != http.StatusOK {
			t.Errorf("the member after a refused erasure: %d, want 200", st)
		}
	})
}

func TestTenConcurrentAdjustmentsWithOneIdempotencyKeyGetOneAnswerAndWriteOneEntry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		openid := e.member(e.mchID)
		type answer struct {
			status int
			seq    int64
		}
		answers := make([]answer, 10)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Go(func() {
				var body struct {
					Entry struct {
						Seq int64 `json:"seq"`
					} `json:"entry"`
				}
				st := e.do(http.MethodPost, "/api/members/"+e.mchID+"/"+openid+"/adjustments",
					`{"points": 25, "reason": "birthday"}`, http.Header{"Idempotency-Key": {"k-concurrent"}}, &body)
				answers[i] = answer{st, body.Entry.Seq}
			})
		}
		wg.Wait()
		created := 0
		for i, a := range answers {
			if a.status == http.StatusCreated {
				created++
			} else if a.status != http.StatusOK {
				t.Errorf("request %d: status %d, want 201 or the replay's 200", i, a.status)
			}
			if a.seq == 0 || a.seq != answers[0].seq {
				t.Errorf("request %d: entry %d, want the one entry %d", i, a.seq, answers[0].seq)
			}
		}
		if created != 1 {
			t.Errorf("%d requests created the adjustment, want 1", created)
		}
		m := e.memberView(e.mchID, openid)
		adjustments := 0
		for _, en := range m.Entries {
			if en.Kind == "adjustment" {
				adjustments++
			}
		}
		if m.Member.Balance != 25 || adjustments != 1 {
			t.Errorf("balance %d with %d adjustment entries, want 25 and 1", m.Member.Balance, adjustments)
		}
	})
}

func TestRefundsBeyondThePaymentAreClampedAndTheSurplusShown(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{})
		mall := e.mchID
		alice := e.member(mall)
		tx := e.pay(mall, alice, 10000, "")
		e.synced(mall, tx)
		// The sandbox refunds no more than was paid: the three refunds of
		// 6,000 fen come as notifications of their own.
		for i, id := range []string{"r1", "r2", "r3"} {
			a := e.notify("n-refund-"+id, "MALL_REFUND.SUCCESS", `{"mchid":"`+mall+`","appid":"`+appID+`","openid":"`+
				alice+`","transaction_id":"`+tx+`","refund_id":"5000000000000000000000000`+id+`","refund_amount":6000,`+
				`"pay_amount":10000,"refund_time":"`+time.Now().Format(time.RFC3339)+`"}`)
			if a.status != http.StatusNoContent {
				t.Fatalf("refund %d: %d %s", i, a.status, a.body)
			}
		}
		var tr struct {
			Transaction struct {
				Refunded       int64 `json:"refunded"`
				PointsDeducted int64 `json:"points_deducted"`
			} `json:"transaction"`
			Refunds []struct {
				RefundAmount int64 `json:"refund_amount"`
				Surplus      int64 `json:"surplus"`
			} `json:"refunds"`
		}
		if st := e.get("/api/transactions/"+mall+"/"+tx, &tr); st != http.StatusOK {
			t.Fatalf("transaction: %d", st)
		}
		if tr.Transaction.Refunded != 10000 || tr.Transaction.PointsDeducted != 100 {
			t.Errorf("refunded %d, points deducted %d; want 10000 and 100", tr.Transaction.Refunded,
				tr.Transaction.PointsDeducted)
		}
		var surplus int64
		for _, r := range tr.Refunds {
			surplus += r.Surplus
		}
		if len(tr.Refunds) != 3 || surplus != 8000 {
			t.Errorf("refunds %+v: want 3 with 8000 fen of surplus", tr.Refunds)
		}
		if m := e.memberView(mall, alice); m.Member.Balance != 0 {
			t.Errorf("balance %d, want 0", m.Member.Balance)
		}
		page, st := e.page(http.MethodGet, "/transactions/"+mall+"/"+tx, nil)
		if st != http.StatusOK || !strings.Contains(page, "beyond the amount paid") {
			t.Errorf("transaction page: %d, surplus shown: %v", st, strings.Contains(page, "beyond the amount paid"))
		}
	})
}

// WeChat Pay may notify one payment under several ids. Delivered at once,
// each waits for the member's lock; whichever commits first records the
// payment, and the others must see it under the lock rather than record it
// again (on PostgreSQL each statement sees what has committed meanwhile).
func TestOnePaymentNotifiedUnderNineIDsAtOnceIsRecordedOnceAndEveryDeliveryIsAcknowledged(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{replicas: 2})
		openid := e.member(e.mchID)
		// The sandbox delivers the payment under its own id, meanwhile.
		txid := e.pay(e.mchID, openid, 4200, "")
		resource := e.paymentResource(openid, txid, map[string]string{"amount": "4200"})
		answers := make([]notifyAnswer, 8)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Go(func() { answers[i] = e.notify("n-many-"+fmtInt(int64(i)), "MALL_TRANSACTION.SUCCESS", resource) })
		}
		wg.Wait()
		for i, a := range answers {
			if a.status != http.StatusNoContent {
				t.Errorf("delivery %d: %d %s, want 204", i, a.status, a.body)
			}
		}
		got := e.synced(e.mchID, txid)
		if len(got.Entries) != 1 || got.Entries[0].Points != 42 {
			t.Errorf("entries %+v, want one of 42 points", got.Entries)
		}
		if b := e.memberView(e.mchID, openid).Member.Balance; b != 42 {
			t.Errorf("balance %d, want 42", b)
		}
	})
}

package ledger

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/notify"
)

// callerFunc answers decision calls in process; the HTTP call itself is
// package crm's, tested with the service over loopback.
type callerFunc func(id string, body []byte) ([]byte, error)

func (f callerFunc) Call(_ context.Context, _ *rules.Decide, id string, body []byte) ([]byte, error) {
	return f(id, body)
}

// decisionQueue records the decision jobs enqueued.
type decisionQueue struct {
	noQueue
	mu   sync.Mutex
	jobs []string
}

func (q *decisionQueue) EnqueueDecision(_ context.Context, _ *storage.Tx, kind, mall, subject string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, kind+" "+subject)
	return nil
}

// crmRulesFor loads rules in which mall's CRM decides, with a secret file.
func crmRulesFor(t *testing.T, mall string) *rules.Set {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("s", 40)), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rules.yaml")
	yaml := fmt.Sprintf("malls:\n  - mchid: %q\n    decide: {url: \"https://crm.example.com/points\", secret_file: %q}\n", mall, secret)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := rules.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// A refund that arrives while its payment waits for the CRM is recorded
// and deducts nothing; once the payment is decided, the refunds are decided
// in the order they came: by the CRM when it decides the mall's points, by
// the formula when the rules file does by then.
func TestARefundOfAnUndecidedPaymentIsDeductedOnceTheDecisionExists(t *testing.T) {
	t.Parallel()
	const mall = "1900000109"
	for _, db := range testDatabases(t) {
		for _, c := range []struct {
			name         string
			crmStays     bool
			wantDeducted []int64 // of the two refunds, in order
		}{
			// The CRM answers 50 and 30.
			{"the CRM decides the refunds", true, []int64{50, 30}},
			// E = 200 for 20000 fen: floor(200 × 5000 ÷ 20000) = 50, then
			// floor(200 × 8000 ÷ 20000) − 50 = 30, on the running totals.
			{"the rules file decides the refunds", false, []int64{50, 30}},
		} {
			t.Run(db.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				current := rules.NewCurrent(crmRulesFor(t, mall))
				q := &decisionQueue{}
				s := New(openDB(t, db.dsn(t)), q, current, nil)
				down := true
				var mu sync.Mutex
				s.SetCaller(callerFunc(func(id string, body []byte) ([]byte, error) {
					mu.Lock()
					defer mu.Unlock()
					switch {
					case down:
						return nil, errors.New("connection refused")
					case strings.HasPrefix(id, "payment:"):
						return []byte(`{"points": 200}`), nil
					case strings.Contains(string(body), `"refund_amount":5000`):
						return []byte(`{"points": 50}`), nil
					}
					return []byte(`{"points": 30}`), nil
				}))
				const txid = "4200000000000000000000000001"
				n := &notify.Notification{ID: "n-pay", EventType: businesscircle.EventTypeTransactionSuccess}
				if _, err := s.Transaction(ctx, n, &businesscircle.TransactionEvent{MchID: mall, AppID: "wxapp",
					OpenID: "oM", TransactionID: txid, Amount: 20000, TimeEnd: time.Now().Format(time.RFC3339)}); err != nil {
					t.Fatal(err)
				}
				if err := s.Decide(ctx, storage.DecisionOfPayment, mall, txid); err == nil {
					t.Fatal("a failed call decided the payment")
				}
				for i, amount := range []int64{5000, 3000} {
					n := &notify.Notification{ID: fmt.Sprintf("n-refund-%d", i), EventType: businesscircle.EventTypeRefundSuccess}
					if _, err := s.Refund(ctx, n, &businesscircle.RefundEvent{MchID: mall, TransactionID: txid,
						RefundID: fmt.Sprintf("503000000000000000000000000%d", i), RefundAmount: amount}); err != nil {
						t.Fatal(err)
					}
				}
				m, err := s.db.Member(ctx, mall, "oM")
				if err != nil || m.Balance != 0 {
					t.Fatalf("before the decision: balance %d, %v; want 0", m.Balance, err)
				}
				if len(q.jobs) != 1 {
					t.Fatalf("jobs %v: the refunds of an undecided payment must wait for it, not be asked about", q.jobs)
				}

				mu.Lock()
				down = false
				mu.Unlock()
				if !c.crmStays {
					current.Store(rules.Default())
				}
				if err := s.Decide(ctx, storage.DecisionOfPayment, mall, txid); err != nil {
					t.Fatal(err)
				}
				if c.crmStays {
					if want := []string{"payment " + txid, "refund 5030000000000000000000000000", "refund 5030000000000000000000000001"}; fmt.Sprint(q.jobs) != fmt.Sprint(want) {
						t.Fatalf("jobs %v, want %v", q.jobs, want)
					}
					for _, id := range []string{"5030000000000000000000000000", "5030000000000000000000000001"} {
						if err := s.Decide(ctx, storage.DecisionOfRefund, mall, id); err != nil {
							t.Fatal(err)
						}
					}
				}
				refunds, err := s.db.Refunds(ctx, mall, txid)
				if err != nil {
					t.Fatal(err)
				}
				wantState := storage.DecisionCRM
				if !c.crmStays {
					wantState = storage.DecisionByFile
				}
				for i, r := range refunds {
					if r.Deducted != c.wantDeducted[i] || r.Decision != wantState {
						t.Errorf("refund %d: deducted %d (%s), want %d (%s)", i, r.Deducted, r.Decision, c.wantDeducted[i], wantState)
					}
				}
				if m, _ = s.db.Member(ctx, mall, "oM"); m.Balance != 120 {
					t.Errorf("balance %d, want 200 − 50 − 30 = 120", m.Balance)
				}
				// A job run again decides nothing more.
				if err := s.Decide(ctx, storage.DecisionOfRefund, mall, "5030000000000000000000000000"); err != nil {
					t.Fatal(err)
				}
				if sum, err := s.db.BalanceCheck(ctx, mall, "oM"); err != nil || sum != 120 {
					t.Errorf("the entries sum to %d, %v; want 120", sum, err)
				}
			})
		}
	}
}

func TestACRMAnswerOutsideItsBoundsIsRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("分", 43) // 129 bytes
	for _, c := range []struct {
		body  string
		limit int64
		field string // "" accepted
	}{
		{`{"points": 10}`, rules.MaxPoints, ""},
		{`{"points": 0, "remark": "本店不参与积分"}`, rules.MaxPoints, ""},
		{`{"points": 10, "total_points": 500}`, rules.MaxPoints, ""},
		{`{"points": 42, "extra": true}`, 42, ""}, // a field the service does not know is the CRM's own
		{`{}`, rules.MaxPoints, "points"},
		{`{"points": -1}`, rules.MaxPoints, "points"},
		{`{"points": 43}`, 42, "points"}, // a refund's deduction beyond what is left of E
		{`{"points": 1000000000001}`, rules.MaxPoints, "points"},
		{`{"points": 1.5}`, rules.MaxPoints, "body"},
		{`{"points": "10"}`, rules.MaxPoints, "body"},
		{`[10]`, rules.MaxPoints, "body"},
		{`{"points": 1, "remark": "` + long + `"}`, rules.MaxPoints, "remark"},
		{`{"points": 1, "total_points": -5}`, rules.MaxPoints, "total_points"},
	} {
		_, err := parseAnswer([]byte(c.body), c.limit)
		var ae *AnswerError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: refused: %v", c.body, err)
		case c.field != "" && (!errors.As(err, &ae) || ae.Field != c.field):
			t.Errorf("%s: error %v, want one naming %s", c.body, err, c.field)
		}
	}
}

func TestACallIDIsVisibleASCIIWithoutADot(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ kind, mall, subject, want string }{
		{"payment", "1900000109", "4200000001", "payment:1900000109:4200000001"},
		{"refund", "1900000109", "50.30/0 1", "refund:1900000109:50%2E30%2F0%201"},
		{"payment", "1900000109", "订单", "payment:1900000109:%E8%AE%A2%E5%8D%95"},
	} {
		if got := callID(c.kind, c.mall, c.subject); got != c.want {
			t.Errorf("callID(%q, %q, %q) = %q, want %q", c.kind, c.mall, c.subject, got, c.want)
		}
	}
}

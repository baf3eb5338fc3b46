package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// Points decided by the mall's CRM (rules key decide). Intake records such
// a mall's payment with decision pending and inserts a decision job in the
// same transaction; the job (Decide) asks the CRM outside any transaction,
// then writes what it answered with writeEarning, under the member's lock,
// as intake writes what the rules file decides. A refund waits likewise:
// for its payment's decision, then for the CRM's answer about itself.

// Caller makes the signed call of a decision to a mall's CRM and returns
// the body of its 2xx answer: package crm.
type Caller interface {
	Call(ctx context.Context, d *rules.Decide, id string, body []byte) ([]byte, error)
}

// SetCaller sets how the service calls the malls' CRMs; call it before the
// service is used. Without one, a mall whose rules name a CRM has its
// decisions wait (and then park) rather than be decided by the file.
func (s *Service) SetCaller(c Caller) { s.caller = c }

// decidedByCRM reports whether mall's points are decided by its CRM under
// set: its rules name one, with the secret read at load.
func (s *Service) decidedByCRM(set *rules.Set, mall string) bool {
	d := set.Mall(mall).Decide
	return d != nil && d.Secrets() != nil
}

// awaitDecision records payment t of member m to wait for the CRM's
// decision: the payment without points, its sync to be sent once decided,
// and the decision's job.
func (s *Service) awaitDecision(ctx context.Context, tx *storage.Tx, m *storage.Member, t *storage.Transaction) error {
	t.Decision = storage.DecisionPending
	t.PointsUpdateTime = s.now().In(beijing).Format("2006-01-02T15:04:05.000Z07:00")
	t.TotalPoints = m.Balance
	if _, err := tx.InsertTransaction(ctx, t); err != nil {
		return wrap("write payment", err)
	}
	if m.AppID == "" {
		m.AppID = t.AppID
	}
	if err := tx.UpdateMember(ctx, *m); err != nil { // its app id and activity
		return wrap("update member", err)
	}
	return wrap("enqueue decision", s.queue.EnqueueDecision(ctx, tx, storage.DecisionOfPayment, t.Mall, t.TransactionID))
}

// decideWaitingRefunds decides the refunds of payment t that arrived before
// its decision, in the order they arrived: by the formula when the rules
// file decides the mall's points, else each by a job asking the CRM.
func (s *Service) decideWaitingRefunds(ctx context.Context, tx *storage.Tx, set *rules.Set, m *storage.Member, t *storage.Transaction) error {
	refunds, err := tx.UndecidedRefunds(ctx, t.Mall, t.TransactionID)
	if err != nil {
		return wrap("waiting refunds", err)
	}
	crm := s.decidedByCRM(set, t.Mall)
	for _, r := range refunds {
		if crm {
			if err := s.queue.EnqueueDecision(ctx, tx, storage.DecisionOfRefund, r.Mall, r.RefundID); err != nil {
				return wrap("enqueue decision", err)
			}
			continue
		}
		r.Decision = storage.DecisionByFile
		deduct := rules.RefundDeduction(t.Points+t.Bonus, t.Amount, t.Refunded, r.RefundAmount)
		if _, err := s.writeDeduction(ctx, tx, m, t, &r, deduct, false); err != nil {
			return err
		}
	}
	return nil
}

// ErrNoDecision: the payment or refund a decision names does not exist.
var ErrNoDecision = errors.New("ledger: no such payment or refund")

// ErrNotParked: only a parked decision can be retried or decided by the
// rules file.
var ErrNotParked = errors.New("ledger: the decision is not parked")

// decisionRequest is the body of a decision call: the payment (and, for a
// refund, the refund), with what the service knows of the member.
type decisionRequest struct {
	Type          string `json:"type"` // payment or refund
	Mall          string `json:"mall"`
	OpenID        string `json:"openid"`
	TransactionID string `json:"transaction_id"`
	ShopNumber    string `json:"shop_number,omitempty"`
	ShopName      string `json:"shop_name,omitempty"`
	Amount        int64  `json:"amount"`   // fen
	TimeEnd       string `json:"time_end"` // RFC 3339, Beijing time
	Balance       int64  `json:"balance"`  // the member's balance in this service's ledger now
	// A refund's: what it refunds, and the points the payment earned (E),
	// had deducted before, and can still have deducted (the answer's bound).
	RefundID       string `json:"refund_id,omitempty"`
	RefundAmount   int64  `json:"refund_amount,omitempty"`
	RefundedBefore int64  `json:"refunded_before,omitempty"`
	Earned         int64  `json:"earned,omitempty"`
	DeductedBefore int64  `json:"deducted_before,omitempty"`
	MaxDeduction   *int64 `json:"max_deduction,omitempty"`
}

// decisionAnswer is the CRM's answer: the points a payment earns (or a
// refund deducts), the remark synced when a payment earns none, and the
// member's total across the CRM's channels, which the sync sends.
type decisionAnswer struct {
	Points      *int64 `json:"points"`
	Remark      string `json:"remark"`
	TotalPoints *int64 `json:"total_points"`
}

// maxRemark is the most bytes of no_points_remarks WeChat Pay takes.
const maxRemark = 128

// AnswerError is a CRM's answer the service cannot use: it names the field
// and the check.
type AnswerError struct{ Field, Problem string }

func (e *AnswerError) Error() string {
	return fmt.Sprintf("ledger: the CRM's answer: %s: %s", e.Field, e.Problem)
}

// parseAnswer reads and bounds a CRM's answer; limit is the most points it
// may give (a refund's deduction is at most what is left of E).
func parseAnswer(body []byte, limit int64) (decisionAnswer, error) {
	var a decisionAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return a, &AnswerError{"body", "not a JSON object {points, remark?, total_points?}: " + err.Error()}
	}
	switch {
	case a.Points == nil:
		return a, &AnswerError{"points", "missing"}
	case *a.Points < 0 || *a.Points > limit:
		return a, &AnswerError{"points", fmt.Sprintf("must be 0 to %d, got %d", limit, *a.Points)}
	case len(a.Remark) > maxRemark:
		return a, &AnswerError{"remark", fmt.Sprintf("longer than %d bytes", maxRemark)}
	case !utf8.ValidString(a.Remark):
		return a, &AnswerError{"remark", "not UTF-8"}
	case a.TotalPoints != nil && (*a.TotalPoints < 0 || *a.TotalPoints > rules.MaxPoints):
		return a, &AnswerError{"total_points", fmt.Sprintf("must be 0 to %d, got %d", rules.MaxPoints, *a.TotalPoints)}
	}
	return a, nil
}

// crmOutcome is a payment's outcome as the CRM decided it, with its
// explanation: one step naming the CRM's host.
func crmOutcome(set *rules.Set, mall string, a decisionAnswer, room int64) rules.Outcome {
	d := set.Mall(mall).Decide
	host := d.URL
	if u, err := url.Parse(d.URL); err == nil {
		host = u.Host
	}
	o := rules.Outcome{Points: *a.Points, Uncapped: *a.Points, EarnPoints: *a.Points > 0, RuleVersion: set.Version(),
		Explain: fmt.Sprintf("decided by the mall's CRM (%s): %d", host, *a.Points),
		Steps:   []rules.Step{{Step: "crm", Name: host, Points: *a.Points}}}
	if !o.EarnPoints {
		o.NoPointsRemarks, o.Reason = a.Remark, rules.ReasonNoPoints
		if o.NoPointsRemarks == "" {
			o.NoPointsRemarks = set.Mall(mall).Remarks.NoPoints
		}
	}
	return rules.Limit(o, room)
}

// callID is the Mallpoints-Id of a decision call: the same for every
// attempt, so the CRM can tell a repeat. It is kind:mall:subject, with any
// byte other than a letter, a digit, '-' or '_' written %XX: an id is
// visible ASCII without '.', the separator of the signed string.
func callID(kind, mall, subject string) string {
	var b strings.Builder
	b.WriteString(kind)
	for _, part := range []string{mall, subject} {
		b.WriteByte(':')
		for i := 0; i < len(part); i++ {
			switch c := part[i]; {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
				b.WriteByte(c)
			default:
				fmt.Fprintf(&b, "%%%02X", c)
			}
		}
	}
	return b.String()
}

// Decide decides a payment or a refund (kind storage.DecisionOfPayment or
// DecisionOfRefund) waiting for it: it asks the mall's CRM, outside any
// transaction, then writes the answer under the member's lock. When the
// mall's rules no longer name a CRM, the rules file decides. One already
// decided is left as it is, so a job run twice decides once. A failed call
// is noted on the decision and returned, for the job to be retried.
func (s *Service) Decide(ctx context.Context, kind, mall, subject string) error {
	var t storage.Transaction
	var r *storage.Refund
	err := s.db.ReadTx(ctx, func(tx *storage.Tx) error {
		var err error
		if kind == storage.DecisionOfRefund {
			rf, err := tx.Refund(ctx, mall, subject)
			if err != nil {
				return err
			}
			r = &rf
			subject = rf.TransactionID
		}
		t, err = tx.Transaction(ctx, mall, subject)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%w: %s %s of mall %s", ErrNoDecision, kind, subject, mall)
	}
	if err != nil {
		return wrap("read decision", err)
	}
	pending := t.Decision
	if r != nil {
		// A refund is decided after its payment, which enqueues its job
		// again then.
		if t.Decision == storage.DecisionPending || t.Decision == storage.DecisionParked {
			return nil
		}
		pending = r.Decision
	}
	if pending != storage.DecisionPending {
		return nil
	}
	set := s.rules.Load()
	var answer *decisionAnswer
	if s.decidedByCRM(set, mall) {
		a, err := s.ask(ctx, set.Mall(mall).Decide, t, r)
		if err != nil {
			s.noteFailure(ctx, kind, mall, subjectOf(t, r), err)
			return err
		}
		answer = &a
	}
	return s.writeDecision(ctx, set, t, r, answer, storage.DecisionCRM, "")
}

func subjectOf(t storage.Transaction, r *storage.Refund) string {
	if r != nil {
		return r.RefundID
	}
	return t.TransactionID
}

// ask calls the CRM about payment t, or its refund r.
func (s *Service) ask(ctx context.Context, d *rules.Decide, t storage.Transaction, r *storage.Refund) (decisionAnswer, error) {
	if s.caller == nil {
		return decisionAnswer{}, errors.New("ledger: no CRM caller configured")
	}
	m, err := s.db.Member(ctx, t.Mall, t.OpenID)
	if err != nil {
		return decisionAnswer{}, wrap("read member", err)
	}
	req := decisionRequest{Type: storage.DecisionOfPayment, Mall: t.Mall, OpenID: t.OpenID, TransactionID: t.TransactionID,
		ShopNumber: t.ShopNumber, ShopName: t.ShopName, Amount: t.Amount,
		TimeEnd: t.TimeEnd.In(beijing).Format(time.RFC3339), Balance: m.Balance}
	limit := rules.MaxPoints
	id := callID(storage.DecisionOfPayment, t.Mall, t.TransactionID)
	if r != nil {
		limit = max(t.Points+t.Bonus-t.PointsDeducted, 0)
		req.Type, req.RefundID, req.RefundAmount, req.RefundedBefore = storage.DecisionOfRefund, r.RefundID, r.RefundAmount, t.Refunded
		req.Earned, req.DeductedBefore, req.MaxDeduction = t.Points+t.Bonus, t.PointsDeducted, &limit
		id = callID(storage.DecisionOfRefund, t.Mall, r.RefundID)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return decisionAnswer{}, wrap("decision request", err)
	}
	raw, err := s.caller.Call(ctx, d, id, body)
	if err != nil {
		return decisionAnswer{}, err
	}
	return parseAnswer(raw, limit)
}

// noteFailure keeps a failed call's error on the decision, for the
// dashboard; a failure to keep it is only logged, the job retries anyway.
func (s *Service) noteFailure(ctx context.Context, kind, mall, subject string, cause error) {
	note := cause.Error()
	if len(note) > 500 {
		note = note[:500]
	}
	err := s.db.InTx(ctx, func(tx *storage.Tx) error {
		_, err := tx.MoveDecision(ctx, kind, mall, subject, storage.DecisionPending, storage.DecisionPending, note)
		return err
	})
	if err != nil {
		s.log.Warn("ledger: could not note a failed decision call", "kind", kind, "mall", mall, "subject", subject, "error", err)
	}
	s.log.Info("ledger: the mall's CRM did not decide; will retry", "kind", kind, "mall", mall, "subject", subject, "error", note)
}

// writeDecision writes the decision of payment t, or of its refund r: the
// CRM's answer, or the rules file's when answer is nil. state and note are
// what the decision becomes (DecisionCRM; DecisionByFile with who had it
// decided so). It does nothing to one no longer waiting (decided by a
// concurrent job or person).
func (s *Service) writeDecision(ctx context.Context, set *rules.Set, t storage.Transaction, r *storage.Refund,
	answer *decisionAnswer, state, note string) error {
	if answer == nil && state == storage.DecisionCRM {
		state = storage.DecisionByFile
	}
	log := s.log.With("mall", t.Mall, "transaction_id", t.TransactionID)
	return s.db.InTx(ctx, func(tx *storage.Tx) error {
		m, err := tx.LockMember(ctx, t.Mall, t.OpenID, t.AppID)
		if err != nil {
			return wrap("lock member", err)
		}
		// Re-read under the member's lock.
		if t, err = tx.Transaction(ctx, t.Mall, t.TransactionID); err != nil {
			return wrap("read transaction", err)
		}
		if r != nil {
			rf, err := tx.Refund(ctx, r.Mall, r.RefundID)
			if err != nil {
				return wrap("read refund", err)
			}
			if rf.Decision != storage.DecisionPending && rf.Decision != storage.DecisionParked {
				return nil
			}
			rf.Decision, rf.DecisionNote = state, note
			deduct := rules.RefundDeduction(t.Points+t.Bonus, t.Amount, t.Refunded, rf.RefundAmount)
			if answer != nil {
				deduct = *answer.Points
			}
			e, err := s.writeDeduction(ctx, tx, &m, &t, &rf, deduct, false)
			if err == nil {
				log.Info("ledger: refund decided", "refund_id", rf.RefundID, "by", state, "deducted", -e.Points, "balance", e.BalanceAfter)
			}
			return err
		}
		if t.Decision != storage.DecisionPending && t.Decision != storage.DecisionParked {
			return nil
		}
		t.Decision, t.DecisionNote = state, note
		var out rules.Outcome
		if answer != nil {
			out = crmOutcome(set, t.Mall, *answer, rules.MaxPoints-m.Balance)
			t.CRMTotal = answer.TotalPoints
		} else if out, err = decide(ctx, tx, set, m, t, log); err != nil {
			return err
		}
		if err := s.writeEarning(ctx, tx, set, &m, &t, out, false); err != nil {
			return err
		}
		log.Info("ledger: payment decided", "by", state, "points", t.Points, "total_points", t.TotalPoints)
		return nil
	})
}

// ParkDecision parks a decision whose job has failed for a day: it waits
// for a person to retry it or have the rules file decide it.
func (s *Service) ParkDecision(ctx context.Context, kind, mall, subject string, cause error) error {
	note := "parked after a day of failed calls"
	if cause != nil {
		note += ": " + cause.Error()
	}
	if len(note) > 500 {
		note = note[:500]
	}
	err := s.db.InTx(ctx, func(tx *storage.Tx) error {
		_, err := tx.MoveDecision(ctx, kind, mall, subject, storage.DecisionPending, storage.DecisionParked, note)
		return err
	})
	if err == nil {
		s.log.Warn("ledger: decision parked: the mall's CRM failed for a day; retry it or have the rules file decide it",
			"kind", kind, "mall", mall, "subject", subject, "error", cause)
	}
	return wrap("park decision", err)
}

// RetryDecision puts a parked decision back to pending with a new job.
func (s *Service) RetryDecision(ctx context.Context, kind, mall, subject, actor string) error {
	err := s.db.InTx(ctx, func(tx *storage.Tx) error {
		moved, err := tx.MoveDecision(ctx, kind, mall, subject, storage.DecisionParked, storage.DecisionPending, "retried by "+actor)
		if err != nil {
			return err
		}
		if !moved {
			return ErrNotParked
		}
		return s.queue.EnqueueDecision(ctx, tx, kind, mall, subject)
	})
	if err == nil {
		s.log.Info("ledger: parked decision retried", "kind", kind, "mall", mall, "subject", subject, "actor", actor)
	}
	return err
}

// DecideByFile has the rules file decide a parked decision, as asked by
// actor, who is recorded on it.
func (s *Service) DecideByFile(ctx context.Context, kind, mall, subject, actor string) error {
	var t storage.Transaction
	var r *storage.Refund
	err := s.db.ReadTx(ctx, func(tx *storage.Tx) error {
		id := subject
		if kind == storage.DecisionOfRefund {
			rf, err := tx.Refund(ctx, mall, subject)
			if err != nil {
				return err
			}
			r, id = &rf, rf.TransactionID
		}
		var err error
		t, err = tx.Transaction(ctx, mall, id)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%w: %s %s of mall %s", ErrNoDecision, kind, subject, mall)
	}
	if err != nil {
		return wrap("read decision", err)
	}
	state := t.Decision
	if r != nil {
		state = r.Decision
	}
	if state != storage.DecisionParked {
		return ErrNotParked
	}
	err = s.writeDecision(ctx, s.rules.Load(), t, r, nil, storage.DecisionByFile, "decided by the rules file, asked by "+actor)
	if err == nil {
		s.log.Info("ledger: parked decision decided by the rules file", "kind", kind, "mall", mall, "subject", subject, "actor", actor)
	}
	return err
}

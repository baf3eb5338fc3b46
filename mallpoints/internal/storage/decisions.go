package storage

import (
	"context"
	"fmt"
	"time"
)

// The decision of a payment's points or a refund's deduction, in a mall
// whose CRM decides them (rules key decide).
const (
	DecisionFile    = ""        // by the rules file, at intake
	DecisionPending = "pending" // a job is asking the CRM
	DecisionParked  = "parked"  // the CRM failed for a day: a person retries or has the file decide
	DecisionCRM     = "crm"     // by the CRM
	DecisionByFile  = "file"    // by the rules file, after the CRM could not
)

// What a decision is about.
const (
	DecisionOfPayment = "payment"
	DecisionOfRefund  = "refund"
)

// decisionTable is the table and key column of a kind of decision.
func decisionTable(kind string) (table, key string, err error) {
	switch kind {
	case DecisionOfPayment:
		return "transactions", "transaction_id", nil
	case DecisionOfRefund:
		return "refunds", "refund_id", nil
	}
	return "", "", fmt.Errorf("storage: no decision of kind %q", kind)
}

// MoveDecision sets the decision of a payment or refund (kind) that is in
// state from to state to, with note; it reports false when it was not in
// state from.
func (tx *Tx) MoveDecision(ctx context.Context, kind, mall, subject, from, to, note string) (bool, error) {
	table, key, err := decisionTable(kind)
	if err != nil {
		return false, err
	}
	n, err := tx.exec(ctx, `UPDATE `+table+` SET decision = $4, decision_note = $5
		WHERE mall = $1 AND `+key+` = $2 AND decision = $3`, mall, subject, from, to, note)
	if err != nil {
		return false, fmt.Errorf("storage: move decision: %w", err)
	}
	return n == 1, nil
}

// DecideTransaction writes what a decision made of a payment recorded
// undecided: its points and everything the sync sends.
func (tx *Tx) DecideTransaction(ctx context.Context, t *Transaction) error {
	_, err := tx.exec(ctx, `UPDATE transactions SET points = $3, earn_points = $4, no_points_remarks = $5,
		uncapped = $6, capped = $7, rule_version = $8, explain = $9, total_points = $10, points_update_time = $11,
		bonus = $12, tier = $13, steps = $14, decision = $15, decision_note = $16, crm_total = $17
		WHERE mall = $1 AND transaction_id = $2`, t.Mall, t.TransactionID, t.Points, t.EarnPoints, t.NoPointsRemarks,
		t.Uncapped, t.Capped, t.RuleVersion, t.Explain, t.TotalPoints, t.PointsUpdateTime, t.Bonus, t.Tier,
		string(t.Steps), t.Decision, t.DecisionNote, t.CRMTotal)
	if err != nil {
		return fmt.Errorf("storage: decide transaction: %w", err)
	}
	return nil
}

// DecideRefund writes what a decision made of a refund recorded undecided.
func (tx *Tx) DecideRefund(ctx context.Context, r *Refund) error {
	_, err := tx.exec(ctx, `UPDATE refunds SET deducted = $3, shortfall = $4, surplus = $5, decision = $6,
		decision_note = $7 WHERE mall = $1 AND refund_id = $2`, r.Mall, r.RefundID, r.Deducted, r.Shortfall,
		r.Surplus, r.Decision, r.DecisionNote)
	if err != nil {
		return fmt.Errorf("storage: decide refund: %w", err)
	}
	return nil
}

// Undecided is a payment or refund waiting for its decision.
type Undecided struct {
	Kind          string    `json:"kind"` // DecisionOfPayment or DecisionOfRefund
	Mall          string    `json:"mall"`
	Subject       string    `json:"subject"` // transaction_id or refund_id
	TransactionID string    `json:"transaction_id"`
	OpenID        string    `json:"openid"`
	Amount        int64     `json:"amount"` // paid or refunded, fen
	Decision      string    `json:"decision"`
	Note          string    `json:"note,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}

// qUndecided lists the undecided of both kinds, through their partial indexes.
const qUndecided = `SELECT kind, mall, subject, transaction_id, openid, amount, decision, decision_note, created_at
		FROM (SELECT 'payment' AS kind, mall, transaction_id AS subject, transaction_id, openid, amount, decision,
		        decision_note, created_at FROM transactions WHERE decision IN ('pending', 'parked')
		      UNION ALL
		      SELECT 'refund', mall, refund_id, transaction_id, openid, refund_amount, decision, decision_note, created_at
		        FROM refunds WHERE decision IN ('pending', 'parked')) u
		WHERE ($1 = '' OR decision = $1)`

// qUndecidedAfter and qUndecidedOrder end qUndecided, around the
// condition on malls.
const (
	qUndecidedAfter = ` AND (created_at > $3 OR (created_at = $3 AND subject > $4))`
	qUndecidedOrder = ` ORDER BY created_at, subject LIMIT $2`
)

// UndecidedList lists the payments and refunds of scope's malls waiting
// for a decision (state: DecisionPending, DecisionParked, or "" for both),
// oldest first.
func (db *DB) UndecidedList(ctx context.Context, scope Malls, state string, limit int) ([]Undecided, error) {
	return db.UndecidedAfter(ctx, scope, state, Undecided{}, limit)
}

// UndecidedAfter is UndecidedList's page after the decision after (its
// CreatedAt and Subject; the zero Undecided: from the oldest).
func (db *DB) UndecidedAfter(ctx context.Context, scope Malls, state string, after Undecided, limit int) ([]Undecided, error) {
	in, args := scope.and("mall", 5)
	rs, err := db.query(ctx, qUndecided+qUndecidedAfter+in+qUndecidedOrder,
		append([]any{state, limit, micros(after.CreatedAt), after.Subject}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("storage: undecided: %w", err)
	}
	return collect(rs, func(r row) (Undecided, error) {
		var u Undecided
		var at int64
		err := r.Scan(&u.Kind, &u.Mall, &u.Subject, &u.TransactionID, &u.OpenID, &u.Amount, &u.Decision, &u.Note, &at)
		u.CreatedAt = fromMicros(at)
		return u, err
	})
}

const qDecisionCounts = `SELECT decision, COUNT(*), MIN(created_at) FROM (
		SELECT decision, created_at, mall FROM transactions WHERE decision IN ('pending', 'parked')
		UNION ALL SELECT decision, created_at, mall FROM refunds WHERE decision IN ('pending', 'parked')) u WHERE 1 = 1`

// DecisionCounts counts the payments and refunds of scope's malls waiting
// for a decision, by state, with the age of the oldest of each state.
func (db *DB) DecisionCounts(ctx context.Context, scope Malls) (map[string]int64, map[string]time.Time, error) {
	cond, args := scope.and("mall", 1)
	rs, err := db.query(ctx, qDecisionCounts+cond+` GROUP BY decision`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("storage: decision counts: %w", err)
	}
	defer rs.Close()
	counts, oldest := map[string]int64{}, map[string]time.Time{}
	for rs.Next() {
		var state string
		var n, at int64
		if err := rs.Scan(&state, &n, &at); err != nil {
			return nil, nil, fmt.Errorf("storage: decision counts: %w", err)
		}
		counts[state], oldest[state] = n, fromMicros(at)
	}
	return counts, oldest, rs.Err()
}

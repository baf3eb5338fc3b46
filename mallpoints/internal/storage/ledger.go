package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Entry kinds: what caused a ledger entry.
const (
	EntryEarn       = "earn"       // a payment (transaction_id)
	EntryRefund     = "refund"     // a refund (refund_id)
	EntryAdjustment = "adjustment" // the mall's own systems (idempotency_key)
	// EntryExpire (lots.go): an expiry run (idempotency_key "expire:" and its date)
)

// Entry is one ledger entry. Entries are never changed once written, except
// that erasing a member replaces its openid.
type Entry struct {
	// Seq is the feed cursor: entries are numbered in commit order.
	Seq    int64  `json:"seq"`
	Mall   string `json:"mall"`
	OpenID string `json:"openid"`
	Kind   string `json:"kind"`
	// Points is the change applied to the balance; Requested is the change
	// the cause asked for, and Shortfall what could not be deducted because
	// the balance would have gone below zero (Requested = Points - Shortfall
	// for deductions).
	Points         int64     `json:"points"`
	Requested      int64     `json:"requested"`
	Shortfall      int64     `json:"shortfall"`
	BalanceAfter   int64     `json:"balance_after"`
	TransactionID  string    `json:"transaction_id,omitempty"`
	RefundID       string    `json:"refund_id,omitempty"`
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	NotificationID string    `json:"notification_id,omitempty"`
	CommitTag      string    `json:"commit_tag,omitempty"`
	RuleVersion    string    `json:"rule_version,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	// Steps is an earning's explanation as data (rules.Step, as JSON):
	// Reason is its sentence, for display. Empty for other kinds and for
	// entries written before the points programme.
	Steps json.RawMessage `json:"steps,omitempty"`
}

const (
	entryColumns = `seq, ` + entryValues
	entryValues  = `mall, openid, kind, points, requested, shortfall, balance_after, transaction_id, refund_id,
	idempotency_key, notification_id, commit_tag, rule_version, reason, created_at, steps`
)

func scanEntry(r row) (Entry, error) {
	var e Entry
	var created int64
	var steps string
	err := r.Scan(&e.Seq, &e.Mall, &e.OpenID, &e.Kind, &e.Points, &e.Requested, &e.Shortfall, &e.BalanceAfter,
		&e.TransactionID, &e.RefundID, &e.IdempotencyKey, &e.NotificationID, &e.CommitTag, &e.RuleVersion,
		&e.Reason, &created, &steps)
	e.CreatedAt, e.Steps = fromMicros(created), rawJSON(steps)
	return e, noRows(err)
}

// AppendEntry numbers e and writes it. Call it as the last write of the
// transaction, so that entries are numbered in the order their
// transactions commit and a feed reader that has seen seq n has seen every
// entry below n (dialect.appendEntry).
func (tx *Tx) AppendEntry(ctx context.Context, e *Entry) error {
	e.CreatedAt = time.Now().UTC()
	if err := tx.queryRow(ctx, tx.db.dialect.appendEntry, e.args()...).Scan(&e.Seq); err != nil {
		return fmt.Errorf("storage: write ledger entry: %w", err)
	}
	return nil
}

// args are e's columns after seq, in entryColumns order.
func (e *Entry) args() []any {
	return []any{e.Mall, e.OpenID, e.Kind, e.Points, e.Requested, e.Shortfall, e.BalanceAfter, e.TransactionID,
		e.RefundID, e.IdempotencyKey, e.NotificationID, e.CommitTag, e.RuleVersion, e.Reason, micros(e.CreatedAt),
		string(e.Steps)}
}

// rawJSON is a JSON column as written; nil when empty, so that it is left
// out of the API's answers.
func rawJSON(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

// MemberEntries lists a member's entries, newest first, at most limit.
func (db *DB) MemberEntries(ctx context.Context, mall, openid string, limit int) ([]Entry, error) {
	rs, err := db.query(ctx, `SELECT `+entryColumns+` FROM ledger_entries
		WHERE mall = $1 AND openid = $2 ORDER BY seq DESC LIMIT $3`, mall, openid, limit)
	if err != nil {
		return nil, fmt.Errorf("storage: member entries: %w", err)
	}
	return collect(rs, scanEntry)
}

// TransactionEntries lists the entries of a payment: its earning and its
// refunds, oldest first.
func (db *DB) TransactionEntries(ctx context.Context, mall, transactionID string) ([]Entry, error) {
	rs, err := db.query(ctx, `SELECT `+entryColumns+` FROM ledger_entries
		WHERE mall = $1 AND transaction_id = $2 ORDER BY seq`, mall, transactionID)
	if err != nil {
		return nil, fmt.Errorf("storage: transaction entries: %w", err)
	}
	return collect(rs, scanEntry)
}

// EntriesAfter is the CRM feed: entries of scope's malls numbered above
// after, in commit order, at most limit.
func (db *DB) EntriesAfter(ctx context.Context, scope Malls, after int64, limit int) ([]FeedEntry, error) {
	in, args := scope.and("mall", 3)
	rs, err := db.query(ctx, `SELECT `+entryColumns+feedColumns+` FROM ledger_entries
		WHERE seq > $1`+in+` ORDER BY seq LIMIT $2`, append([]any{after, limit}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("storage: feed: %w", err)
	}
	return collect(rs, scanFeedEntry)
}

// FeedEntry is a ledger entry as the CRM feed gives it: with the payment's
// shop and the amount the entry is about, and the member's CRM ids. The
// member's phone and birthday are never in it.
type FeedEntry struct {
	Entry
	// ShopNumber is the payment's shop, for an earning or a refund.
	ShopNumber string `json:"shop_number,omitempty"`
	// Amount is the payment's amount (an earning) or the refund's
	// refund_amount (a refund), in fen; 0 for other entries.
	Amount int64 `json:"amount,omitempty"`
	// MemberID and UnionID are the member's CRM ids as they are now (see
	// PUT /api/members); empty when unknown, and after erasure.
	MemberID string `json:"member_id,omitempty"`
	UnionID  string `json:"unionid,omitempty"`
}

// feedColumns follow entryColumns in the feed: each a seek of a primary
// key (transactions, refunds, members) by the entry's own columns.
const feedColumns = `,
	COALESCE((SELECT t.shop_number FROM transactions t WHERE t.mall = ledger_entries.mall
		AND t.transaction_id = ledger_entries.transaction_id), ''),
	COALESCE(CASE WHEN ledger_entries.refund_id <> '' THEN (SELECT r.refund_amount FROM refunds r
		WHERE r.mall = ledger_entries.mall AND r.refund_id = ledger_entries.refund_id)
		WHEN ledger_entries.transaction_id <> '' THEN (SELECT t.amount FROM transactions t
		WHERE t.mall = ledger_entries.mall AND t.transaction_id = ledger_entries.transaction_id) END, 0),
	COALESCE((SELECT m.member_id FROM members m WHERE m.mall = ledger_entries.mall AND m.openid = ledger_entries.openid), ''),
	COALESCE((SELECT m.unionid FROM members m WHERE m.mall = ledger_entries.mall AND m.openid = ledger_entries.openid), '')`

func scanFeedEntry(r row) (FeedEntry, error) {
	var f FeedEntry
	var created int64
	var steps string
	e := &f.Entry
	err := r.Scan(&e.Seq, &e.Mall, &e.OpenID, &e.Kind, &e.Points, &e.Requested, &e.Shortfall, &e.BalanceAfter,
		&e.TransactionID, &e.RefundID, &e.IdempotencyKey, &e.NotificationID, &e.CommitTag, &e.RuleVersion,
		&e.Reason, &created, &steps, &f.ShopNumber, &f.Amount, &f.MemberID, &f.UnionID)
	e.CreatedAt, e.Steps = fromMicros(created), rawJSON(steps)
	return f, noRows(err)
}

// BalanceCheck sums a member's entries, which must equal its balance.
func (db *DB) BalanceCheck(ctx context.Context, mall, openid string) (sum int64, err error) {
	err = db.queryRow(ctx, `SELECT COALESCE(SUM(points), 0) FROM ledger_entries WHERE mall = $1 AND openid = $2`,
		mall, openid).Scan(&sum)
	return sum, err
}

const qEntry = `SELECT ` + entryColumns + ` FROM ledger_entries WHERE seq = $1`

// Entry reads one ledger entry by its number.
func (db *DB) Entry(ctx context.Context, seq int64) (Entry, error) {
	return scanEntry(db.queryRow(ctx, qEntry, seq))
}

// Entry reads one ledger entry by its number, inside tx.
func (tx *Tx) Entry(ctx context.Context, seq int64) (Entry, error) {
	return scanEntry(tx.queryRow(ctx, qEntry, seq))
}

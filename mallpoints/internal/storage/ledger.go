package storage

import (
	"context"
	"encoding/json"
	"errors"
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
	// Seq is the entry's number and the feed's cursor: unique, and in the
	// order the mall's entries commit (dialect.appendEntry).
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

// AppendEntry numbers e and writes it, with its webhook event (EventOf).
// Call it as the last write of the transaction: from here to the commit
// the entry holds its mall's turn, which the mall's next entry waits for
// (dialect.appendEntry), so the mall's entries are numbered in the order
// they commit and a reader of its feed that has seen seq n has seen every
// entry of the mall below n.
func (tx *Tx) AppendEntry(ctx context.Context, e *Entry) error {
	e.CreatedAt = time.Now().UTC()
	if err := tx.queryRow(ctx, tx.db.dialect.appendEntry, e.args()...).Scan(&e.Seq); err != nil {
		return fmt.Errorf("storage: write ledger entry: %w", err)
	}
	return tx.appendEntryEvent(ctx, e)
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
	return db.MemberEntriesBefore(ctx, mall, openid, 0, limit)
}

// MemberEntriesBefore lists a member's entries numbered below before (0:
// from the newest), newest first, at most limit: the pages of a member's
// ledger.
func (db *DB) MemberEntriesBefore(ctx context.Context, mall, openid string, before int64, limit int) ([]Entry, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	rs, err := db.query(ctx, `SELECT `+entryColumns+` FROM ledger_entries
		WHERE mall = $1 AND openid = $2 AND seq < $3 ORDER BY seq DESC LIMIT $4`, mall, openid, before, limit)
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

// ErrSeveralMalls is EntriesAfter's answer for the feed of every mall once
// the ledger holds entries of more than one: seq is each mall's commit
// order, not the ledger's, so a reader following every mall with one cursor
// could skip an entry that commits after a higher seq of another mall.
var ErrSeveralMalls = errors.New("storage: the ledger holds entries of several malls: follow each mall's feed")

const (
	qMallEntriesAfter = `SELECT ` + entryColumns + feedColumns + ` FROM ledger_entries
		WHERE mall = $1 AND seq > $2 ORDER BY seq LIMIT $3`
	qEntriesAfter = `SELECT ` + entryColumns + feedColumns + ` FROM ledger_entries WHERE seq > $1 ORDER BY seq LIMIT $2`
	// Two seeks on ledger_by_mall.
	qMallRange = `SELECT (SELECT MIN(mall) FROM ledger_entries), (SELECT MAX(mall) FROM ledger_entries)`
)

// EntriesAfter is the CRM feed: mall's entries numbered above after, in
// commit order, at most limit. A reader that asks again after the last seq
// it was given never misses an entry (dialect.appendEntry). With mall ""
// it lists every mall's entries in seq order, and answers ErrSeveralMalls
// unless they are one mall's; confined to one mall (scope), that mall's.
// The caller checks that scope sees mall.
func (db *DB) EntriesAfter(ctx context.Context, scope Malls, mall string, after int64, limit int) ([]FeedEntry, error) {
	switch {
	case mall == "" && len(scope) == 1:
		mall = scope[0]
	case mall == "" && len(scope) > 1:
		return nil, ErrSeveralMalls
	}
	if mall != "" {
		rs, err := db.query(ctx, qMallEntriesAfter, mall, after, limit)
		if err != nil {
			return nil, fmt.Errorf("storage: feed: %w", err)
		}
		return collect(rs, scanFeedEntry)
	}
	var list []FeedEntry
	// One snapshot for both reads: what is listed is of the one mall seen.
	err := db.ReadTx(ctx, func(tx *Tx) error {
		var lowest, highest *string
		if err := tx.queryRow(ctx, qMallRange).Scan(&lowest, &highest); err != nil {
			return err
		}
		if lowest != nil && *lowest != *highest {
			return ErrSeveralMalls
		}
		rs, err := tx.query(ctx, qEntriesAfter, after, limit)
		if err != nil {
			return err
		}
		list, err = collect(rs, scanFeedEntry)
		return err
	})
	if err != nil && !errors.Is(err, ErrSeveralMalls) {
		return nil, fmt.Errorf("storage: feed: %w", err)
	}
	return list, err
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

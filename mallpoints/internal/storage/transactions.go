package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Transaction is a payment and what the rules made of it, with the sync
// that reports it to WeChat Pay.
type Transaction struct {
	Mall             string    `json:"mall"`
	TransactionID    string    `json:"transaction_id"`
	NotificationID   string    `json:"notification_id"`
	OpenID           string    `json:"openid"`
	AppID            string    `json:"appid"`
	ShopNumber       string    `json:"shop_number"`
	ShopName         string    `json:"shop_name"`
	Amount           int64     `json:"amount"`
	TimeEnd          time.Time `json:"time_end"`
	CommitTag        string    `json:"commit_tag,omitempty"`
	Points           int64     `json:"points"`
	EarnPoints       bool      `json:"earn_points"`
	NoPointsRemarks  string    `json:"no_points_remarks,omitempty"`
	Uncapped         int64     `json:"uncapped"`
	Capped           bool      `json:"capped"`
	RuleVersion      string    `json:"rule_version"`
	Explain          string    `json:"explain,omitempty"`
	TotalPoints      int64     `json:"total_points"`
	PointsUpdateTime string    `json:"points_update_time"`
	Refunded         int64     `json:"refunded"`
	PointsDeducted   int64     `json:"points_deducted"`
	SyncID           int64     `json:"sync_id"`
	CreatedAt        time.Time `json:"created_at"`
	// Bonus is the first_payment_bonus the payment took, apart from Points:
	// the member gained Points + Bonus, a refund deducts from both, the sync
	// sends both as increased_points, and caps count Points only.
	Bonus int64 `json:"bonus"`
	// Tier is the member's tier when it paid; "" without tiers.
	Tier string `json:"tier,omitempty"`
	// Steps is the explanation as data (rules.Step, as JSON); Explain is its
	// sentence, for display.
	Steps json.RawMessage `json:"steps,omitempty"`
	// Decision is who decided the points: "" the rules file at intake, or
	// one of the Decision states of a mall whose CRM decides.
	Decision string `json:"decision,omitempty"`
	// DecisionNote is the last failure of an undecided payment, or who had
	// a parked one decided by the rules file.
	DecisionNote string `json:"decision_note,omitempty"`
	// CRMTotal is the member's total the CRM gave with its decision, which
	// the sync sends as total_points; nil: the ledger's balance.
	CRMTotal *int64 `json:"crm_total,omitempty"`
	// Sync is the state of the points sync, read with the transaction.
	Sync *Sync `json:"sync,omitempty"`
}

const transactionColumns = `t.mall, t.transaction_id, t.notification_id, t.openid, t.appid, t.shop_number,
	t.shop_name, t.amount, t.time_end, t.commit_tag, t.points, t.earn_points, t.no_points_remarks, t.uncapped,
	t.capped, t.rule_version, t.explain, t.total_points, t.points_update_time, t.refunded, t.points_deducted,
	t.sync_id, t.created_at, t.bonus, t.tier, t.steps, t.decision, t.decision_note, t.crm_total`

func scanTransactionSync(r row) (Transaction, error) { return scanTransactionSyncAnd(r) }

// scanTransactionSyncAnd scans a payment, its sync and then extra columns.
func scanTransactionSyncAnd(r row, extra ...any) (Transaction, error) {
	var t Transaction
	var s Sync
	var timeEnd, created int64
	var steps string
	dest := []any{&t.Mall, &t.TransactionID, &t.NotificationID, &t.OpenID, &t.AppID, &t.ShopNumber,
		&t.ShopName, &t.Amount, &timeEnd, &t.CommitTag, &t.Points, &t.EarnPoints, &t.NoPointsRemarks, &t.Uncapped,
		&t.Capped, &t.RuleVersion, &t.Explain, &t.TotalPoints, &t.PointsUpdateTime, &t.Refunded, &t.PointsDeducted,
		&t.SyncID, &created, &t.Bonus, &t.Tier, &steps, &t.Decision, &t.DecisionNote, &t.CRMTotal}
	sdest, finish := syncDest(&s)
	if err := r.Scan(append(append(dest, sdest...), extra...)...); err != nil {
		return t, noRows(err)
	}
	finish()
	t.TimeEnd, t.CreatedAt = fromMicros(timeEnd), fromMicros(created)
	t.Steps = rawJSON(steps)
	t.Sync = &s
	return t, nil
}

const transactionSyncFrom = ` FROM transactions t JOIN syncs s ON s.id = t.sync_id`

// InsertTransaction writes a payment unless (mall, transaction_id) is
// known, and reports whether it was new.
func (tx *Tx) InsertTransaction(ctx context.Context, t *Transaction) (bool, error) {
	t.CreatedAt = time.Now().UTC()
	c, err := tx.exec(ctx, `INSERT INTO transactions (mall, transaction_id, notification_id, openid, appid,
		shop_number, shop_name, amount, time_end, commit_tag, points, earn_points, no_points_remarks, uncapped,
		capped, rule_version, explain, total_points, points_update_time, refunded, points_deducted, sync_id, created_at,
		bonus, tier, steps, decision, decision_note, crm_total)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
		$24, $25, $26, $27, $28, $29)
		ON CONFLICT (mall, transaction_id) DO NOTHING`,
		t.Mall, t.TransactionID, t.NotificationID, t.OpenID, t.AppID, t.ShopNumber, t.ShopName, t.Amount,
		micros(t.TimeEnd), t.CommitTag, t.Points, t.EarnPoints, t.NoPointsRemarks, t.Uncapped, t.Capped,
		t.RuleVersion, t.Explain, t.TotalPoints, t.PointsUpdateTime, t.Refunded, t.PointsDeducted, t.SyncID,
		micros(t.CreatedAt), t.Bonus, t.Tier, string(t.Steps), t.Decision, t.DecisionNote, t.CRMTotal)
	if err != nil {
		return false, fmt.Errorf("storage: write transaction: %w", err)
	}
	return c == 1, nil
}

// TransactionExists reports whether (mall, transaction_id) is recorded.
func (tx *Tx) TransactionExists(ctx context.Context, mall, transactionID string) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM transactions WHERE mall = $1 AND transaction_id = $2`,
		mall, transactionID).Scan(&n)
	return n > 0, err
}

const qTransaction = `SELECT ` + transactionColumns + `, ` + syncColumns + transactionSyncFrom + `
	WHERE t.mall = $1 AND t.transaction_id = $2`

// Transaction reads a payment with its sync, inside tx.
func (tx *Tx) Transaction(ctx context.Context, mall, transactionID string) (Transaction, error) {
	return scanTransactionSync(tx.queryRow(ctx, qTransaction, mall, transactionID))
}

// Transaction reads a payment with its sync.
func (db *DB) Transaction(ctx context.Context, mall, transactionID string) (Transaction, error) {
	return scanTransactionSync(db.queryRow(ctx, qTransaction, mall, transactionID))
}

// TransactionFilter selects payments for listing.
type TransactionFilter struct {
	Mall      string // empty: every mall
	Malls     Malls  // the malls the reader may see; empty: every mall
	OpenID    string // empty: every member
	SyncState string // empty: any
	Before    int64  // created_at cursor in microseconds; 0: the newest
	Limit     int
}

// Transactions lists payments newest first.
func (db *DB) Transactions(ctx context.Context, f TransactionFilter) ([]Transaction, error) {
	before := f.Before
	if before == 0 {
		before = 1<<63 - 1
	}
	in, args := f.Malls.and("t.mall", 6)
	rs, err := db.query(ctx, `SELECT `+transactionColumns+`, `+syncColumns+transactionSyncFrom+`
		WHERE ($1 = '' OR t.mall = $1) AND ($2 = '' OR t.openid = $2) AND ($3 = '' OR s.state = $3)
		AND t.created_at < $4`+in+` ORDER BY t.created_at DESC LIMIT $5`,
		append([]any{f.Mall, f.OpenID, f.SyncState, before, f.Limit}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("storage: transactions: %w", err)
	}
	return collect(rs, scanTransactionSync)
}

// EarnedBetween sums the points a member earned from payments whose time_end
// falls in [from, to): what the daily and monthly caps count (points after
// caps, without bonuses, not reduced by refunds).
func (tx *Tx) EarnedBetween(ctx context.Context, mall, openid string, from, to time.Time) (int64, error) {
	var sum int64
	err := tx.queryRow(ctx, `SELECT COALESCE(SUM(points), 0) FROM transactions
		WHERE mall = $1 AND openid = $2 AND time_end >= $3 AND time_end < $4`,
		mall, openid, micros(from), micros(to)).Scan(&sum)
	if err != nil {
		return 0, fmt.Errorf("storage: points earned today: %w", err)
	}
	return sum, nil
}

// TierSpend is a member's spend for its tier at a payment: the amounts of
// the member's payments at mall recorded so far whose time_end falls in
// [from, to), less what was refunded of them. Read it before writing the
// payment it is for.
func (tx *Tx) TierSpend(ctx context.Context, mall, openid string, from, to time.Time) (int64, error) {
	var sum int64
	err := tx.queryRow(ctx, `SELECT COALESCE(SUM(amount - refunded), 0) FROM transactions
		WHERE mall = $1 AND openid = $2 AND time_end >= $3 AND time_end < $4`,
		mall, openid, micros(from), micros(to)).Scan(&sum)
	if err != nil {
		return 0, fmt.Errorf("storage: tier spend: %w", err)
	}
	return sum, nil
}

// HasEarned reports whether a member has a payment at mall that earned
// points or a bonus: one that has, never takes first_payment_bonus.
func (tx *Tx) HasEarned(ctx context.Context, mall, openid string) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM transactions
		WHERE mall = $1 AND openid = $2 AND (points > 0 OR bonus > 0) LIMIT 1) e`, mall, openid).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("storage: earned before: %w", err)
	}
	return n > 0, nil
}

// TransactionBySync reads the payment a sync reports, and its member's
// balance now: the total_points a sync sends, whatever came after the
// payment. It finds the sync by its id and the payment by its key, the
// sync's subject, so no index of transactions by sync_id has to be written
// with every payment.
func (db *DB) TransactionBySync(ctx context.Context, syncID int64) (t Transaction, balance int64, err error) {
	t, err = scanTransactionSyncAnd(db.queryRow(ctx, `SELECT `+transactionColumns+`, `+syncColumns+`, m.balance`+
		qTransactionBySync, syncID, SyncPoints), &balance)
	return t, balance, err
}

const qTransactionBySync = ` FROM syncs s JOIN transactions t ON t.mall = s.mall AND t.transaction_id = s.subject
	JOIN members m ON m.mall = t.mall AND m.openid = t.openid
	WHERE s.id = $1 AND s.kind = $2 AND t.sync_id = s.id`

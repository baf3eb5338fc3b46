package storage

import (
	"context"
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
	// Sync is the state of the points sync, read with the transaction.
	Sync *Sync `json:"sync,omitempty"`
}

const transactionColumns = `t.mall, t.transaction_id, t.notification_id, t.openid, t.appid, t.shop_number,
	t.shop_name, t.amount, t.time_end, t.commit_tag, t.points, t.earn_points, t.no_points_remarks, t.uncapped,
	t.capped, t.rule_version, t.explain, t.total_points, t.points_update_time, t.refunded, t.points_deducted,
	t.sync_id, t.created_at`

func scanTransactionSync(r row) (Transaction, error) { return scanTransactionSyncAnd(r) }

// scanTransactionSyncAnd scans a payment, its sync and then extra columns.
func scanTransactionSyncAnd(r row, extra ...any) (Transaction, error) {
	var t Transaction
	var s Sync
	var timeEnd, created int64
	dest := []any{&t.Mall, &t.TransactionID, &t.NotificationID, &t.OpenID, &t.AppID, &t.ShopNumber,
		&t.ShopName, &t.Amount, &timeEnd, &t.CommitTag, &t.Points, &t.EarnPoints, &t.NoPointsRemarks, &t.Uncapped,
		&t.Capped, &t.RuleVersion, &t.Explain, &t.TotalPoints, &t.PointsUpdateTime, &t.Refunded, &t.PointsDeducted,
		&t.SyncID, &created}
	sdest, finish := syncDest(&s)
	if err := r.Scan(append(append(dest, sdest...), extra...)...); err != nil {
		return t, noRows(err)
	}
	finish()
	t.TimeEnd, t.CreatedAt = fromMicros(timeEnd), fromMicros(created)
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
		capped, rule_version, explain, total_points, points_update_time, refunded, points_deducted, sync_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
		ON CONFLICT (mall, transaction_id) DO NOTHING`,
		t.Mall, t.TransactionID, t.NotificationID, t.OpenID, t.AppID, t.ShopNumber, t.ShopName, t.Amount,
		micros(t.TimeEnd), t.CommitTag, t.Points, t.EarnPoints, t.NoPointsRemarks, t.Uncapped, t.Capped,
		t.RuleVersion, t.Explain, t.TotalPoints, t.PointsUpdateTime, t.Refunded, t.PointsDeducted, t.SyncID,
		micros(t.CreatedAt))
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
	rs, err := db.query(ctx, `SELECT `+transactionColumns+`, `+syncColumns+transactionSyncFrom+`
		WHERE ($1 = '' OR t.mall = $1) AND ($2 = '' OR t.openid = $2) AND ($3 = '' OR s.state = $3)
		AND t.created_at < $4 ORDER BY t.created_at DESC LIMIT $5`, f.Mall, f.OpenID, f.SyncState, before, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("storage: transactions: %w", err)
	}
	return collect(rs, scanTransactionSync)
}

// EarnedBetween sums the points a member earned from payments whose time_end
// falls in [from, to): what the daily cap counts.
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

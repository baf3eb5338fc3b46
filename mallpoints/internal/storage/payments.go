package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// A payment's transaction reads before it writes, and it writes once the
// rules have spoken: OpenPayment and WritePayment. On SQLite they run the
// Tx methods one statement after another. On PostgreSQL, where each
// statement is a round trip, each is one round trip: the statements go
// together in a pipeline (pgx batch), run by the server one after another,
// each with its own snapshot, as if sent one by one.

// PaymentIntake is what OpenPayment found.
type PaymentIntake struct {
	// New is false when the notification's id was recorded before; then
	// nothing else was read or written.
	New bool
	// Member is the payer, created if unseen and locked until the
	// transaction ends.
	Member Member
	// Known is true when (mall, transaction_id) is recorded: a new
	// notification id for a payment already applied.
	Known bool
	// Earned is the points the payer earned in the range OpenPayment was
	// given.
	Earned int64
	// syncID is the id reserved on PostgreSQL for the payment's sync.
	syncID int64
}

// OpenPayment records notification n of the payment (n.Mall,
// transactionID) by openid. When n's id is new and the payment is not
// recorded (TransactionExists), it also creates the member if unseen and
// locks it (LockMember); on PostgreSQL it then tells, under that lock,
// whether a concurrent transaction recorded the payment meanwhile. When the
// payment is new and earned is not nil, it sums the points the member earned
// from payments whose time_end is in [earned[0], earned[1]) (EarnedBetween).
// A second delivery of n's id waits for the first one's transaction, then
// finds it recorded. A known payment never creates or locks its member.
func (tx *Tx) OpenPayment(ctx context.Context, n Notification, openid, appid, transactionID string, earned *[2]time.Time) (PaymentIntake, error) {
	var in PaymentIntake
	if tx.db.engine != Postgres {
		var err error
		if in.New, err = tx.RecordNotification(ctx, n); err != nil || !in.New {
			return in, err
		}
		// Known before the member: a new notification id for a payment
		// already recorded must not create its payer, nor bring an erased
		// payer's openid back. SQLite runs one writer at a time, so nothing
		// can record the payment between this read and the commit.
		if in.Known, err = tx.TransactionExists(ctx, n.Mall, transactionID); err != nil || in.Known {
			return in, err
		}
		if in.Member, err = tx.LockMember(ctx, n.Mall, openid, appid); err != nil || earned == nil {
			return in, err
		}
		in.Earned, err = tx.EarnedBetween(ctx, n.Mall, openid, earned[0], earned[1])
		return in, err
	}
	now := micros(tx.db.now())
	b := &pgx.Batch{}
	// The member is created or locked only if the notification row was
	// inserted, and only if the payment is not recorded yet: neither a
	// redelivery nor a new notification id for a recorded payment may
	// create its payer or bring back an erased member's openid. The row is
	// there when the notification is new; its first column says whether the
	// member was locked. A payment recorded by a transaction that commits
	// while this one waits for the member's lock is seen by the check below.
	b.Queue(`WITH n AS (
			INSERT INTO notifications (id, event_type, mall, business_key, outcome, request_id, received_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING id
		), m AS (
			INSERT INTO members (mall, openid, appid, created_at, updated_at) SELECT $3, $8::text, $9::text, $7, $7 FROM n
			WHERE NOT EXISTS (SELECT 1 FROM transactions WHERE mall = $3 AND transaction_id = $10)
			ON CONFLICT (mall, openid) DO UPDATE SET balance = members.balance
			RETURNING `+memberColumns+`
		)
		SELECT m.mall IS NOT NULL, m.* FROM n LEFT JOIN m ON true`,
		n.ID, n.EventType, n.Mall, n.BusinessKey, n.Outcome, n.RequestID, now, openid, appid, transactionID)
	b.Queue(`SELECT EXISTS (SELECT 1 FROM transactions WHERE mall = $1 AND transaction_id = $2)`, n.Mall, transactionID)
	if earned != nil {
		b.Queue(`SELECT COALESCE(SUM(points), 0) FROM transactions
			WHERE mall = $1 AND openid = $2 AND time_end >= $3 AND time_end < $4`,
			n.Mall, openid, micros(earned[0]), micros(earned[1]))
	}
	b.Queue(`SELECT nextval('syncs_id_seq')`)
	br := tx.pgTx.SendBatch(ctx, b)
	defer br.Close()
	var locked bool
	var m lockedMember
	err := br.QueryRow().Scan(&locked, &m.mall, &m.openid, &m.appid, &m.authType, &m.balance, &m.erased, &m.created, &m.updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return PaymentIntake{}, br.Close()
	} else if err != nil {
		return in, fmt.Errorf("storage: record notification and lock member: %w", err)
	}
	in.New = true
	if !locked {
		in.Known = true
		return in, br.Close()
	}
	in.Member = m.member()
	if err := br.QueryRow().Scan(&in.Known); err != nil {
		return in, fmt.Errorf("storage: find transaction: %w", err)
	}
	if earned != nil {
		if err := br.QueryRow().Scan(&in.Earned); err != nil {
			return in, fmt.Errorf("storage: points earned today: %w", err)
		}
	}
	if err := br.QueryRow().Scan(&in.syncID); err != nil {
		return in, fmt.Errorf("storage: number sync: %w", err)
	}
	return in, br.Close()
}

// WritePayment writes a new payment t, opened with in, with its pending
// points sync, whose id it sets in t.SyncID; the payer m's new balance; and
// ledger entry e, numbered as AppendEntry does, as the transaction's last
// write. enqueue runs in between, once the sync's id is known, to insert its
// job in the transaction.
func (tx *Tx) WritePayment(ctx context.Context, in PaymentIntake, t *Transaction, m Member, e *Entry, enqueue func(syncID int64) error) error {
	if tx.db.engine != Postgres {
		sync, err := tx.NewSync(ctx, SyncPoints, t.Mall, t.TransactionID)
		if err != nil {
			return err
		}
		t.SyncID = sync.ID
		if err := enqueue(sync.ID); err != nil {
			return err
		}
		if _, err := tx.InsertTransaction(ctx, t); err != nil {
			return err
		}
		if err := tx.UpdateMember(ctx, m); err != nil {
			return err
		}
		return tx.AppendEntry(ctx, e)
	}
	t.SyncID = in.syncID
	if err := enqueue(t.SyncID); err != nil {
		return err
	}
	now := tx.db.now()
	t.CreatedAt, e.CreatedAt = now.UTC(), now.UTC()
	b := &pgx.Batch{}
	b.Queue(`WITH s AS (
			INSERT INTO syncs (id, kind, mall, subject, state, created_at) VALUES ($22, $24, $1, $2, $25, $23)
		), t AS (
			INSERT INTO transactions (mall, transaction_id, notification_id, openid, appid, shop_number, shop_name,
				amount, time_end, commit_tag, points, earn_points, no_points_remarks, uncapped, capped, rule_version,
				explain, total_points, points_update_time, refunded, points_deducted, sync_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
				$22, $23)
			ON CONFLICT (mall, transaction_id) DO NOTHING
		)
		UPDATE members SET appid = $26, auth_type = $27, balance = $28, updated_at = $23
		WHERE mall = $1 AND openid = $29`,
		t.Mall, t.TransactionID, t.NotificationID, t.OpenID, t.AppID, t.ShopNumber, t.ShopName, t.Amount,
		micros(t.TimeEnd), t.CommitTag, t.Points, t.EarnPoints, t.NoPointsRemarks, t.Uncapped, t.Capped,
		t.RuleVersion, t.Explain, t.TotalPoints, t.PointsUpdateTime, t.Refunded, t.PointsDeducted, t.SyncID,
		micros(now), SyncPoints, SyncPending, m.AppID, m.AuthType, m.Balance, m.OpenID)
	b.Queue(appendEntryPostgres, e.args()...)
	br := tx.pgTx.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("storage: write payment: %w", err)
	}
	if err := br.QueryRow().Scan(&e.Seq); err != nil {
		return fmt.Errorf("storage: write ledger entry: %w", err)
	}
	return br.Close()
}

// lockedMember is a member row that may be absent (all NULL), as
// OpenPayment's first statement returns it.
type lockedMember struct {
	mall, openid, appid, authType *string
	balance, created, updated     *int64
	erased                        *bool
}

func (l lockedMember) member() Member {
	v := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	n := func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	}
	return Member{Mall: v(l.mall), OpenID: v(l.openid), AppID: v(l.appid), AuthType: v(l.authType), Balance: n(l.balance),
		Erased: l.erased != nil && *l.erased, CreatedAt: fromMicros(n(l.created)), UpdatedAt: fromMicros(n(l.updated))}
}

package storage

import (
	"context"
	"time"
)

// A payment's transaction reads before it writes, and it writes once the
// rules have spoken: OpenPayment and WritePayment, the same Tx methods one
// statement after another on both engines.

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
}

// OpenPayment records notification n of the payment (n.Mall,
// transactionID) by openid. When n's id is new and the payment is not
// recorded (TransactionExists), it also creates the member if unseen and
// locks it (LockMember), then tells, under that lock, whether a concurrent
// transaction recorded the payment meanwhile. When the payment is new and
// earned is not nil, it sums the points the member earned from payments
// whose time_end is in [earned[0], earned[1]) (EarnedBetween). A second
// delivery of n's id waits for the first one's transaction, then finds it
// recorded. A known payment never creates its member.
func (tx *Tx) OpenPayment(ctx context.Context, n Notification, openid, appid, transactionID string, earned *[2]time.Time) (PaymentIntake, error) {
	var in PaymentIntake
	var err error
	if in.New, err = tx.RecordNotification(ctx, n); err != nil || !in.New {
		return in, err
	}
	// Known before the member: a new notification id for a payment already
	// recorded must not create its payer, nor bring an erased payer's
	// openid back.
	if in.Known, err = tx.TransactionExists(ctx, n.Mall, transactionID); err != nil || in.Known {
		return in, err
	}
	if in.Member, err = tx.LockMember(ctx, n.Mall, openid, appid); err != nil {
		return in, err
	}
	// Known again under the member's lock: on PostgreSQL a transaction
	// recording the same payment may have committed while this one waited
	// for the lock, and each statement sees what has committed. (SQLite
	// runs one writer at a time, so there the answer cannot change.)
	if in.Known, err = tx.TransactionExists(ctx, n.Mall, transactionID); err != nil || in.Known || earned == nil {
		return in, err
	}
	in.Earned, err = tx.EarnedBetween(ctx, n.Mall, openid, earned[0], earned[1])
	return in, err
}

// WritePayment writes a new payment t with its pending points sync, whose
// id it sets in t.SyncID; the payer m's new balance; and ledger entry e,
// numbered as AppendEntry does, as the transaction's last write. enqueue
// runs in between, once the sync's id is known, to insert its job in the
// transaction.
func (tx *Tx) WritePayment(ctx context.Context, t *Transaction, m Member, e *Entry, enqueue func(syncID int64) error) error {
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

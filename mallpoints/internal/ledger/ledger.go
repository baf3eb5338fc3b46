// Package ledger is the points domain of mallpointsd: it turns verified
// WeChat Pay notifications and the mall's own adjustments into ledger
// entries, member balances and queued syncs, each in one database
// transaction. It knows neither SQL (package storage) nor HTTP (packages
// api and server).
//
// The rules of the ledger: entries are append-only and each names its cause
// (transaction_id, refund_id or Idempotency-Key) and the rule version that
// produced it; a member's balance is updated in the same transaction as its
// entry, under the member's row lock, and never goes below zero (a refund
// that would take it lower records the shortfall on its entry); the job that
// syncs a payment is inserted in that transaction too, so it exists if and
// only if the entry does.
package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// Enqueuer inserts jobs into a transaction: package outbox. Enqueue
// inserts the job of a points sync, EnqueueDecision that of a decision by
// the mall's CRM (kind storage.DecisionOfPayment or DecisionOfRefund),
// Publish the deliveries of a webhook event just written.
type Enqueuer interface {
	Enqueue(ctx context.Context, tx *storage.Tx, syncID int64) error
	EnqueueDecision(ctx context.Context, tx *storage.Tx, kind, mall, subject string) error
	Publish(ctx context.Context, tx *storage.Tx, ev storage.Event) error
}

// appendEntry writes entry e with its webhook event, and the event's
// deliveries: the last write of every transaction that changes a balance.
func (s *Service) appendEntry(ctx context.Context, tx *storage.Tx, e *storage.Entry) error {
	if err := tx.AppendEntry(ctx, e); err != nil {
		return err
	}
	return s.queue.Publish(ctx, tx, storage.EventOf(*e))
}

// MemberEvent writes a member event of type typ (storage.EventMember…)
// with data, and its deliveries, as the last write of tx.
func (s *Service) MemberEvent(ctx context.Context, tx *storage.Tx, mall, openid, typ string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	ev := storage.Event{Mall: mall, OpenID: openid, Type: typ, Data: raw}
	if err := tx.AppendEvent(ctx, &ev); err != nil {
		return err
	}
	return s.queue.Publish(ctx, tx, ev)
}

// Service applies events to the ledger.
type Service struct {
	db     *storage.DB
	queue  Enqueuer
	caller Caller // the malls' CRMs, for rules key decide
	rules  *rules.Current
	now    func() time.Time
	log    *slog.Logger
	// expiry bounds the rate of expiry runs; afterBatch, if set, is called
	// after each batch of a run (tests).
	expiry     ExpiryConfig
	afterBatch func(n int)

	mu          sync.Mutex
	unknownAuth map[string]struct{} // auth_type values logged once
}

// New returns a Service over db that enqueues syncs with q and evaluates
// payments with the rules in force in current; their entries name its
// version.
func New(db *storage.DB, q Enqueuer, current *rules.Current, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, queue: q, rules: current, now: time.Now, log: log, unknownAuth: map[string]struct{}{}}
}

// beijing is UTC+8, in which WeChat Pay writes times.
var beijing = time.FixedZone("CST", 8*3600)

// Errors of the mall's own requests, for the API to map to answers.
var (
	// ErrInsufficientBalance: a deduction asked for more than the balance.
	ErrInsufficientBalance = errors.New("ledger: balance too low")
	// ErrIdempotencyKeyReused: an Idempotency-Key came back with another request.
	ErrIdempotencyKeyReused = errors.New("ledger: Idempotency-Key used for a different request")
	// ErrUnknownMember: the member does not exist.
	ErrUnknownMember = errors.New("ledger: no such member")
	// ErrSyncsPending: a member cannot be erased while a sync naming it
	// waits to be sent; it would go out with the pseudonym.
	ErrSyncsPending = errors.New("ledger: the member has syncs waiting to be sent")
	// ErrSyncsParked: a member cannot be erased while a sync naming it is
	// parked; retried after erasure, it would go out with the pseudonym.
	ErrSyncsParked = errors.New("ledger: the member has parked syncs")
	// ErrPointsOutOfRange: an adjustment of more than rules.MaxPoints
	// points either way.
	ErrPointsOutOfRange = errors.New("ledger: points out of range")
	// ErrBalanceLimit: an adjustment would take the balance above
	// rules.MaxPoints.
	ErrBalanceLimit = errors.New("ledger: the balance would pass its maximum")
	// ErrUnknownTransaction: a refund names a payment the service has not
	// recorded. The notification fails, so WeChat Pay delivers it again.
	ErrUnknownTransaction = errors.New("ledger: refund of an unknown transaction")
)

// applyDelta changes m's balance by delta, never below zero, and returns
// what was applied and the shortfall.
func applyDelta(m *storage.Member, delta int64) (applied, shortfall int64) {
	applied = delta
	if m.Balance+delta < 0 {
		applied = -m.Balance
		shortfall = -(delta - applied)
	}
	m.Balance += applied
	return applied, shortfall
}

// wrap names the step that failed.
func wrap(step string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("ledger: %s: %w", step, err)
}

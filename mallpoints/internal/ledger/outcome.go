package ledger

import (
	"context"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/notify"
)

// Outcome is what became of a notification the ledger processed, as its
// handlers return it and the notification's record keeps it.
type Outcome string

// Outcomes of a notification processed without error. They are untyped so
// that the storage records take them as they are.
const (
	OutcomeApplied      = "applied"       // the event changed the ledger or a member
	OutcomeDuplicateID  = "duplicate_id"  // the notification id was processed before: nothing changed
	OutcomeDuplicateKey = "duplicate_key" // a new notification id for a known transaction_id or refund_id
)

// Handle decodes a verified notification by its event type and applies it
// (Transaction, Refund or Authorization), returning what became of it. An
// event type the service does not know fails with
// businesscircle.ErrUnhandledEvent, so WeChat Pay delivers it again.
func (s *Service) Handle(ctx context.Context, n *notify.Notification) (Outcome, error) {
	var out Outcome
	err := businesscircle.EventHandlers{
		Transaction: func(ctx context.Context, n *notify.Notification, e *businesscircle.TransactionEvent) (err error) {
			out, err = s.Transaction(ctx, n, e)
			return err
		},
		Refund: func(ctx context.Context, n *notify.Notification, e *businesscircle.RefundEvent) (err error) {
			out, err = s.Refund(ctx, n, e)
			return err
		},
		Authorization: func(ctx context.Context, n *notify.Notification, e *businesscircle.AuthorizationEvent) (err error) {
			out, err = s.Authorization(ctx, n, e)
			return err
		},
	}.Handle(ctx, n)
	return out, err
}

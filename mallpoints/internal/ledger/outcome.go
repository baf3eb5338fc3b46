package ledger

import (
	"context"
	"sync"
)

// OutcomeDuplicateID is the outcome of a notification whose id was
// processed before: WeChat Pay delivered it again, and nothing changed.
const OutcomeDuplicateID = "duplicate_id"

// Outcome is where the event handlers note what became of one notification,
// for a caller that counts outcomes (package metrics). It holds
// OutcomeApplied unless a handler found a duplicate.
type Outcome struct {
	mu sync.Mutex
	v  string
}

// String is the outcome noted; read it after the handler returned nil.
func (o *Outcome) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.v
}

type outcomeKey struct{}

// WithOutcome returns a context that carries a fresh Outcome into the event
// handlers, and that Outcome.
func WithOutcome(ctx context.Context) (context.Context, *Outcome) {
	o := &Outcome{v: OutcomeApplied}
	return context.WithValue(ctx, outcomeKey{}, o), o
}

// noteOutcome records v in the context's Outcome, if it carries one.
func noteOutcome(ctx context.Context, v string) {
	if o, ok := ctx.Value(outcomeKey{}).(*Outcome); ok {
		o.mu.Lock()
		o.v = v
		o.mu.Unlock()
	}
}

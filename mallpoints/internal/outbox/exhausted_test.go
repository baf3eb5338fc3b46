package outbox

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/merchants"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/parking"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/notify"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// signers sign every mall's syncs as the merchants set's, which the server
// does with the merchants in force.
type signers struct{ set *merchants.Set }

func (s signers) ClientFor(_ context.Context, mall string) (*wxpay.Client, string, error) {
	c, sub, ok := s.set.ClientFor(mall)
	if !ok {
		return nil, "", parking.ErrNoMerchant
	}
	return c, sub, nil
}

// noQueue enqueues nothing: the test runs the worker by hand.
type noQueue struct{}

func (noQueue) Enqueue(context.Context, *storage.Tx, int64) error { return nil }
func (noQueue) EnqueueDecision(context.Context, *storage.Tx, string, string, string) error {
	return nil
}
func (noQueue) Publish(context.Context, *storage.Tx, storage.Event) error { return nil }

func TestASyncThatFailsOnItsLastAttemptIsParkedNotDropped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "mallpoints.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	srv := sandbox.NewServer(sandbox.WithClientOptions(wxpay.WithoutRetries()))
	defer srv.Close()
	if err := srv.Sandbox.SetFaults(sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{"*": {ErrorRate: 1, ErrorStatus: 500}}}); err != nil {
		t.Fatal(err)
	}
	l := ledger.New(db, noQueue{}, rules.NewCurrent(rules.Default()), nil)
	_, err = l.Transaction(ctx, &notify.Notification{ID: "n1", EventType: businesscircle.EventTypeTransactionSuccess},
		&businesscircle.TransactionEvent{MchID: srv.Keys.MchID, AppID: "wxd678efh567hg6787", OpenID: "oLast",
			TransactionID: "4200000000000000000000000777", Amount: 1000, TimeEnd: time.Now().Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	w := &worker{cfg: Config{DB: db, Signers: signers{merchants.Single(srv.Keys.MchID, srv.Client, nil)}, Logger: slog.New(slog.DiscardHandler)}}
	for _, c := range []struct {
		attempt int
		state   string
	}{{1, storage.SyncPending}, {2, storage.SyncParked}} {
		job := &river.Job[SyncArgs]{JobRow: &rivertype.JobRow{Attempt: c.attempt, MaxAttempts: 2}, Args: SyncArgs{SyncID: 1}}
		if err := w.Work(ctx, job); err == nil {
			t.Fatalf("attempt %d: no error from a 500", c.attempt)
		}
		s, err := db.Sync(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if s.State != c.state || s.LastCode != "SYSTEM_ERROR" || s.LastStatus != 500 {
			t.Errorf("after attempt %d: %+v, want %s with the 500's code", c.attempt, s, c.state)
		}
	}
	attempts, err := db.Attempts(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(attempts) != 2 || attempts[0].Outcome != storage.AttemptRetry || attempts[1].Outcome != storage.AttemptParked {
		t.Errorf("attempts %+v, want retry then parked", attempts)
	}
}

// startOutbox makes an outbox with cfg and starts it, and stops it when the
// test ends.
func startOutbox(t *testing.T, cfg Config) *Outbox {
	t.Helper()
	ctx := context.Background()
	o, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = o.Stop(stop)
	})
	return o
}

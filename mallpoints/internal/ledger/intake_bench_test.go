package ledger

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/notify"
)

// lastSync keeps the sync id the intake enqueued.
type lastSync struct{ id int64 }

func (q *lastSync) Enqueue(_ context.Context, _ *storage.Tx, id int64) error { q.id = id; return nil }
func (q *lastSync) EnqueueDecision(context.Context, *storage.Tx, string, string, string) error {
	return nil
}
func (q *lastSync) Publish(context.Context, *storage.Tx, storage.Event) error { return nil }

// BenchmarkPaymentDatabaseWork runs the database work of one payment, River's
// aside: the intake transaction and the record of its sync's attempt, for 50
// members in turn.
func BenchmarkPaymentDatabaseWork(b *testing.B) {
	for _, dsn := range testDatabases(b) {
		b.Run(dsn.name, func(b *testing.B) {
			db := openDB(b, dsn.dsn(b))
			q := &lastSync{}
			s := New(db, q, rules.NewCurrent(mustRules(b, "default:\n  min_amount_fen: 0\n")), nil)
			ctx := context.Background()
			timeEnd := time.Now().Format(time.RFC3339)
			next := 0 // payments made by earlier rounds of b.N
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				i := next
				next++
				txid := fmt.Sprintf("4200%024d", i)
				n := &notify.Notification{ID: "n-" + txid, EventType: businesscircle.EventTypeTransactionSuccess}
				if _, err := s.Transaction(ctx, n, &businesscircle.TransactionEvent{
					MchID: "1900000109", AppID: "wxapp", OpenID: fmt.Sprintf("o%02d", i%50), TransactionID: txid,
					Amount: 1000, TimeEnd: timeEnd}); err != nil {
					b.Fatal(err)
				}
				if ok, err := db.RecordAttempt(ctx, storage.Attempt{SyncID: q.id, Attempt: 1, Outcome: storage.AttemptOK,
					Status: 204, RequestID: "r", At: time.Now().UTC()}, storage.SyncSynced); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

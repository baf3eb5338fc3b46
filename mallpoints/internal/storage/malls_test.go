package storage

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestAMallKeepsTheMerchantThatLastReceivedItAndItsLastNameOnBothEngines:
// a later notification at another merchant's URL moves the mall; one
// without merchant_name (an activation) keeps the name.
func TestAMallKeepsTheMerchantThatLastReceivedItAndItsLastNameOnBothEngines(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if _, err := db.Mall(ctx, "1900000301"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a mall never noted: %v, want ErrNotFound", err)
		}
		for _, m := range []Mall{
			{MchID: "1900000301", Merchant: "1900000209", Name: "朝阳大悦城"},
			{MchID: "1900000109", Merchant: "1900000109"},
			{MchID: "1900000301", Merchant: "1900000210"},
		} {
			if err := db.NoteMall(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.Mall(ctx, "1900000301")
		if err != nil || got.Merchant != "1900000210" || got.Name != "朝阳大悦城" || time.Since(got.FirstSeen) > time.Minute {
			t.Errorf("Mall = %+v, %v", got, err)
		}
		list, err := db.Malls(ctx)
		if err != nil || len(list) != 2 || list[0].MchID != "1900000109" {
			t.Errorf("Malls = %+v, %v", list, err)
		}
	})
}

// TestPendingSyncsAreCountedPerMallOnBothEngines counts only the syncs
// still to be sent.
func TestPendingSyncsAreCountedPerMallOnBothEngines(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		var done int64
		inTx(t, db, func(tx *Tx) error {
			for _, subject := range []string{"a", "b"} {
				if _, err := tx.NewSync(ctx, SyncParking, "1900000301", subject); err != nil {
					return err
				}
			}
			s, err := tx.NewSync(ctx, SyncParking, "1900000109", "c")
			done = s.ID
			return err
		})
		if _, err := db.RecordAttempt(ctx, Attempt{SyncID: done, Attempt: 1, Outcome: AttemptOK, Status: 204, At: time.Now()}, SyncSynced); err != nil {
			t.Fatal(err)
		}
		got, err := db.PendingSyncsByMall(ctx)
		if err != nil || len(got) != 1 || got["1900000301"] != 2 {
			t.Errorf("PendingSyncsByMall = %v, %v; want 1900000301: 2", got, err)
		}
	})
}

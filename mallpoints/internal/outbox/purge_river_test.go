package outbox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/merchants"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// The purge is registered as a River periodic job: with its schedule
// shortened to PurgeEvery, River's leader inserts it and it deletes the
// notifications older than the retention, keeping the mall's newest.
func TestThePeriodicPurgeJobRunsThroughRiver(t *testing.T) {
	t.Parallel()
	for name, dsn := range expiryEngines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openMigrated(t, dsn(t))
			srv := sandbox.NewServer(sandbox.WithClientOptions(wxpay.WithoutRetries()))
			t.Cleanup(srv.Close)
			const mall = "1900000109"
			for i, age := range []time.Duration{40 * 24 * time.Hour, 39 * 24 * time.Hour, 38 * 24 * time.Hour, time.Hour} {
				if _, err := db.SQL().ExecContext(ctx, `INSERT INTO notifications (id, event_type, mall, business_key, outcome, received_at)
					VALUES ($1, 'MALL_AUTH.ACTIVATE_CARD', $2, 'o', 'applied', $3)`, fmt.Sprint("n", i), mall, time.Now().Add(-age).UnixMicro()); err != nil {
					t.Fatal(err)
				}
			}
			startOutbox(t, Config{DB: db, Signers: signers{merchants.Single(srv.Keys.MchID, srv.Client, nil)},
				Retention: 30 * 24 * time.Hour, PurgeEvery: 200 * time.Millisecond, PurgePause: -1})
			left := func() []string {
				rs, err := db.SQL().QueryContext(ctx, `SELECT id FROM notifications ORDER BY id`)
				if err != nil {
					t.Fatal(err)
				}
				defer rs.Close()
				var ids []string
				for rs.Next() {
					var id string
					if err := rs.Scan(&id); err != nil {
						t.Fatal(err)
					}
					ids = append(ids, id)
				}
				return ids
			}
			deadline := time.Now().Add(30 * time.Second)
			for strings.Join(left(), ",") != "n3" {
				if time.Now().After(deadline) {
					t.Fatalf("after 30 s, notifications %v are left; want n3, the one within the retention", left())
				}
				time.Sleep(100 * time.Millisecond)
			}
			var jobs int
			if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = $1`, PurgeKind).Scan(&jobs); err != nil || jobs == 0 {
				t.Errorf("%d purge jobs in River, %v", jobs, err)
			}
		})
	}
}

func TestARetentionShorterThanWeChatPaysRedeliveriesIsRefused(t *testing.T) {
	t.Parallel()
	db := openMigrated(t, t.TempDir()+"/mallpoints.db")
	srv := sandbox.NewServer()
	t.Cleanup(srv.Close)
	for _, c := range []struct {
		retention time.Duration
		ok        bool
	}{{0, true}, {storage.MinRetention, true}, {storage.MinRetention - time.Second, false}, {24 * time.Hour, false}} {
		_, err := New(context.Background(), Config{DB: db, Signers: signers{merchants.Single(srv.Keys.MchID, srv.Client, nil)}, Retention: c.retention})
		if (err == nil) != c.ok {
			t.Errorf("retention %s: %v, want ok %v", c.retention, err, c.ok)
		}
	}
}

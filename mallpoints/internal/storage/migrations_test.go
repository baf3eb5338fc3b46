package storage

import (
	"context"
	"testing"
	"time"
)

// TestTheInitialSchemaMigratesUpDownAndUpAgainOnBothEngines checks the one
// migration each engine has: up, the readiness check's view of it, down
// (which leaves none of the service's tables), and up again.
func TestTheInitialSchemaMigratesUpDownAndUpAgainOnBothEngines(t *testing.T) {
	t.Parallel()
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := testOpen(t, e.dsn(t), false)
			if err := db.MigrationsCurrent(ctx); err == nil {
				t.Error("a database never migrated reports its migrations current")
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if err := db.MigrationsCurrent(ctx); err != nil {
				t.Errorf("after Migrate: %v", err)
			}
			payment(t, db, "oA", "4200000001", 5, time.Now())
			p, err := db.migrator()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.DownTo(ctx, 0); err != nil {
				t.Fatal(err)
			}
			for _, table := range []string{"members", "notifications", "syncs", "sync_attempts", "transactions",
				"refunds", "adjustments", "parkings", "ledger_entries", "refusals", "malls"} {
				if _, err := db.exec(ctx, "SELECT 1 FROM "+table); err == nil {
					t.Errorf("table %s is left after migrating down", table)
				}
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if e := payment(t, db, "oA", "4200000001", 5, time.Now()); e.Seq != 1 {
				t.Errorf("the first entry after migrating up again has seq %d, want 1", e.Seq)
			}
		})
	}
}

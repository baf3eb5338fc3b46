package storage

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// TestTheInitialSchemaMigratesUpDownAndUpAgainOnBothEngines checks the
// migrations of each engine: up, the readiness check's view of it, down
// (which leaves none of the service's tables but the audit log, which is
// forward only and keeps its rows), and up again.
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
			if err := db.AppendAudit(ctx, &AuditEntry{Actor: "token", Action: "adjustment.create"}); err != nil {
				t.Fatal(err)
			}
			p, err := db.migrator()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.DownTo(ctx, 0); err != nil {
				t.Fatal(err)
			}
			for _, table := range []string{"members", "notifications", "syncs", "sync_attempts", "transactions",
				"refunds", "adjustments", "parkings", "ledger_entries", "refusals", "malls", "accounts", "sessions", "api_tokens"} {
				if _, err := db.exec(ctx, "SELECT 1 FROM "+table); err == nil {
					t.Errorf("table %s is left after migrating down", table)
				}
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if list, err := db.AuditLog(ctx, AuditFilter{Limit: 10}); err != nil || len(list) != 1 {
				t.Errorf("the audit log after migrating down and up again: %+v, %v; want its one entry kept", list, err)
			}
			if e := payment(t, db, "oA", "4200000001", 5, time.Now()); e.Seq != 1 {
				t.Errorf("the first entry after migrating up again has seq %d, want 1", e.Seq)
			}
		})
	}
}

// Each migration is written once, in migrations/common or in each engine's
// folder, and every engine gets every version, numbered without a gap.
func TestEachEngineReadsEveryMigrationOnceFromItsFolderAndTheCommonOne(t *testing.T) {
	t.Parallel()
	var lists [][]string
	for _, d := range []dialect{sqliteDialect, postgresDialect} {
		fsys, err := engineMigrations(migrations, d.migrations)
		if err != nil {
			t.Fatal(err)
		}
		names, err := fs.Glob(fsys, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		for i, name := range names {
			if want := fmt.Sprintf("%05d_", i+1); !strings.HasPrefix(name, want) {
				t.Errorf("%s: migration %d is %s, want %s…", d.migrations, i+1, name, want)
			}
			if _, err := fs.ReadFile(fsys, name); err != nil {
				t.Errorf("%s: %v", d.migrations, err)
			}
		}
		lists = append(lists, names)
	}
	if len(lists[0]) < 14 || !slices.Equal(lists[0], lists[1]) {
		t.Errorf("the engines' migrations differ or are missing:\n%v\n%v", lists[0], lists[1])
	}
	twice := fstest.MapFS{
		"migrations/common/00002_x.sql": {Data: []byte("-- +goose Up\n")},
		"migrations/sqlite/00002_x.sql": {Data: []byte("-- +goose Up\n")},
	}
	if _, err := engineMigrations(twice, "migrations/sqlite"); err == nil || !strings.Contains(err.Error(), "write it once") {
		t.Errorf("a migration in both folders: %v, want it refused", err)
	}
}

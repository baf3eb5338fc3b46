package storage

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// testSQLite opens a SQLite file of its own in a temporary folder, with
// checkpoints every so often (checkpointEvery when 0), migrated when asked,
// and closes it when the test ends; path is the file's.
func testSQLite(t *testing.T, every time.Duration, migrate bool) (db *DB, path string) {
	t.Helper()
	ctx := context.Background()
	path = filepath.Join(t.TempDir(), "mallpoints.db")
	if every == 0 {
		every = checkpointEvery
	}
	db, err := open(ctx, path, every)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if migrate {
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return db, path
}

package storage

import (
	"context"
	"path/filepath"
	"testing"
)

// testSQLite opens a SQLite file of its own in a temporary folder, migrated
// when asked, and closes it when the test ends; path is the file's.
func testSQLite(t *testing.T, migrate bool) (db *DB, path string) {
	t.Helper()
	ctx := context.Background()
	path = filepath.Join(t.TempDir(), "mallpoints.db")
	db, err := Open(ctx, path)
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

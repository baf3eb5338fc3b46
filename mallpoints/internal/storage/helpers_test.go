package storage

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/pgtest"
)

// testSQLite opens a SQLite file of its own in a temporary folder, migrated
// when asked, and closes it when the test ends; path is the file's.
func testSQLite(t *testing.T, migrate bool) (db *DB, path string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "mallpoints.db")
	return testOpen(t, path, migrate), path
}

// testOpen opens dsn, migrated when asked, and closes it when the test ends.
func testOpen(t *testing.T, dsn string, migrate bool) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if migrate {
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// engine opens a database of its own for one test.
type engine struct {
	name string
	dsn  func(t *testing.T) string
}

// engines are SQLite, always, and PostgreSQL: MALLPOINTS_TEST_POSTGRES (a
// URL) or the local server at 127.0.0.1:5432 as user postgres. Without a
// reachable server the PostgreSQL runs skip, except with CI=true, where they
// fail.
func engines(t *testing.T) []engine {
	list := []engine{{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "mallpoints.db") }}}
	base, ok := pgtest.Optional(t)
	if !ok {
		return list
	}
	return append(list, engine{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t, base, "storage_test") }})
}

// forEachEngine runs fn as a parallel subtest per engine, on a migrated
// database of its own.
func forEachEngine(t *testing.T, fn func(t *testing.T, db *DB)) {
	t.Helper()
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			fn(t, testOpen(t, e.dsn(t), true))
		})
	}
}

// inTx runs fn in a transaction of db and fails t when it fails.
func inTx(t *testing.T, db *DB, fn func(tx *Tx) error) {
	t.Helper()
	if err := db.InTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

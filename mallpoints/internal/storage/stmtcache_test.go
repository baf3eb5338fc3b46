package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"path/filepath"
	"sync/atomic"
	"testing"

	"modernc.org/sqlite"
)

// countingConnector counts the statements SQLite is asked to compile.
type countingConnector struct {
	driver.Connector
	prepares *atomic.Int64
}

func (c countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{conn.(sqliteConn), c.prepares}, nil
}

// sqliteConn is what the cache needs of the driver's connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
}

type countingConn struct {
	sqliteConn
	prepares *atomic.Int64
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.prepares.Add(1)
	return c.sqliteConn.PrepareContext(ctx, q)
}

// openCounted opens a SQLite file through the statement cache of size
// entries, on one connection as the service does, and returns the count of
// compilations.
func openCounted(t *testing.T, size int) (*sql.DB, *atomic.Int64) {
	t.Helper()
	conn, err := sqlite.NewConnector("file:" + filepath.Join(t.TempDir(), "cache.db") + "?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	n := new(atomic.Int64)
	db := sql.OpenDB(stmtCacheConnector{Connector: countingConnector{conn, n}, size: size})
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)"); err != nil {
		t.Fatal(err)
	}
	n.Store(0)
	return db, n
}

func TestStatementCacheCompilesEachQueryOncePerConnection(t *testing.T) {
	t.Parallel()
	db, prepares := openCounted(t, 8)
	for i := range 50 {
		if _, err := db.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", i, "x"); err != nil {
			t.Fatal(err)
		}
		var v string
		if err := db.QueryRow("SELECT v FROM kv WHERE k = ?", i).Scan(&v); err != nil || v != "x" {
			t.Fatalf("row %d: %q, %v", i, v, err)
		}
	}
	if got := prepares.Load(); got != 2 {
		t.Errorf("compiled %d statements for 2 queries run 50 times each, want 2", got)
	}
}

func TestStatementCacheGivesANestedRunOfTheSameQueryItsOwnStatement(t *testing.T) {
	t.Parallel()
	db, _ := openCounted(t, 8)
	for i := range 3 {
		if _, err := db.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", i, string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = "SELECT k, v FROM kv WHERE k >= ? ORDER BY k"
	outer, err := tx.Query(q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var k int
		var v string
		if err := outer.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		// The same text again while the outer rows are open.
		inner, err := tx.Query(q, k)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for inner.Next() {
			n++
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
		got = append(got, v+string(rune('0'+n)))
	}
	if err := outer.Close(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a3", "b2", "c1"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("outer and nested rows gave %v, want %v", got, want)
	}
}

func TestStatementCacheEvictsTheLeastRecentlyUsedBeyondItsSize(t *testing.T) {
	t.Parallel()
	db, prepares := openCounted(t, 2)
	queries := []string{"SELECT 1", "SELECT 2", "SELECT 3"}
	for range 2 {
		for _, q := range queries {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Three queries in turn through a cache of two: every run compiles.
	if got := prepares.Load(); got != 6 {
		t.Errorf("compiled %d times, want 6 (each of 3 queries twice, none left in a cache of 2)", got)
	}
	prepares.Store(0)
	for range 5 {
		if _, err := db.Exec("SELECT 3"); err != nil {
			t.Fatal(err)
		}
	}
	if got := prepares.Load(); got != 0 {
		t.Errorf("the most recent query was compiled again %d times", got)
	}
}

func TestStatementCacheRunsScriptsAndFollowsSchemaChanges(t *testing.T) {
	t.Parallel()
	db, _ := openCounted(t, 8)
	script := "INSERT INTO kv (k, v) VALUES (1, 'one'); INSERT INTO kv (k, v) VALUES (2, 'two');"
	if _, err := db.Exec(script); err != nil {
		t.Fatal(err)
	}
	const count = "SELECT COUNT(*) FROM kv"
	var n int
	if err := db.QueryRow(count).Scan(&n); err != nil || n != 2 {
		t.Fatalf("after the script: %d rows, %v; want 2", n, err)
	}
	const read = "SELECT * FROM kv WHERE k = 1"
	var cols []string
	if rows, err := db.Query(read); err != nil {
		t.Fatal(err)
	} else {
		cols, _ = rows.Columns()
		rows.Close()
	}
	if _, err := db.Exec("ALTER TABLE kv ADD COLUMN note TEXT DEFAULT 'n'"); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(read)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := rows.Columns()
	rows.Close()
	if len(cols) != 2 || len(after) != 3 {
		t.Errorf("columns of a cached SELECT * before and after ALTER TABLE: %v, %v; want 2 then 3", cols, after)
	}
}

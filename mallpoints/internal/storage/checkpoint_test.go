package storage

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/pgtest"
)

func TestSQLiteLogIsCopiedBackByTheCheckpointerNotByTheWriter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, path := testSQLite(t, 10*time.Millisecond, false)
	if _, err := db.sql.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"); err != nil {
		t.Fatal(err)
	}
	// Far fewer pages than the writer's safety net: only the checkpointer
	// can copy them into the database file.
	for i := range 400 {
		if _, err := db.sql.ExecContext(ctx, "INSERT INTO t (v) VALUES (?)", fmt.Sprintf("%0200d", i)); err != nil {
			t.Fatal(err)
		}
	}
	runs0, _ := db.checkpoints.status()
	var size int64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		runs, err := db.checkpoints.status()
		if err != nil {
			t.Fatalf("checkpoint: %v", err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if size = fi.Size(); runs > runs0+1 && size >= 400*200 {
			return
		}
	}
	t.Fatalf("the database file holds %d bytes after 400 rows of 200 bytes: the log was not copied back", size)
}

func TestClosingAfterCheckpointsLeavesEveryRowInTheFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, path := testSQLite(t, time.Millisecond, false)
	if _, err := db.sql.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if _, err := db.sql.ExecContext(ctx, "INSERT INTO t DEFAULT VALUES"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Microsecond) // let checkpoints interleave
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db.Close() // a second Close, as a deferred one after an explicit one, is harmless
	if _, err := os.Stat(path + "-wal"); !os.IsNotExist(err) {
		t.Errorf("the log outlived the last connection: %v", err)
	}
	again, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	var n int
	if err := again.sql.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 100 {
		t.Fatalf("%d rows (%v), want 100", n, err)
	}
}

func TestAFailedCheckpointIsCountedAndTheWritesGoOn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testSQLite(t, time.Millisecond, true)
	db.checkpoints.db.Close() // every checkpoint from now on fails
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		st, err := db.State(ctx)
		if err == nil && st.Checkpoints.Failed > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed checkpoint counted: %+v, %v", st.Checkpoints, err)
		}
	}
	if _, err := db.sql.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY)"); err != nil {
		t.Fatalf("the writer stopped with the checkpoints: %v", err)
	}
}

func TestPostgreSQLHasNoCheckpointCounts(t *testing.T) {
	t.Parallel()
	db, err := Open(context.Background(), pgtest.NewDatabase(t, pgtest.Require(t), "storage_checkpoints"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := db.State(context.Background())
	if err != nil || st.Checkpoints != nil {
		t.Fatalf("State on PostgreSQL: checkpoints %+v, %v; want none", st.Checkpoints, err)
	}
}

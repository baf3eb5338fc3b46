package storage

import (
	"context"
	"testing"
)

// A 2xx to WeChat Pay is a promise the payment is kept: in WAL mode only
// synchronous=FULL (2) syncs the log at every commit, so a commit survives
// a power loss or an OS crash; NORMAL (1) may lose the last ones.
func TestSQLiteCommitsAreDurableWithSynchronousFull(t *testing.T) {
	t.Parallel()
	db, _ := testSQLite(t, false)
	var mode int
	if err := db.SQL().QueryRowContext(context.Background(), "PRAGMA synchronous").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != 2 {
		t.Errorf("PRAGMA synchronous = %d on the service's connection, want 2 (FULL)", mode)
	}
}

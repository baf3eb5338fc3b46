package storage

import (
	"context"
	"os"
	"path/filepath"
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

func TestASQLitePathWithURICharactersOpensThatFileWithTheServicesSettings(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"a#b", "a?b", "a%23b", "a b"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), name, "mallpoints.db")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			db, err := Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var mode int
			var journal string
			if err := db.SQL().QueryRowContext(context.Background(), "PRAGMA synchronous").Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if err := db.SQL().QueryRowContext(context.Background(), "PRAGMA journal_mode").Scan(&journal); err != nil {
				t.Fatal(err)
			}
			if mode != 2 || journal != "wal" {
				t.Errorf("synchronous %d, journal_mode %q; want 2 (FULL) and wal", mode, journal)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("the file named was not made: %v", err)
			}
		})
	}
}

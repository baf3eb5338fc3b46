// Package pgtest gives the service's tests and benchmarks PostgreSQL
// databases of their own: the server is MALLPOINTS_TEST_POSTGRES (a URL) or
// the machine's local one at 127.0.0.1:5432 as user postgres, and every
// test gets a fresh database that is dropped when it ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Base is the server's URL, or why it cannot be reached; it is asked once
// per process.
var Base = sync.OnceValues(func() (string, error) {
	base := os.Getenv("MALLPOINTS_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", err
	}
	return base, conn.Close(ctx)
})

// Require returns Base's URL. Without a reachable server it skips tb, or
// fails it with CI=true, where PostgreSQL must be there.
func Require(tb testing.TB) string {
	tb.Helper()
	base, ok := Optional(tb)
	if !ok {
		tb.SkipNow()
	}
	return base
}

// Optional returns Base's URL and true, for tests that run on SQLite always
// and on PostgreSQL when there is one. Without a reachable server it logs
// why the PostgreSQL runs are left out and returns false, or fails tb with
// CI=true, where PostgreSQL must be there.
func Optional(tb testing.TB) (string, bool) {
	tb.Helper()
	base, err := Base()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL is required with CI=true: %v", err)
		}
		tb.Logf("PostgreSQL runs skipped: %v", err)
		return "", false
	}
	return base, true
}

// NewDatabase creates a database named prefix_<random> on the server at
// base, drops it when tb ends, and returns its URL.
func NewDatabase(tb testing.TB, base, prefix string) string {
	tb.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := prefix + "_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	exec := func(sql string) error {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec("CREATE DATABASE " + name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

package pgtest

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestNewDatabaseIsTheTestsOwnAndIsDroppedWhenTheTestEnds(t *testing.T) {
	t.Parallel()
	base := Require(t)
	ctx := context.Background()
	var name string
	t.Run("inner", func(t *testing.T) {
		dsn := NewDatabase(t, base, "pgtest_check")
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		name = strings.TrimPrefix(u.Path, "/")
		if !strings.HasPrefix(name, "pgtest_check_") {
			t.Fatalf("database %q lacks its prefix", name)
		}
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var current string
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&current); err != nil || current != name {
			t.Fatalf("connected to %q (%v), want %q", current, err, name)
		}
	})
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var left bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&left); err != nil || left {
		t.Errorf("database %q still there after its test: %v, %v", name, left, err)
	}
}

package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/pgtest"
)

func TestTheLoadGeneratorAnalyzesPostgreSQLBeforeItMeasures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if err := analyze(ctx, filepath.Join(t.TempDir(), "mallpoints.db")); err != nil {
		t.Errorf("a SQLite file: %v, want nothing done", err)
	}
	dsn := pgtest.NewDatabase(t, pgtest.Require(t), "mallpoints_load_test")
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE payments (id bigint); INSERT INTO payments SELECT generate_series(1, 100)"); err != nil {
		t.Fatal(err)
	}
	if err := analyze(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	// ANALYZE writes the row estimate, -1 until a table is first analyzed.
	var rows float64
	if err := conn.QueryRow(ctx, "SELECT reltuples FROM pg_class WHERE relname = 'payments'").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 100 {
		t.Errorf("the planner estimates %v rows, want the 100 that ANALYZE counts", rows)
	}
}

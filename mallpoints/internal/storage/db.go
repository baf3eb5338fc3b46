package storage

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations
var migrations embed.FS

// DB is the service's database: a SQLite file or a PostgreSQL server. Open
// it with Open, run Migrate, and Close it when done. Its methods that read
// run outside any transaction.
type DB struct {
	executor
	engine  Engine
	dialect dialect
	sql     *sql.DB       // SQLite's one connection; on PostgreSQL a handle over pool for goose
	pool    *pgxpool.Pool // PostgreSQL; nil on SQLite
	// migrationLocker lets replicas migrate one at a time; nil on SQLite.
	migrationLocker lock.SessionLocker
}

// Open connects to dsn: a postgres:// (or postgresql://) URL, or else the
// path of a SQLite file, created if missing.
func Open(ctx context.Context, dsn string) (*DB, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn)
	case dsn == "":
		return nil, errors.New("storage: no database given")
	}
	return openSQLite(ctx, dsn)
}

// Engine says which engine db runs on.
func (db *DB) Engine() Engine { return db.engine }

// SQL is the database/sql handle: SQLite's only connection, or a PostgreSQL
// handle over the pool.
func (db *DB) SQL() *sql.DB { return db.sql }

// Pool is the PostgreSQL pool; nil on SQLite.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Close closes the connections. On SQLite closing the last one copies the
// log back into the file and removes it.
func (db *DB) Close() error {
	err := db.sql.Close()
	if db.pool != nil {
		db.pool.Close()
	}
	return err
}

// Migrate brings the service's tables to the newest version with goose,
// from the SQL files embedded for the engine. On PostgreSQL a session lock
// lets several replicas start at once.
func (db *DB) Migrate(ctx context.Context) error {
	p, err := db.migrator()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("storage: migrate: %w", err)
	}
	return nil
}

// MigrationsCurrent reports whether every migration has been applied, for
// the readiness check.
func (db *DB) MigrationsCurrent(ctx context.Context) error {
	p, err := db.migrator()
	if err != nil {
		return err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("storage: migration status: %w", err)
	}
	if pending {
		return errors.New("storage: migrations pending")
	}
	return nil
}

func (db *DB) migrator() (*goose.Provider, error) {
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if db.migrationLocker != nil {
		opts = append(opts, goose.WithSessionLocker(db.migrationLocker))
	}
	fsys, err := engineMigrations(migrations, db.dialect.migrations)
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(db.dialect.goose, db.sql, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return p, nil
}

// Each migration is written once: in migrations/common when its SQL serves
// both engines, else in each engine's folder (dialect.migrations) in the
// engine's own SQL. Goose reads the two folders as one.

// engineMigrations is the engine's migrations in root, those of the
// engine's folder and the common ones, as one folder; a file in both is an
// error.
func engineMigrations(root fs.FS, folder string) (fs.FS, error) {
	var u migrationFS
	for i, name := range []string{"migrations/common", folder} {
		sub, err := fs.Sub(root, name)
		if err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
		u[i] = sub
	}
	seen := map[string]bool{}
	for _, f := range u {
		entries, err := fs.ReadDir(f, ".")
		if err != nil {
			return nil, fmt.Errorf("storage: migrations: %w", err)
		}
		for _, e := range entries {
			if seen[e.Name()] {
				return nil, fmt.Errorf("storage: migration %s is both in migrations/common and in %s; write it once", e.Name(), folder)
			}
			seen[e.Name()] = true
		}
	}
	return u, nil
}

// migrationFS is the common migrations and an engine's, read as one
// folder: Open finds a file in either, ReadDir lists both in name order.
type migrationFS [2]fs.FS

func (u migrationFS) Open(name string) (fs.File, error) {
	f, err := u[1].Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return u[0].Open(name)
	}
	return f, err
}

func (u migrationFS) ReadDir(name string) ([]fs.DirEntry, error) {
	var all []fs.DirEntry
	for _, f := range u {
		entries, err := fs.ReadDir(f, name)
		if err != nil {
			return nil, err
		}
		all = append(all, entries...)
	}
	slices.SortFunc(all, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return all, nil
}

// Ping checks the connection.
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

// Tx is one database transaction on either engine. Its methods are the
// storage package's operations; River jobs are inserted into it through
// SQLTx or PgxTx.
type Tx struct {
	executor
	db    *DB
	sqlTx *sql.Tx
	pgTx  pgx.Tx
}

// SQLTx is the database/sql transaction on SQLite; nil on PostgreSQL.
func (tx *Tx) SQLTx() *sql.Tx { return tx.sqlTx }

// PgxTx is the pgx transaction on PostgreSQL; nil on SQLite.
func (tx *Tx) PgxTx() pgx.Tx { return tx.pgTx }

// InTx runs fn in a transaction and commits it when fn returns nil; any
// error rolls it back.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("storage: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.rollback()
		return err
	}
	if err := tx.commit(ctx); err != nil {
		return fmt.Errorf("storage: commit: %w", err)
	}
	return nil
}

// ReadTx runs fn in a transaction that is always rolled back, so nothing
// fn does is written: reads that must see one moment of the database, for
// a preview. On PostgreSQL the transaction is also READ ONLY.
func (db *DB) ReadTx(ctx context.Context, fn func(tx *Tx) error) error {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return fmt.Errorf("storage: begin: %w", err)
	}
	defer tx.rollback()
	return fn(tx)
}

// ErrNotFound is returned by lookups of a row that does not exist.
var ErrNotFound = errors.New("storage: not found")

// micros is the storage form of a time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros is the inverse of micros.
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// collect scans every row of rs with scan.
func collect[T any](rs rows, scan func(row) (T, error)) ([]T, error) {
	defer rs.Close()
	out := []T{}
	for rs.Next() {
		v, err := scan(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rs.Err()
}

package storage

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite" // the pure Go SQLite driver
)

// Engine names a database engine.
type Engine string

// The two engines the service runs on.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

//go:embed migrations
var migrations embed.FS

// DB is the service's database: a SQLite file or a PostgreSQL server. Open
// it with Open, run Migrate, and Close it when done.
type DB struct {
	engine Engine
	sql    *sql.DB       // SQLite; for PostgreSQL only the migrations use it
	pool   *pgxpool.Pool // PostgreSQL
	now    func() time.Time
}

// Open connects to dsn: a postgres:// (or postgresql://) URL, or else the
// path of a SQLite file, created if missing. SQLite runs in WAL mode with
// synchronous=FULL on one connection, which serialises writers (River's
// SQLite driver asks for it).
func Open(ctx context.Context, dsn string) (*DB, error) {
	db := &DB{now: time.Now}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("storage: database URL: %w", err)
		}
		db.engine = Postgres
		if db.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
		if err := db.pool.Ping(ctx); err != nil {
			db.pool.Close()
			return nil, fmt.Errorf("storage: connect to PostgreSQL at %s: %w", cfg.ConnConfig.Host, err)
		}
		db.sql = stdlib.OpenDBFromPool(db.pool)
		return db, nil
	}
	if dsn == "" {
		return nil, errors.New("storage: no database given")
	}
	db.engine = SQLite
	q := url.Values{}
	// synchronous=FULL syncs the log at every commit: a notification is
	// answered 2xx only after its commit, and WeChat Pay never re-sends one
	// it was told it had, so the commit must survive a power loss or an OS
	// crash (NORMAL, in WAL mode, may lose the last commits). The log is
	// copied back into the file by SQLite's own autocheckpoint, every 1,000
	// pages, on the connection that commits.
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(FULL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	conn, err := sqlite.NewConnector("file:" + dsn + "?" + q.Encode())
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	db.sql = sql.OpenDB(stmtCacheConnector{Connector: conn, size: stmtCacheSize})
	db.sql.SetMaxOpenConns(1)
	if err := db.sql.PingContext(ctx); err != nil {
		db.sql.Close()
		return nil, fmt.Errorf("storage: open SQLite file %s: %w", dsn, err)
	}
	return db, nil
}

// Engine says which engine db runs on.
func (db *DB) Engine() Engine { return db.engine }

// SQL is the database/sql handle: SQLite's only connection, or a PostgreSQL
// handle over the pool.
func (db *DB) SQL() *sql.DB { return db.sql }

// Pool is the PostgreSQL pool; nil on SQLite.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// SetClock replaces the clock that stamps rows; for tests.
func (db *DB) SetClock(now func() time.Time) { db.now = now }

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
	dir, dialect := "migrations/sqlite", goose.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if db.engine == Postgres {
		dir, dialect = "migrations/postgres", goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	p, err := goose.NewProvider(dialect, db.sql, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return p, nil
}

// riverMigrationLock is the PostgreSQL advisory lock key under which
// replicas migrate River's tables, one at a time ("mallpoints river" in
// ASCII, so it cannot meet goose's own key).
const riverMigrationLock int64 = 0x6d616c6c72697672

// WithMigrationLock runs fn while holding a database-wide lock, so replicas
// that start together migrate one after another: River's migrator takes no
// lock of its own, and two replicas creating its types at once collide
// (seen: 1 start in 24 failed with a duplicate pg_type). On SQLite, which
// one process uses, fn just runs.
func (db *DB) WithMigrationLock(ctx context.Context, fn func() error) error {
	if db.engine != Postgres {
		return fn()
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("storage: migration lock: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", riverMigrationLock); err != nil {
		return fmt.Errorf("storage: migration lock: %w", err)
	}
	defer func() {
		// A session lock outlives a failed unlock only until the connection
		// closes; close it rather than return it to the pool still locked.
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", riverMigrationLock); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	return fn()
}

// Ping checks the connection.
func (db *DB) Ping(ctx context.Context) error {
	if db.pool != nil {
		return db.pool.Ping(ctx)
	}
	return db.sql.PingContext(ctx)
}

// Tx is one database transaction on either engine. Its methods are the
// storage package's queries; River jobs are inserted into it through
// SQLTx or PgxTx.
type Tx struct {
	db    *DB
	sqlTx *sql.Tx
	pgTx  pgx.Tx
}

// SQLTx is the database/sql transaction on SQLite; nil on PostgreSQL.
func (tx *Tx) SQLTx() *sql.Tx { return tx.sqlTx }

// PgxTx is the pgx transaction on PostgreSQL; nil on SQLite.
func (tx *Tx) PgxTx() pgx.Tx { return tx.pgTx }

// InTx runs fn in a transaction and commits it when fn returns nil; any
// error rolls it back. On SQLite the transaction takes the write lock at
// BEGIN (BEGIN IMMEDIATE), so it never fails half-way for a busy database.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	tx := &Tx{db: db}
	var err error
	if db.pool != nil {
		tx.pgTx, err = db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	} else {
		tx.sqlTx, err = db.sql.BeginTx(ctx, nil)
	}
	if err != nil {
		return fmt.Errorf("storage: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.rollback()
		return err
	}
	if tx.pgTx != nil {
		err = tx.pgTx.Commit(ctx)
	} else {
		err = tx.sqlTx.Commit()
	}
	if err != nil {
		return fmt.Errorf("storage: commit: %w", err)
	}
	return nil
}

func (tx *Tx) rollback() {
	if tx.pgTx != nil {
		tx.pgTx.Rollback(context.WithoutCancel(context.Background()))
		return
	}
	tx.sqlTx.Rollback()
}

// querier is what both a transaction and the bare database offer, so that
// read queries run in either.
type querier interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	queryRow(ctx context.Context, q string, args ...any) row
	query(ctx context.Context, q string, args ...any) (rows, error)
	forUpdate() string
}

type row interface{ Scan(dest ...any) error }

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

type sqlRows struct{ *sql.Rows }

// Close closes the rows; pgx.Rows.Close returns nothing, so neither does this.
func (r sqlRows) Close() { r.Rows.Close() }

func (tx *Tx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	if tx.pgTx != nil {
		tag, err := tx.pgTx.Exec(ctx, q, args...)
		return tag.RowsAffected(), err
	}
	res, err := tx.sqlTx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (tx *Tx) queryRow(ctx context.Context, q string, args ...any) row {
	if tx.pgTx != nil {
		return tx.pgTx.QueryRow(ctx, q, args...)
	}
	return tx.sqlTx.QueryRowContext(ctx, q, args...)
}

func (tx *Tx) query(ctx context.Context, q string, args ...any) (rows, error) {
	if tx.pgTx != nil {
		return tx.pgTx.Query(ctx, q, args...)
	}
	r, err := tx.sqlTx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

// forUpdate locks the rows read on PostgreSQL. SQLite needs no lock: a
// write transaction holds the whole database from BEGIN IMMEDIATE.
func (tx *Tx) forUpdate() string { return tx.db.forUpdate() }

func (db *DB) exec(ctx context.Context, q string, args ...any) (int64, error) {
	if db.pool != nil {
		tag, err := db.pool.Exec(ctx, q, args...)
		return tag.RowsAffected(), err
	}
	res, err := db.sql.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (db *DB) queryRow(ctx context.Context, q string, args ...any) row {
	if db.pool != nil {
		return db.pool.QueryRow(ctx, q, args...)
	}
	return db.sql.QueryRowContext(ctx, q, args...)
}

func (db *DB) query(ctx context.Context, q string, args ...any) (rows, error) {
	if db.pool != nil {
		return db.pool.Query(ctx, q, args...)
	}
	r, err := db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

func (db *DB) forUpdate() string {
	if db.engine == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// ErrNotFound is returned by lookups of a row that does not exist.
var ErrNotFound = errors.New("storage: not found")

// noRows turns either driver's "no rows" into ErrNotFound.
func noRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

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

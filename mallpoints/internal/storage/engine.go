package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite" // the pure Go SQLite driver
)

// This file is everything that differs between the two engines: how each is
// opened, the driver statements go through (database/sql on SQLite, pgx on
// PostgreSQL, as River's drivers for each want), and the dialect, the few
// statements whose SQL differs. Every operation elsewhere is written once.

// Engine names a database engine.
type Engine string

// The two engines the service runs on.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// dialect is what an engine's SQL needs said its own way.
type dialect struct {
	// migrations is the folder of the engine's own goose migrations,
	// read with migrations/common (engineMigrations).
	migrations string
	goose      goose.Dialect
	// forUpdate ends a SELECT that locks the rows it reads until the
	// transaction ends. SQLite needs none: a write transaction holds the
	// whole database from BEGIN IMMEDIATE.
	forUpdate string
	// appendEntry numbers and writes a ledger entry, with the arguments of
	// Entry.args, and returns its seq. A mall's entries are numbered in the
	// order they commit, so that a reader following the mall's feed, which
	// has seen seq n, has seen every entry of the mall below n; another
	// mall's entries never wait for them.
	//
	// On PostgreSQL the entry first takes its mall's turn: it counts itself
	// in the mall's row of ledger_malls (the first entry makes the row),
	// which stays locked until the transaction ends, and only then, in the
	// RETURNING of that write, draws seq from the sequence feed_seq. The
	// mall's next entry waits for the lock, so it is numbered after this one
	// has committed; other malls' rows are not touched, so theirs do not
	// wait. A mall's entries thus commit one at a time (a turn is this
	// statement, a round trip and the commit), and across malls seq is the
	// order entries were numbered, not the order they commit. A rolled-back
	// entry leaves a gap in seq, never in the count. This is the simplest
	// numbering that keeps each mall's feed complete without a lock for the
	// whole ledger, which at load held most of PostgreSQL's statement time
	// in waiting. Numbering at commit behind a watermark would give one
	// complete feed of every mall, at the price of a position written after
	// each commit and a feed that lags the slowest transaction. A table that
	// shares the feed's numbers (webhook events) draws them the same way,
	// under the same turn.
	//
	// On SQLite, one writer at a time, seq is the largest of the entries'
	// and the webhook events' plus one: every mall's entries and events in
	// commit order, without gaps.
	appendEntry string
	// appendEvent numbers and writes a member's webhook event (not an
	// entry's, which takes the entry's seq) under its mall's turn, with the
	// arguments mall, openid, type, data, created_at; it returns its seq.
	appendEvent string
	// entryCount counts the ledger entries without reading them: the sum of
	// the malls' counts on PostgreSQL, the last rowid on SQLite.
	entryCount string
}

var (
	sqliteDialect = dialect{
		migrations: "migrations/sqlite",
		goose:      goose.DialectSQLite3,
		appendEntry: `INSERT INTO ledger_entries (` + entryColumns + `)
			VALUES (` + sqliteNextSeq + `, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
			RETURNING seq`,
		appendEvent: `INSERT INTO webhook_events (seq, mall, openid, type, data, created_at)
			VALUES (` + sqliteNextSeq + `, $1, $2, $3, $4, $5) RETURNING seq`,
		// The last entry's seq, less the member events numbered below it.
		entryCount: `SELECT COALESCE(MAX(seq), 0) - (SELECT COUNT(*) FROM webhook_events
			WHERE type LIKE 'member.%' AND seq < (SELECT COALESCE(MAX(seq), 0) FROM ledger_entries)) FROM ledger_entries`,
	}
	postgresDialect = dialect{
		migrations: "migrations/postgres",
		goose:      goose.DialectPostgres,
		forUpdate:  " FOR UPDATE",
		appendEntry: `WITH turn AS (
				INSERT INTO ledger_malls AS m (mall, entries) VALUES ($1, 1)
				ON CONFLICT (mall) DO UPDATE SET entries = m.entries + 1
				RETURNING nextval('feed_seq') AS seq)
			INSERT INTO ledger_entries (` + entryColumns + `)
			VALUES ((SELECT seq FROM turn), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
			RETURNING seq`,
		// A member event takes its mall's turn without counting itself.
		appendEvent: `WITH turn AS (
				INSERT INTO ledger_malls AS m (mall, entries) VALUES ($1, 0)
				ON CONFLICT (mall) DO UPDATE SET entries = m.entries
				RETURNING nextval('feed_seq') AS seq)
			INSERT INTO webhook_events (seq, mall, openid, type, data, created_at)
			VALUES ((SELECT seq FROM turn), $1, $2, $3, $4, $5)
			RETURNING seq`,
		entryCount: `SELECT COALESCE(SUM(entries), 0)::BIGINT FROM ledger_malls`,
	}
)

// sqliteNextSeq is the next number of the feed on SQLite: the largest of
// the entries' and the events' plus one (two searches of primary keys).
const sqliteNextSeq = `(SELECT MAX(s) + 1 FROM (SELECT COALESCE(MAX(seq), 0) AS s FROM ledger_entries
	UNION ALL SELECT COALESCE(MAX(seq), 0) FROM webhook_events))`

// openPostgres connects to a PostgreSQL server. Statements go through pgx's
// pool; the migrations, through database/sql over the same pool.
func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("storage: database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("storage: connect to PostgreSQL at %s: %w", cfg.ConnConfig.Host, err)
	}
	// A session lock lets several replicas start, and migrate, at once.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("storage: %w", err)
	}
	return &DB{executor: pgxExecutor{pool}, engine: Postgres, dialect: postgresDialect,
		sql: stdlib.OpenDBFromPool(pool), pool: pool, migrationLocker: locker}, nil
}

// openSQLite opens a SQLite file, created if missing, in WAL mode with
// synchronous=FULL on one connection, which serialises writers (River's
// SQLite driver asks for it).
func openSQLite(ctx context.Context, path string) (*DB, error) {
	q := url.Values{}
	// synchronous=FULL syncs the log at every commit: a notification is
	// answered 2xx only after its commit, and WeChat Pay never re-sends one
	// it was told it had, so the commit must survive a power loss or an OS
	// crash (NORMAL, in WAL mode, may lose the last commits).
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(FULL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	// The path is escaped as a URI's: a "?" or "#" in it would otherwise end
	// the file's name there and drop the settings above.
	conn, err := sqlite.NewConnector("file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path) + "?" + q.Encode())
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	db := sql.OpenDB(stmtCacheConnector{Connector: conn, size: stmtCacheSize})
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("storage: open SQLite file %s: %w", path, err)
	}
	return &DB{executor: sqlExecutor{db}, engine: SQLite, dialect: sqliteDialect, sql: db}, nil
}

// begin starts a transaction. On SQLite it takes the write lock at BEGIN
// (BEGIN IMMEDIATE), so it never fails half-way for a busy database.
func (db *DB) begin(ctx context.Context) (*Tx, error) {
	if db.pool != nil {
		t, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
		return &Tx{executor: pgxExecutor{t}, db: db, pgTx: t}, err
	}
	t, err := db.sql.BeginTx(ctx, nil)
	return &Tx{executor: sqlExecutor{t}, db: db, sqlTx: t}, err
}

// beginRead starts a transaction for ReadTx: READ ONLY on PostgreSQL; on
// SQLite, where every transaction begins IMMEDIATE, an ordinary one.
func (db *DB) beginRead(ctx context.Context) (*Tx, error) {
	if db.pool != nil {
		t, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		return &Tx{executor: pgxExecutor{t}, db: db, pgTx: t}, err
	}
	return db.begin(ctx)
}

func (tx *Tx) commit(ctx context.Context) error {
	if tx.pgTx != nil {
		return tx.pgTx.Commit(ctx)
	}
	return tx.sqlTx.Commit()
}

func (tx *Tx) rollback() {
	if tx.pgTx != nil {
		tx.pgTx.Rollback(context.Background())
		return
	}
	tx.sqlTx.Rollback()
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
	if db.pool == nil {
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

// executor runs statements, in a transaction or on the database itself.
type executor interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	queryRow(ctx context.Context, q string, args ...any) row
	query(ctx context.Context, q string, args ...any) (rows, error)
}

type row interface{ Scan(dest ...any) error }

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// sqlExecutor runs statements through database/sql: a *sql.DB or *sql.Tx.
type sqlExecutor struct {
	c interface {
		ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	}
}

func (x sqlExecutor) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := x.c.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (x sqlExecutor) queryRow(ctx context.Context, q string, args ...any) row {
	return x.c.QueryRowContext(ctx, q, args...)
}

func (x sqlExecutor) query(ctx context.Context, q string, args ...any) (rows, error) {
	r, err := x.c.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

type sqlRows struct{ *sql.Rows }

// Close closes the rows; pgx.Rows.Close returns nothing, so neither does this.
func (r sqlRows) Close() { r.Rows.Close() }

// pgxExecutor runs statements through pgx: a *pgxpool.Pool or pgx.Tx.
type pgxExecutor struct {
	c interface {
		Exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, q string, args ...any) (pgx.Rows, error)
		QueryRow(ctx context.Context, q string, args ...any) pgx.Row
	}
}

func (x pgxExecutor) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := x.c.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

func (x pgxExecutor) queryRow(ctx context.Context, q string, args ...any) row {
	return x.c.QueryRow(ctx, q, args...)
}

func (x pgxExecutor) query(ctx context.Context, q string, args ...any) (rows, error) {
	return x.c.Query(ctx, q, args...)
}

// noRows turns either driver's "no rows" into ErrNotFound.
func noRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

package storage

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"sync"
)

// stmtCacheSize bounds the statements kept per connection. The service and
// River together run well under a hundred distinct statements; River's
// batch statements vary with the batch size and are the ones evicted.
const stmtCacheSize = 256

// stmtCacheConnector is a driver wrapper that knows no query: it keeps each
// SQLite connection's compiled statements by their SQL text, the service's
// and River's alike, so each is compiled once per connection and then only
// bound, stepped and reset (modernc.org/sqlite compiles every statement
// database/sql hands it anew; SQLite recompiles a cached one by itself when
// the schema changes). Its worth, measured with and without it, interleaved,
// on a shared two-core machine: the load generator (--spawn, 2,000 payments
// after 200, closed loop) ran 142 against 117 payments/s (medians; runs
// 134-153 and 110-150) at 3.29 against 4.32 ms of service CPU per payment;
// BenchmarkPaymentDatabaseWork, 647 against 1,085 CPU-µs per payment.
type stmtCacheConnector struct {
	driver.Connector
	size int
}

func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	for _, need := range []struct {
		name string
		ok   bool
	}{
		{"ExecerContext", implements[driver.ExecerContext](conn)},
		{"QueryerContext", implements[driver.QueryerContext](conn)},
		{"ConnPrepareContext", implements[driver.ConnPrepareContext](conn)},
		{"ConnBeginTx", implements[driver.ConnBeginTx](conn)},
	} {
		if !need.ok {
			conn.Close()
			return nil, fmt.Errorf("storage: the SQLite driver's connection does not implement driver.%s, which the statement cache needs", need.name)
		}
	}
	return &cachingConn{Conn: conn, size: c.size, byQuery: map[string]*list.Element{}, lru: list.New()}, nil
}

func implements[I any](v any) bool { _, ok := v.(I); return ok }

// cachingConn is one connection with its statement cache. database/sql uses
// a connection from one goroutine at a time; the mutex only guards against
// a Rows closed from another goroutine when its context ends.
type cachingConn struct {
	driver.Conn
	size int

	mu      sync.Mutex
	byQuery map[string]*list.Element // of *cachedStmt, most recently used first in lru
	lru     *list.List
}

// cachedStmt is a prepared statement in the cache. busy is true while its
// rows are open: a statement steps one result at a time, so a query run
// again before they are closed (a nested query of the same text) gets a
// statement of its own.
type cachedStmt struct {
	query string
	stmt  driver.Stmt
	busy  bool
	// evicted is set when the cache dropped the statement while it was
	// busy; it is closed when its rows are.
	evicted bool
}

// acquire returns a statement for query and the function that gives it
// back; a statement that is not cached is closed when given back.
func (c *cachingConn) acquire(ctx context.Context, query string) (driver.Stmt, func(), error) {
	c.mu.Lock()
	if e, ok := c.byQuery[query]; ok {
		cs := e.Value.(*cachedStmt)
		if !cs.busy {
			cs.busy = true
			c.lru.MoveToFront(e)
			c.mu.Unlock()
			return cs.stmt, func() { c.release(cs) }, nil
		}
		c.mu.Unlock()
		return c.oneOff(ctx, query)
	}
	c.mu.Unlock()
	s, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	cs := &cachedStmt{query: query, stmt: s, busy: true}
	c.mu.Lock()
	c.byQuery[query] = c.lru.PushFront(cs)
	var dropped []driver.Stmt
	for c.lru.Len() > c.size {
		old := c.lru.Remove(c.lru.Back()).(*cachedStmt)
		delete(c.byQuery, old.query)
		if old.busy {
			old.evicted = true
		} else {
			dropped = append(dropped, old.stmt)
		}
	}
	c.mu.Unlock()
	for _, s := range dropped {
		s.Close()
	}
	return s, func() { c.release(cs) }, nil
}

// oneOff prepares a statement that is used once and then closed.
func (c *cachingConn) oneOff(ctx context.Context, query string) (driver.Stmt, func(), error) {
	s, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	return s, func() { s.Close() }, nil
}

func (c *cachingConn) release(cs *cachedStmt) {
	c.mu.Lock()
	cs.busy = false
	closeIt := cs.evicted
	c.mu.Unlock()
	if closeIt {
		cs.stmt.Close()
	}
}

// ExecContext runs query with the connection's cached statement.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, release, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	defer release()
	return s.(driver.StmtExecContext).ExecContext(ctx, args)
}

// QueryContext runs query with the connection's cached statement, which
// stays busy until the rows are closed.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, release, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	r, err := s.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		release()
		return nil, err
	}
	return &releasingRows{Rows: r, release: release}, nil
}

// PrepareContext is for callers that prepare explicitly (database/sql's
// DB.Prepare); such statements are theirs to close and are not cached.
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

// BeginTx passes through: SQLite's statements serve inside and outside
// transactions alike.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

// Ping passes through when the driver can ping.
func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// ResetSession passes through when the driver resets sessions.
func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// IsValid passes through when the driver tells.
func (c *cachingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// Close closes the cached statements, then the connection.
func (c *cachingConn) Close() error {
	c.mu.Lock()
	var errs []error
	for e := c.lru.Front(); e != nil; e = e.Next() {
		errs = append(errs, e.Value.(*cachedStmt).stmt.Close())
	}
	c.lru.Init()
	clear(c.byQuery)
	c.mu.Unlock()
	return errors.Join(append(errs, c.Conn.Close())...)
}

// releasingRows gives its statement back to the cache when closed.
type releasingRows struct {
	driver.Rows
	once    sync.Once
	release func()
}

func (r *releasingRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.release)
	return err
}

// The column-type methods database/sql's ColumnTypes asks rows for.

func (r *releasingRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *releasingRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *releasingRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

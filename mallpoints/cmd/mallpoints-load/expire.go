package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the service's SQLite driver, to seed its file
)

// With --expire N the run measures notification answers while an expiry
// run goes on: N members of the mall, each with one lot of 100 points due
// at 00:00 Beijing time today, are written straight into the service's
// database (bulk SQL, as a year of payments would have left them), and the
// expiry run as of today starts through the admin API with the load.

var beijing = time.FixedZone("UTC+8", 8*3600)

// seedDue writes n members of mall named expiry-0000001 … with a balance
// of 100 in one lot due at today's start in Beijing, and returns today's
// date there: the as_of of the run that expires them.
func seedDue(ctx context.Context, db, mall string, n int) (asOf string, err error) {
	now := time.Now().In(beijing)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, beijing)
	due, earned := today.UnixMicro(), today.AddDate(-1, 0, 0).UnixMicro()
	if isPostgres(db) {
		conn, err := pgx.Connect(ctx, db)
		if err != nil {
			return "", fmt.Errorf("seed: %w", err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		_, err = conn.Exec(ctx, `INSERT INTO members (mall, openid, balance, created_at, updated_at)
			SELECT $1, 'expiry-' || lpad(i::text, 7, '0'), 100, $2, $2 FROM generate_series(1, $3) i`, mall, earned, n)
		if err == nil {
			_, err = conn.Exec(ctx, `INSERT INTO point_lots (mall, openid, source, earned_at, expires_at, points)
				SELECT $1, 'expiry-' || lpad(i::text, 7, '0'), 'adj:expiry-' || i, $2, $3, 100
				FROM generate_series(1, $4) i`, mall, earned, due, n)
		}
		if err != nil {
			return "", fmt.Errorf("seed: %w", err)
		}
		return today.Format(time.DateOnly), nil
	}
	sdb, err := openSQLite(db)
	if err != nil {
		return "", fmt.Errorf("seed: %w", err)
	}
	defer sdb.Close()
	_, err = sdb.ExecContext(ctx, `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?)
		INSERT INTO members (mall, openid, balance, created_at, updated_at)
		SELECT ?, printf('expiry-%07d', i), 100, ?, ? FROM s`, n, mall, earned, earned)
	if err == nil {
		_, err = sdb.ExecContext(ctx, `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?)
			INSERT INTO point_lots (mall, openid, source, earned_at, expires_at, points)
			SELECT ?, printf('expiry-%07d', i), 'adj:expiry-' || i, ?, ?, 100 FROM s`, n, mall, earned, due)
	}
	if err != nil {
		return "", fmt.Errorf("seed: %w", err)
	}
	return today.Format(time.DateOnly), nil
}

// expiryRun is an expiry run started through the admin API.
type expiryRun struct {
	done  chan struct{}
	took  time.Duration
	reply string // the answer's status line, or why there was none
}

// startExpiry posts POST /api/expiry/run as of asOf and times it until the
// service answers or drops the connection, whichever comes first: either
// is when the handler's run returned.
func startExpiry(ctx context.Context, adminURL, asOf string) *expiryRun {
	x := &expiryRun{done: make(chan struct{})}
	go func() {
		defer close(x.done)
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(adminURL, "/")+"/api/expiry/run",
			bytes.NewReader(fmt.Appendf(nil, `{"as_of": %q}`, asOf)))
		if err != nil {
			x.reply = err.Error()
			return
		}
		req.Header.Set("Content-Type", "application/json")
		// No client timeout: a year-end run takes minutes.
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			x.reply = resp.Status
		}
		x.took = time.Since(start)
		if err != nil {
			x.reply = "no answer: " + err.Error()
		}
	}()
	return x
}

// expiredCount counts the expire entries of the run as of asOf in the
// service's database: how many members the run expired, whatever became of
// its answer.
func expiredCount(ctx context.Context, db, asOf string) (n int64, err error) {
	const q = `SELECT COUNT(*) FROM ledger_entries WHERE kind = 'expire' AND idempotency_key = $1`
	key := "expire:" + asOf
	if isPostgres(db) {
		conn, err := pgx.Connect(ctx, db)
		if err != nil {
			return 0, err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		return n, conn.QueryRow(ctx, q, key).Scan(&n)
	}
	sdb, err := openSQLite(db)
	if err != nil {
		return 0, err
	}
	defer sdb.Close()
	return n, sdb.QueryRowContext(ctx, q, key).Scan(&n)
}

func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// openSQLite opens the service's SQLite file beside it: the two take turns
// at writing, waiting up to 10 s for each other.
func openSQLite(path string) (*sql.DB, error) {
	// Escaped as a URI's path: a "?" or "#" would otherwise end the name.
	name := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return sql.Open("sqlite", "file:"+name+"?"+url.Values{"_pragma": {"busy_timeout(10000)"}}.Encode())
}

package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
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
// expiry run as of today is queued through the admin API with the load, and
// its status polled until it is done.

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
	took  time.Duration // from the run's status: its last attempt's start to its end
	reply string        // how it ended, or why it is not known
}

// expiryStatus is GET /api/expiry/runs/{id}'s answer, as far as the report
// goes.
type expiryStatus struct {
	ID         int64      `json:"id"`
	State      string     `json:"state"`
	Attempts   int        `json:"attempts"`
	Error      string     `json:"error"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Points     int64      `json:"points"`
	Members    int        `json:"members"`
}

// startExpiry posts POST /api/expiry/run as of asOf, which queues the run
// and answers 202 with its status URL, and polls that until the run is done
// or failed: the run's duration is the status's, from its last attempt's
// start to its end.
func startExpiry(ctx context.Context, adminURL, asOf string) *expiryRun {
	x := &expiryRun{done: make(chan struct{})}
	go func() {
		defer close(x.done)
		base := strings.TrimSuffix(adminURL, "/")
		location, err := requestExpiry(ctx, base, asOf)
		if err != nil {
			x.reply = err.Error()
			return
		}
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			st, err := expiryState(ctx, base+location)
			switch {
			case err != nil:
				x.reply = err.Error()
				return
			case st.State == "done" || st.State == "failed":
				if st.StartedAt != nil && st.FinishedAt != nil {
					x.took = st.FinishedAt.Sub(*st.StartedAt)
				}
				x.reply = fmt.Sprintf("run %d %s after %d attempt(s): %d members, %d points", st.ID, st.State, st.Attempts, st.Members, st.Points)
				if st.Error != "" {
					x.reply += "; last error: " + st.Error
				}
				return
			}
			select {
			case <-ctx.Done():
				x.reply = "stopped waiting: " + ctx.Err().Error()
				return
			case <-tick.C:
			}
		}
	}()
	return x
}

// requestExpiry queues the run and returns its status URL's path.
func requestExpiry(ctx context.Context, base, asOf string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/expiry/run",
		bytes.NewReader(fmt.Appendf(nil, `{"as_of": %q}`, asOf)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("expiry run not queued: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	location := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || !strings.HasPrefix(location, "/api/expiry/runs/") {
		return "", fmt.Errorf("expiry run not queued: %s %s", resp.Status, body)
	}
	return location, nil
}

// expiryState reads the run's status at url.
func expiryState(ctx context.Context, url string) (expiryStatus, error) {
	var st expiryStatus
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, fmt.Errorf("expiry run status: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("expiry run status: %s %s", resp.Status, body)
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, fmt.Errorf("expiry run status: %w", err)
	}
	return st, nil
}

// expiredCount counts the expire entries as of asOf in the service's
// database: how many members the run expired, whatever its status says.
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

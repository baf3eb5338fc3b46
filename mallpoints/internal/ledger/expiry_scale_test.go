package ledger

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// TestExpiryRunAtScale measures a year-end expiry run, out of the default
// suite: with MALLPOINTS_EXPIRY_SCALE=N it seeds N members of one mall with
// one due lot each (bulk SQL, on both engines), runs Expire with the default
// ExpiryConfig, and reports the duration and members/s.
//
//	MALLPOINTS_EXPIRY_SCALE=100000 CI=true go test ./internal/ledger -run TestExpiryRunAtScale -v -timeout 30m
func TestExpiryRunAtScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("MALLPOINTS_EXPIRY_SCALE"))
	if n <= 0 {
		t.Skip("set MALLPOINTS_EXPIRY_SCALE=N to measure an expiry run over N members")
	}
	for _, db := range testDatabases(t) {
		t.Run(db.name, func(t *testing.T) {
			ctx := context.Background()
			s := New(openDB(t, db.dsn(t)), noQueue{}, rules.NewCurrent(mustRules(t, expiryRules)), nil)
			s.now = func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, beijing) }
			start := time.Now()
			seedDueMembers(t, s.db, n)
			t.Logf("%s: seeded %d members in %v", db.name, n, time.Since(start).Round(time.Millisecond))
			start = time.Now()
			res, err := s.Expire(ctx, "2026-01-01")
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Members) != n || res.Points != int64(n)*100 {
				t.Fatalf("expired %d members, %d points; want %d, %d", len(res.Members), res.Points, n, n*100)
			}
			pauses := time.Duration((n-1)/ExpiryBatch) * ExpiryPause
			t.Logf("%s: expired %d members in %v (%.0f members/s; %v of it the pauses between batches of %d, %.0f members/s without)",
				db.name, n, took.Round(time.Millisecond), float64(n)/took.Seconds(), pauses, ExpiryBatch,
				float64(n)/(took-pauses).Seconds())
		})
	}
}

// seedDueMembers writes n members of expiryMall, each with a balance of 100
// in one lot due on 2026-01-01, in two statements.
func seedDueMembers(t *testing.T, db *storage.DB, n int) {
	t.Helper()
	earned := time.Date(2025, 5, 1, 12, 0, 0, 0, beijing).UnixMicro()
	due := time.Date(2026, 1, 1, 0, 0, 0, 0, beijing).UnixMicro()
	var err error
	if db.Engine() == storage.Postgres {
		ctx := context.Background()
		_, err = db.Pool().Exec(ctx, `INSERT INTO members (mall, openid, balance, created_at, updated_at)
			SELECT $1, 'o' || lpad(i::text, 7, '0'), 100, $2, $2 FROM generate_series(1, $3) i`, expiryMall, earned, n)
		if err == nil {
			_, err = db.Pool().Exec(ctx, `INSERT INTO point_lots (mall, openid, source, earned_at, expires_at, points)
				SELECT $1, 'o' || lpad(i::text, 7, '0'), 'tx:' || i, $2, $3, 100 FROM generate_series(1, $4) i`, expiryMall, earned, due, n)
		}
	} else {
		_, err = db.SQL().Exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?)
			INSERT INTO members (mall, openid, balance, created_at, updated_at)
			SELECT ?, printf('o%07d', i), 100, ?, ? FROM s`, n, expiryMall, earned, earned)
		if err == nil {
			_, err = db.SQL().Exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?)
				INSERT INTO point_lots (mall, openid, source, earned_at, expires_at, points)
				SELECT ?, printf('o%07d', i), 'tx:' || i, ?, ?, 100 FROM s`, n, expiryMall, earned, due)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

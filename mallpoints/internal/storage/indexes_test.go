package storage

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestDashboardAndMetricsQueriesSearchIndexes asks SQLite for the plan of
// every query the dashboard and the metrics run: none may scan a table
// whole; each must search an index (or read the single numbering row).
func TestDashboardAndMetricsQueriesSearchIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		name  string
		query string
		args  []any
	}{
		{"backlog", qBacklog, []any{SyncPending}},
		{"count by state", qCountState, []any{SyncParked}},
		{"entry count", qEntryCount, nil},
		{"last notification per mall", qLastNotifications, nil},
		{"payments of a day", qPayments, []any{0, 1}},
		{"points of a day", qPoints, []any{0, 1}},
		{"sync lags", qLags, []any{0, 1}},
		{"hourly chart", qHourly, []any{0, 1, 3600}},
		{"members by openid", qMembersByOpenID, []any{"o"}},
		{"entries of a day", qEntriesBetween, []any{0, 1, 0, 10}},
	} {
		rs, err := db.sql.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.query, q.args...)
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		var plan []string
		for rs.Next() {
			var id, parent, unused int
			var detail string
			if err := rs.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rs.Close()
		for _, step := range plan {
			for _, table := range []string{"syncs", "transactions", "ledger_entries", "members", "notifications"} {
				if strings.HasPrefix(step, "SCAN "+table) || strings.HasPrefix(step, "SCAN n") {
					t.Errorf("%s scans a table: %s\nplan: %q", q.name, step, plan)
				}
			}
		}
		t.Logf("%s: %q", q.name, plan)
	}
}

func TestPercentileIsTheNearestRank(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		sorted []int64
		p      int
		want   int64
	}{
		{nil, 50, 0},
		{[]int64{7}, 99, 7},
		{[]int64{1, 2, 3, 4}, 50, 2},
		{[]int64{1, 2, 3, 4}, 99, 4},
		{[]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90, 9},
	} {
		if got := percentile(c.sorted, c.p); got != c.want {
			t.Errorf("percentile(%v, %d) = %d, want %d", c.sorted, c.p, got, c.want)
		}
	}
}

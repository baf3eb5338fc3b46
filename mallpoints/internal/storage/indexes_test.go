package storage

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestDashboardAndMetricsQueriesSearchIndexes asks SQLite for the plan of
// every query the dashboard and the metrics run, of the outbox worker's
// read of a sync's payment and of the purge's statements: none may scan a
// table whole; each must search an
// index or a table by its key, or scan a partial index.
func TestDashboardAndMetricsQueriesSearchIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testSQLite(t, true)
	for _, q := range []struct {
		name  string
		query string
		args  []any
	}{
		{"backlog", qBacklog, []any{SyncPending}},
		{"count by state", qCountState, []any{SyncParked}},
		{"entry count", sqliteDialect.entryCount, nil},
		{"a mall's feed", qMallEntriesAfter, []any{"m", 0, 10}},
		{"the malls in the ledger", qMallRange, nil},
		{"last notification per mall", qLastNotifications, nil},
		{"payments of a day", qPayments, []any{0, 1}},
		{"points of a day", qPoints, []any{0, 1}},
		{"sync lags", qLags, []any{0, 1}},
		{"hourly chart", qHourly, []any{0, 1, 3600}},
		{"members by the start of an openid", qSearchMembers + qSearchMembersEnd + qSearchMembersBy, []any{"o", "p", 1, "o", "", "", 10}},
		{"every member", qSearchMembers + qSearchMembersAll + qSearchMembersBy, []any{"", "", 0, "", "", "", 10}},
		{"a member's points by cause", qPointTotals, []any{"1900000109", "o"}},
		{"a member's last synced payment", qLastSynced, []any{"1900000109", "o", SyncSynced}},
		{"entries of a day", qEntriesBetween, []any{0, 1, 0, 10}},
		{"a sync's payment", "SELECT t.points" + qTransactionBySync, []any{1, SyncPoints}},
		{"undecided payments and refunds", qUndecided + qUndecidedOrder, []any{"", 10}},
		{"decision counts", qDecisionCounts + ` GROUP BY decision`, nil},
		{"oldest authorisation check", qOldestCheck, []any{1}},
		{"purge: a mall's old notifications", qPurgeNotifications, []any{"m", 1, 1000}},
		{"purge: the next attempts", qAttemptsAfter, []any{0, 1000}},
		{"purge: a range of attempts", qPurgeAttempts, []any{0, 1000, 1, SyncPending, SyncParked, SyncUnconfirmed}},
		{"purge: delivered webhook deliveries", qPurgeDeliveries, []any{1, 1000}},
		{"a member's webhook queue", qQueueHead, []any{"crm", "m", "o"}},
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
			// A partial index holds only the rows a query wants: scanning
			// it reads no other.
			// members_recheck holds the members with an activity, which the
			// re-check keeps to the active ones (RetireInactive).
			if strings.HasSuffix(step, "USING INDEX transactions_undecided") || strings.HasSuffix(step, "USING INDEX refunds_undecided") ||
				strings.HasSuffix(step, "USING INDEX members_recheck") {
				continue
			}
			for _, table := range []string{"syncs", "transactions", "ledger_entries", "members", "notifications", "sync_attempts"} {
				if strings.HasPrefix(step, "SCAN "+table) || strings.HasPrefix(step, "SCAN n") {
					t.Errorf("%s scans a table: %s\nplan: %q", q.name, step, plan)
				}
			}
		}
		t.Logf("%s: %q", q.name, plan)
	}
}

// TestExpiryRunStatementsSearchTheirIndexesWhateverTheStatistics asks each
// engine for the plan of the statements an expiry run makes per member, on
// tables with no statistics (as on a new database, or before autovacuum has
// seen the run's entries) and, on PostgreSQL, as the generic plan that a
// prepared statement keeps: each must search the index made for it. A plan
// that reads every entry of the mall per member makes the run quadratic.
func TestExpiryRunStatementsSearchTheirIndexesWhateverTheStatistics(t *testing.T) {
	t.Parallel()
	asOf := micros(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	forEachEngine(t, func(t *testing.T, db *DB) {
		for _, q := range []struct {
			name, query, index string
			args               []any
		}{
			{"HasExpireEntry", qHasExpireEntry, "ledger_expire_once", []any{"m", "o", ExpireKey("2026-01-01")}},
			{"ExpireDue", qExpireDue, "point_lots_due_by_member", []any{"m", "o", asOf}},
			{"MembersDue", qMembersDue, "point_lots_due_by_member", []any{asOf, "m", "o", 500}},
		} {
			plan := queryPlan(t, db, q.query, q.args...)
			if !strings.Contains(plan, q.index) {
				t.Errorf("%s does not search %s:\n%s", q.name, q.index, plan)
			}
			t.Logf("%s:\n%s", q.name, plan)
		}
	})
}

// queryPlan is the plan of q with args: SQLite's EXPLAIN QUERY PLAN, or
// PostgreSQL's generic plan of q prepared.
func queryPlan(t *testing.T, db *DB, q string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	var lines []string
	if db.pool == nil {
		rs, err := db.sql.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		for rs.Next() {
			var id, parent, unused int
			var detail string
			if err := rs.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, detail)
		}
		return strings.Join(lines, "\n")
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// The generic plan is the one a statement prepared on a connection
	// comes to keep, whatever the arguments.
	for _, s := range []string{"SET plan_cache_mode = force_generic_plan", "PREPARE plan_probe AS " + q} {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	defer conn.Exec(ctx, "DEALLOCATE plan_probe; RESET plan_cache_mode")
	params := make([]string, len(args))
	for i := range args {
		params[i] = fmt.Sprintf("$%d", i+1)
	}
	rs, err := conn.Query(ctx, "EXPLAIN EXECUTE plan_probe("+strings.Join(params, ", ")+")",
		append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		var line string
		if err := rs.Scan(&line); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
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

// TestEveryIndexOnTheTablesAPaymentWritesServesAQuery lists the indexes of
// the tables written for every payment, each with what searches it. Each
// costs a page written per insert on SQLite and an index tuple with its WAL
// on PostgreSQL, so one that no query needs does not stay; a new index is
// added here with its reason. On SQLite notifications are stored in id
// order and ledger entries in seq order (their rowid), with no index beside.
func TestEveryIndexOnTheTablesAPaymentWritesServesAQuery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testSQLite(t, true)
	want := map[string]string{
		"sqlite_autoindex_members_1":            "UNIQUE (mall, openid): LockMember, Member",
		"members_by_openid":                     "the members search and list by openid",
		"notifications_by_mall_time":            "the last notification per mall (metrics), Purge mall by mall",
		"sqlite_autoindex_syncs_1":              "UNIQUE (kind, mall, subject): a subject is synced once",
		"syncs_by_state":                        "backlog, counts by state, the syncs list",
		"syncs_by_synced":                       "sync lags of a day",
		"sync_attempts_by_sync":                 "a sync's attempts",
		"sqlite_autoindex_transactions_1":       "PRIMARY KEY (mall, transaction_id): a payment is recorded once",
		"transactions_by_member_day":            "EarnedBetween (the daily cap), a member's payments",
		"transactions_by_time":                  "payments of a day, the hourly chart, the payments list",
		"ledger_by_member":                      "a member's entries, BalanceCheck",
		"ledger_by_transaction":                 "a payment's entries",
		"ledger_by_mall":                        "a mall's feed (EntriesAfter), the malls the ledger holds",
		"ledger_by_time":                        "points and entries of a day (CSV export)",
		"ledger_expire_once":                    "HasExpireEntry: one expire entry per member and expiry run",
		"sqlite_autoindex_point_lots_1":         "PRIMARY KEY (mall, source): a lot per payment or credit, Lot, the updates of Consume",
		"point_lots_by_member":                  "Consume (first in, first out), ExpireDue, Expiring, MemberLots",
		"point_lots_due_by_member":              "MembersDue: the batches of an expiry run, ExpireDue (partial: lots that expire)",
		"transactions_undecided":                "UndecidedList, DecisionCounts (partial: only undecided payments are in it)",
		"webhook_events_by_member":              "an erasure's rewrite of the member's events",
		"webhook_events_by_mall":                "EventsAfter, Redeliver's events of a mall, EventMalls",
		"webhook_member_events":                 "the entry count on SQLite (partial: member events only)",
		"sqlite_autoindex_webhook_deliveries_1": "PRIMARY KEY (webhook, seq): a delivery per event and webhook, Delivery, RecordDelivery",
		"webhook_queue":                         "QueueHead: a member's undelivered events (partial)",
		"webhook_undelivered":                   "Deliveries, DeliveryCounts (partial)",
		"webhook_delivered":                     "Purge of delivered deliveries (partial)",
		"webhook_deliveries_by_member":          "an erasure's rewrite of the member's deliveries",
		"members_by_phone":                      "MembersByPhone, exact (partial: only members with a phone; written when the CRM sets one)",
		"members_recheck":                       "DueForRecheck, RetireInactive, the oldest check (metrics); partial: members with an activity, which a payment writes at most daily",
	}
	rs, err := db.sql.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index'
		AND tbl_name IN ('members', 'notifications', 'syncs', 'sync_attempts', 'transactions', 'ledger_entries', 'point_lots',
		'webhook_events', 'webhook_deliveries')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	got := map[string]bool{}
	for rs.Next() {
		var name string
		if err := rs.Scan(&name); err != nil {
			t.Fatal(err)
		}
		got[name] = true
		if _, ok := want[name]; !ok {
			t.Errorf("index %s serves no query named here: drop it, or name the query that needs it", name)
		}
	}
	for name := range want {
		if !got[name] {
			t.Errorf("index %s is gone; %s needs it", name, want[name])
		}
	}
}

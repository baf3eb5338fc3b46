package storage

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func testAuditLog(t *testing.T, ctx context.Context, db *DB) {
	t0 := time.Date(2026, 5, 20, 10, 0, 0, 0, time.UTC)
	entries := []AuditEntry{
		{At: t0, Actor: "local", RemoteAddr: "127.0.0.1", Action: "adjustment.create", Mall: mall, Subject: "oA",
			Before: AuditValues(map[string]any{"balance": 100}), After: AuditValues(map[string]any{"balance": 600, "points": 500}),
			RequestID: "req-1"},
		{At: t0.Add(time.Minute), Actor: "token", RemoteAddr: "2001:db8::1", Action: "sync.retry", Mall: mall, Subject: "7",
			Before: AuditValues(map[string]any{"state": "parked"}), After: AuditValues(map[string]any{"state": "pending"})},
		{At: t0.Add(2 * time.Minute), Actor: "system", Action: "expiry.run", After: AuditValues(map[string]any{"as_of": "2026-05-20"})},
		// Personal values are kept as "changed", whatever the caller wrote.
		{At: t0.Add(3 * time.Minute), Actor: "token", Action: "member.erase", Mall: "1900000110", Subject: "erased_x",
			Before: json.RawMessage(`{"openid":"oSecret","phone":"13800138000","tier":"gold"}`),
			After:  json.RawMessage(`{"openid":"erased_x","name":"张三"}`)},
	}
	for i := range entries {
		if err := db.AppendAudit(ctx, &entries[i]); err != nil {
			t.Fatal(err)
		}
		if i > 0 && entries[i].ID <= entries[i-1].ID {
			t.Errorf("entry %d has id %d after %d: ids must grow", i, entries[i].ID, entries[i-1].ID)
		}
	}
	for _, bad := range []AuditEntry{
		{Actor: "token"},
		{Action: "sync.retry"},
		{Actor: "token", Action: "sync.retry", Before: json.RawMessage(`["a list"]`)},
		{Actor: "token", Action: "sync.retry", After: json.RawMessage(`{"cut short"`)},
	} {
		if err := db.AppendAudit(ctx, &bad); err == nil {
			t.Errorf("AppendAudit(%+v) = nil, want an error", bad)
		}
	}

	all, err := db.AuditLog(ctx, AuditFilter{Limit: 10})
	if err != nil || len(all) != len(entries) {
		t.Fatalf("the whole log: %d entries, %v; want %d", len(all), err, len(entries))
	}
	if got, want := all[len(all)-1], entries[0]; got.ID != want.ID || !got.At.Equal(want.At) || got.Actor != want.Actor ||
		got.RemoteAddr != want.RemoteAddr || got.Action != want.Action || got.Mall != want.Mall || got.Subject != want.Subject ||
		string(got.Before) != `{"balance":100}` || string(got.After) != `{"balance":600,"points":500}` || got.RequestID != "req-1" {
		t.Errorf("the oldest entry reads back as %+v\nwant %+v", got, want)
	}
	erase := all[0]
	if string(erase.Before) != `{"openid":"changed","phone":"changed","tier":"gold"}` || string(erase.After) != `{"name":"changed","openid":"changed"}` {
		t.Errorf("personal values kept: before %s, after %s", erase.Before, erase.After)
	}
	if len(all[1].Before) != 0 || all[1].RemoteAddr != "" {
		t.Errorf("a system entry without values or address reads back as %+v", all[1])
	}

	ids := func(list []AuditEntry) []int64 {
		var out []int64
		for _, e := range list {
			out = append(out, e.ID)
		}
		return out
	}
	id := func(i int) int64 { return entries[i].ID }
	for _, c := range []struct {
		name string
		f    AuditFilter
		want []int64
	}{
		{"by actor", AuditFilter{Actor: "token"}, []int64{id(3), id(1)}},
		{"by action", AuditFilter{Action: "sync.retry"}, []int64{id(1)}},
		{"by mall", AuditFilter{Mall: mall}, []int64{id(1), id(0)}},
		{"from a time", AuditFilter{From: t0.Add(time.Minute)}, []int64{id(3), id(2), id(1)}},
		{"to a time, excluded", AuditFilter{To: t0.Add(2 * time.Minute)}, []int64{id(1), id(0)}},
		{"a page", AuditFilter{Limit: 2}, []int64{id(3), id(2)}},
		{"the next page", AuditFilter{Before: id(2)}, []int64{id(1), id(0)}},
		{"filters together", AuditFilter{Actor: "token", From: t0.Add(2 * time.Minute)}, []int64{id(3)}},
	} {
		if c.f.Limit == 0 {
			c.f.Limit = 10
		}
		list, err := db.AuditLog(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(list); len(got) != len(c.want) || (len(got) > 0 && !equalIDs(got, c.want)) {
			t.Errorf("%s: ids %v, want %v", c.name, got, c.want)
		}
	}

	// The database itself refuses to change or remove a row.
	for _, q := range []string{
		`UPDATE audit_log SET actor = 'someone else'`,
		`DELETE FROM audit_log`,
	} {
		if _, err := db.exec(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want it refused as append-only", q, err)
		}
	}
	if db.Engine() == Postgres {
		if _, err := db.exec(ctx, `TRUNCATE audit_log`); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("TRUNCATE: %v, want it refused as append-only", err)
		}
	}
	if again, _ := db.AuditLog(ctx, AuditFilter{Limit: 10}); len(again) != len(entries) || again[0].Actor != "token" {
		t.Errorf("after the refused statements the log holds %+v", again)
	}
}

func equalIDs(a, b []int64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// TestNoCodeChangesOrRemovesAuditEntries: the audit log is append-only in
// the service's code too. Erasure, which rewrites the subject of the
// member's entries to its pseudonym (EraseMember), is the one exception,
// named here by its whole statement.
func TestNoCodeChangesOrRemovesAuditEntries(t *testing.T) {
	t.Parallel()
	changes := regexp.MustCompile(`(?is)\b(UPDATE\s+audit_log|DELETE\s+FROM\s+audit_log|TRUNCATE\s+(TABLE\s+)?audit_log|DROP\s+TABLE\s+(IF\s+EXISTS\s+)?audit_log)\b[^\x60]*`)
	exception := map[string]string{filepath.Join("..", "..", "internal", "storage", "members.go"): "UPDATE audit_log SET subject = $3 WHERE mall = $1 AND subject = $2"}
	excepted := 0
	root := filepath.Join("..", "..")
	scanned := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".sql")) || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned++
		for _, m := range changes.FindAll(raw, -1) {
			if string(m) == exception[path] {
				excepted++
				continue
			}
			t.Errorf("%s: %q: the audit log is append-only", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 50 {
		t.Fatalf("only %d files scanned: the walk no longer finds the service's code", scanned)
	}
	if excepted != 1 {
		t.Errorf("erasure's rewrite of the subject found %d times, want once", excepted)
	}
}

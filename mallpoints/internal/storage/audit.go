package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// AuditEntry is one row of the audit log: a change someone made on the
// admin surface, or the service made by itself, with who, when, from where,
// what (Action, a code such as "adjustment.create", rendered per language
// by the dashboard) and the values before and after. The log is
// append-only: this package writes rows and reads them, and the database's
// triggers refuse UPDATE and DELETE, with one exception: erasure rewrites
// a member's openid in Subject to its pseudonym, as EraseMember does in the
// other tables, once (migration 00010 lets that UPDATE through and no
// other).
type AuditEntry struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// Actor is who: "local" (the implicit administrator on loopback),
	// "token" (the admin token), an account, "system" (the service itself:
	// an expiry run's outcome, a rules reload on SIGHUP) or "anonymous" (a
	// client that failed to sign in).
	Actor string `json:"actor"`
	// RemoteAddr is where from: the client's IP address; "" for the system.
	RemoteAddr string `json:"remote_addr,omitempty"`
	Action     string `json:"action"`
	Mall       string `json:"mall,omitempty"`
	// Subject is what the action was about within the mall: a member's
	// openid, a sync's id, a payment's transaction_id.
	Subject string `json:"subject,omitempty"`
	// Before and After are JSON objects, or empty. A top-level key naming
	// personal data (personalKeys) holds "changed", whatever was written.
	Before    json.RawMessage `json:"before,omitempty"`
	After     json.RawMessage `json:"after,omitempty"`
	RequestID string          `json:"request_id,omitempty"`
}

// AuditChanged is what the audit log keeps of a personal value: that it
// changed, never the value.
const AuditChanged = "changed"

// personalKeys are the keys of Before and After whose values are personal
// data: AppendAudit writes AuditChanged in their place.
var personalKeys = []string{"openid", "phone", "mobile", "birthday", "name", "real_name", "nickname",
	"email", "address", "plate_number", "card_code", "id_card", "password"}

// AuditValues is the JSON object of kv for an entry's Before or After. A
// value JSON cannot encode (a func, a channel: a bug) leaves an object
// that says so rather than no record.
func AuditValues(kv map[string]any) json.RawMessage {
	raw, err := json.Marshal(kv)
	if err != nil {
		raw, _ = json.Marshal(map[string]string{"unencodable": err.Error()})
	}
	return raw
}

// AppendAudit adds e to the audit log and sets its ID, and At when zero.
// Action and Actor are required; Before and After must be JSON objects or
// empty, and their personal values are replaced by AuditChanged.
func (db *DB) AppendAudit(ctx context.Context, e *AuditEntry) error { return appendAudit(ctx, db, e) }

// AppendAudit is DB.AppendAudit inside tx: the entry is written if and only
// if the transaction commits.
func (tx *Tx) AppendAudit(ctx context.Context, e *AuditEntry) error { return appendAudit(ctx, tx, e) }

func appendAudit(ctx context.Context, x executor, e *AuditEntry) error {
	if e.Action == "" || e.Actor == "" {
		return errors.New("storage: an audit entry needs an action and an actor")
	}
	before, err := auditObject(e.Before)
	if err != nil {
		return fmt.Errorf("storage: audit entry %s: before: %w", e.Action, err)
	}
	after, err := auditObject(e.After)
	if err != nil {
		return fmt.Errorf("storage: audit entry %s: after: %w", e.Action, err)
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = e.At.UTC().Truncate(time.Microsecond)
	e.Before, e.After = before, after
	err = x.queryRow(ctx, `INSERT INTO audit_log (at, actor, remote_addr, action, mall, subject, before_values,
		after_values, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		micros(e.At), e.Actor, e.RemoteAddr, e.Action, e.Mall, e.Subject, string(before), string(after), e.RequestID).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("storage: append audit entry %s: %w", e.Action, err)
	}
	return nil
}

// auditObject checks that raw is a JSON object (or empty) and writes
// AuditChanged for each of its personal values, compacted.
func auditObject(raw json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, errors.New("not a JSON object")
	}
	changed, _ := json.Marshal(AuditChanged)
	for _, k := range personalKeys {
		if _, ok := obj[k]; ok {
			obj[k] = changed
		}
	}
	return json.Marshal(obj)
}

// AuditFilter selects audit entries for listing; empty fields select all.
type AuditFilter struct {
	Actor  string
	Action string
	Mall   string
	From   time.Time // at or after; zero: since the first
	To     time.Time // before; zero: until now
	Before int64     // id cursor: entries with a smaller id; 0: the newest
	Limit  int
}

// AuditLog lists audit entries, newest first.
func (db *DB) AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	before, to := f.Before, micros(f.To)
	if before == 0 {
		before = 1<<63 - 1
	}
	if to == 0 {
		to = 1<<63 - 1
	}
	rs, err := db.query(ctx, `SELECT id, at, actor, remote_addr, action, mall, subject, before_values, after_values,
		request_id FROM audit_log WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR action = $2) AND ($3 = '' OR mall = $3)
		AND at >= $4 AND at < $5 AND id < $6 ORDER BY id DESC LIMIT $7`,
		f.Actor, f.Action, f.Mall, micros(f.From), to, before, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("storage: audit log: %w", err)
	}
	return collect(rs, func(r row) (AuditEntry, error) {
		var e AuditEntry
		var at int64
		var before, after string
		err := r.Scan(&e.ID, &at, &e.Actor, &e.RemoteAddr, &e.Action, &e.Mall, &e.Subject, &before, &after, &e.RequestID)
		e.At = fromMicros(at)
		if before != "" {
			e.Before = json.RawMessage(before)
		}
		if after != "" {
			e.After = json.RawMessage(after)
		}
		return e, err
	})
}

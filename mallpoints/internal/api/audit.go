package api

import (
	"net/http"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// auditLog lists the audit log, newest first:
// GET /api/audit?actor=&action=&mall=&from=&to=&before=&limit=.
func (a *API) auditLog(w http.ResponseWriter, r *http.Request) {
	f, err := auditFilter(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.db.AuditLog(r.Context(), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var next int64
	if len(list) == f.Limit {
		next = list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": list, "next_before": next})
}

// auditFilter reads the audit log's filters from r's query: actor, action
// and mall (exact), from (inclusive) and to (exclusive) as RFC 3339 times,
// before (an entry id: the previous page's next_before) and limit.
func auditFilter(r *http.Request) (storage.AuditFilter, error) {
	q := r.URL.Query()
	f := storage.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Mall: q.Get("mall")}
	var err error
	if f.Limit, err = limit(r); err != nil {
		return f, err
	}
	if f.Before, err = int64Param(r, "before"); err != nil {
		return f, err
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if s := q.Get(p.name); s != "" {
			if *p.t, err = time.Parse(time.RFC3339, s); err != nil {
				return f, &Error{Code: "INVALID_PARAMETER", Message: p.name + " must be an RFC 3339 time, such as 2026-05-20T00:00:00+08:00", Field: p.name}
			}
		}
	}
	return f, nil
}

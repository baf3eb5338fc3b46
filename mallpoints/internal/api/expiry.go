package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// expiryRequest is the body of POST /api/expiry/run.
type expiryRequest struct {
	AsOf string `json:"as_of"` // a Beijing date, YYYY-MM-DD, not after today
}

// runExpiry queues an expiry run as of a date, the daily run's job, and
// answers 202 with the run and its status URL, at once: a run over many
// members outlasts the admin listener's write timeout. While a run of the
// date is queued, running or waiting to retry, it answers that run.
func (a *API) runExpiry(w http.ResponseWriter, r *http.Request) {
	var req expiryRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if _, err := a.ledger.ExpiryDate(req.AsOf); err != nil {
		a.fail(w, r, err)
		return
	}
	run, created, err := a.outbox.RunExpiry(r.Context(), req.AsOf)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// What the run expires is the system's entry, written by the run
	// (package server), as the daily run's is.
	a.record(r, storage.AuditEntry{Action: "expiry.run", Subject: req.AsOf,
		After: values(map[string]any{"as_of": req.AsOf, "run": run.ID, "new_run": created})})
	w.Header().Set("Location", "/api/expiry/runs/"+strconv.FormatInt(run.ID, 10))
	writeJSON(w, http.StatusAccepted, run)
}

// expiryRun answers an expiry run's state and what it expired.
func (a *API) expiryRun(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		a.fail(w, r, &Error{Code: "INVALID_PARAMETER", Message: "the run id is a positive whole number", Field: "id"})
		return
	}
	run, err := a.outbox.ExpiryRun(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

// expiringWindow is how far ahead a member's points count as expiring soon.
const expiringWindow = 30 * 24 * time.Hour

package api

import (
	"net/http"
	"strconv"
	"time"
)

// expiryRequest is the body of POST /api/expiry/run.
type expiryRequest struct {
	AsOf string `json:"as_of"` // a Beijing date, YYYY-MM-DD, not after today
}

// runExpiry queues an expiry run as of a date, the daily run's job, and
// answers 202 with the run and its status URL, at once: a run over many
// members outlasts the admin listener's write timeout. While a run of the
// date is queued, running or waiting to retry, it answers that run. The
// request is audited where the run is queued (Expiry.RunExpiry), as the
// console's is.
func (a *API) runExpiry(w http.ResponseWriter, r *http.Request) {
	var req expiryRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	run, _, err := a.expiry.RunExpiry(r, req.AsOf)
	if err != nil {
		a.fail(w, r, err)
		return
	}
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
	run, err := a.expiry.ExpiryRun(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

// maxExpiryRuns bounds GET /api/expiry/runs?limit=; defaultExpiryRuns is
// its default.
const (
	defaultExpiryRuns = 20
	maxExpiryRuns     = 100
)

// expiryRuns answers the newest expiry runs River holds, daily and asked
// for, newest first: GET /api/expiry/runs?limit=, 1 to 100, default 20.
func (a *API) expiryRuns(w http.ResponseWriter, r *http.Request) {
	n := defaultExpiryRuns
	if s := r.URL.Query().Get("limit"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 || n > maxExpiryRuns {
			a.fail(w, r, &Error{Code: "INVALID_PARAMETER", Message: "limit must be a whole number from 1 to 100", Field: "limit"})
			return
		}
	}
	runs, err := a.expiry.ExpiryRuns(r.Context(), n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

// expiringWindow is how far ahead a member's points count as expiring soon.
const expiringWindow = 30 * 24 * time.Hour

package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// expiryRequest is the body of POST /api/expiry/run.
type expiryRequest struct {
	AsOf string `json:"as_of"` // a Beijing date, YYYY-MM-DD, not after today
}

// runExpiry runs expiry as of a date now, as the daily job does, and
// answers what it expired. Running it again for the same date expires
// nothing more.
func (a *API) runExpiry(w http.ResponseWriter, r *http.Request) {
	var req expiryRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	res, err := a.ledger.Expire(r.Context(), req.AsOf)
	if e, ok := ExpiryAudit(res, err); ok {
		a.record(r, e)
	}
	if errors.Is(err, ledger.ErrAsOfInvalid) {
		err = &Error{Code: "INVALID_FIELD", Message: "as_of must be a Beijing date (YYYY-MM-DD), not after today", Field: "as_of"}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// ExpiryAudit is the audit entry of an expiry run that returned res and
// err, and whether there is one: a run that finished, or one that stopped
// half-way having expired members' points (committed, each member in its
// own transaction).
func ExpiryAudit(res ledger.ExpiryResult, err error) (storage.AuditEntry, bool) {
	if err != nil && len(res.Members) == 0 {
		return storage.AuditEntry{}, false
	}
	return storage.AuditEntry{Action: "expiry.run", Subject: res.AsOf, After: values(map[string]any{
		"as_of": res.AsOf, "points": res.Points, "members": len(res.Members), "complete": err == nil})}, true
}

// expiringWindow is how far ahead a member's points count as expiring soon.
const expiringWindow = 30 * 24 * time.Hour

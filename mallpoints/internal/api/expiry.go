package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
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
	if errors.Is(err, ledger.ErrAsOfInvalid) {
		err = &Error{Code: "INVALID_FIELD", Message: "as_of must be a Beijing date (YYYY-MM-DD), not after today", Field: "as_of"}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// expiringWindow is how far ahead a member's points count as expiring soon.
const expiringWindow = 30 * 24 * time.Hour

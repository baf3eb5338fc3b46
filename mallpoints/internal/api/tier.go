package api

import (
	"errors"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// tierRequest is the body of PUT /api/members/{mall}/{openid}/tier.
type tierRequest struct {
	Tier  *string `json:"tier"`  // "" clears the tier set before
	Until string  `json:"until"` // an inclusive Beijing date, YYYY-MM-DD; required with a tier
}

// setTier sets a member's tier from the mall's CRM, overriding the tier
// computed from spend until a date.
func (a *API) setTier(w http.ResponseWriter, r *http.Request) {
	var req tierRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	switch {
	case req.Tier == nil || len(*req.Tier) > 64 || !utf8.ValidString(*req.Tier):
		a.fail(w, r, &Error{Code: "INVALID_FIELD", Message: "tier is required, at most 64 bytes of UTF-8; \"\" clears it", Field: "tier"})
		return
	case *req.Tier != "":
		if _, err := time.Parse(time.DateOnly, req.Until); err != nil {
			a.fail(w, r, &Error{Code: "INVALID_FIELD", Message: "until is required with a tier: an inclusive Beijing date, YYYY-MM-DD", Field: "until"})
			return
		}
	}
	mall, openid := r.PathValue("mall"), r.PathValue("openid")
	// What it was, for the audit log: a member not seen yet had none.
	before, err := a.db.Member(r.Context(), mall, openid)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		a.fail(w, r, err)
		return
	}
	m, err := a.ledger.SetTier(r.Context(), mall, openid, *req.Tier, req.Until)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.record(r, storage.AuditEntry{Action: "tier.set", Mall: mall, Subject: openid,
		Before: values(map[string]any{"tier": before.Tier, "until": before.TierUntil}),
		After:  values(map[string]any{"tier": m.Tier, "until": m.TierUntil})})
	writeJSON(w, http.StatusOK, map[string]any{"member": shown(r, m)})
}

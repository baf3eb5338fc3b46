package api

import (
	"net/http"
	"time"
	"unicode/utf8"
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
	m, err := a.ledger.SetTier(r.Context(), r.PathValue("mall"), r.PathValue("openid"), *req.Tier, req.Until)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"member": m})
}

package api

import (
	"net/http"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// decisions lists the payments and refunds waiting for their mall's CRM:
// GET /api/decisions?state=pending|parked.
func (a *API) decisions(w http.ResponseWriter, r *http.Request) {
	n, err := limit(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	state := r.URL.Query().Get("state")
	if state != "" && state != storage.DecisionPending && state != storage.DecisionParked {
		a.fail(w, r, &Error{Code: "INVALID_PARAMETER", Message: "state is pending or parked", Field: "state"})
		return
	}
	list, err := a.db.UndecidedList(r.Context(), scope(r), state, n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"decisions": list})
}

// decisionAction is the body of POST /api/decisions/{kind}/{mall}/{subject}:
// what to do with a parked decision.
type decisionAction struct {
	// Action is "retry" (ask the CRM again) or "rules" (have the rules
	// file decide, recorded with who asked).
	Action string `json:"action"`
}

// decideParked retries a parked decision or has the rules file make it.
func (a *API) decideParked(w http.ResponseWriter, r *http.Request) {
	var req decisionAction
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	kind, mall, subject := r.PathValue("kind"), r.PathValue("mall"), r.PathValue("subject")
	if kind != storage.DecisionOfPayment && kind != storage.DecisionOfRefund {
		a.fail(w, r, &Error{Code: "INVALID_PARAMETER", Message: "kind is payment or refund", Field: "kind"})
		return
	}
	var err error
	after := ""
	switch req.Action {
	case "retry":
		err, after = a.ledger.RetryDecision(r.Context(), kind, mall, subject, Actor(r.Context())), storage.DecisionPending
	case "rules":
		err, after = a.ledger.DecideByFile(r.Context(), kind, mall, subject, Actor(r.Context())), storage.DecisionByFile
	default:
		err = &Error{Code: "INVALID_FIELD", Message: `action is "retry" or "rules"`, Field: "action"}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.record(r, storage.AuditEntry{Action: "decision." + req.Action, Mall: mall, Subject: subject,
		Before: values(map[string]any{"kind": kind, "decision": storage.DecisionParked}),
		After:  values(map[string]any{"kind": kind, "decision": after})})
	writeJSON(w, http.StatusOK, map[string]any{"kind": kind, "mall": mall, "subject": subject, "action": req.Action})
}

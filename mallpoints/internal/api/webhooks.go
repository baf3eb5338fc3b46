package api

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// deliveries lists the webhook deliveries waiting (state=pending, the
// default) or parked (state=parked) of the caller's malls, oldest event
// first. A parked delivery holds its member's later events to its webhook.
func (a *API) deliveries(w http.ResponseWriter, r *http.Request) {
	n, err := limit(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	state := r.URL.Query().Get("state")
	if state == "" {
		state = storage.DeliveryPending
	}
	if state != storage.DeliveryPending && state != storage.DeliveryParked {
		a.fail(w, r, &Error{Code: "INVALID_PARAMETER", Message: "state is pending or parked", Field: "state"})
		return
	}
	list, err := a.db.Deliveries(r.Context(), scope(r), state, n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": list})
}

// redeliverRequest is the body of POST /api/webhooks/{name}/redeliver.
type redeliverRequest struct {
	// After: the events numbered above it are sent again.
	After *int64 `json:"after"`
	// Mall confines the redelivery to one mall's events; "" is every mall
	// the caller sees (it must name one when confined to several).
	Mall string `json:"mall"`
}

// redeliver sends a webhook's events above a seq again, keeping their ids,
// in order per member; parked deliveries among them are tried again.
func (a *API) redeliver(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var req redeliverRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.After == nil || *req.After < 0 {
		a.fail(w, r, &Error{Code: "INVALID_FIELD", Message: "after is the seq above which events are sent again, 0 or more", Field: "after"})
		return
	}
	mall := req.Mall
	if p := who(r); mall == "" && p.Scoped() {
		if len(p.Malls) > 1 {
			a.fail(w, r, &Error{Code: "INVALID_FIELD", Message: "name the mall: this account sees several", Field: "mall"})
			return
		}
		mall = p.Malls[0]
	}
	if mall != "" {
		if err := seen(r, "mall", mall); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if !a.knowsWebhook(name, mall) {
		writeError(w, http.StatusNotFound, &Error{Code: "NOT_FOUND", Message: "the rules name no webhook " + strconv.Quote(name)})
		return
	}
	n, err := a.outbox.Redeliver(r.Context(), name, mall, *req.After)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.record(r, storage.AuditEntry{Action: "webhook.redeliver", Mall: mall, Subject: name,
		After: values(map[string]any{"after": *req.After, "deliveries": n})})
	writeJSON(w, http.StatusAccepted, map[string]any{"webhook": name, "after": *req.After, "mall": mall, "deliveries": n})
}

// knowsWebhook reports whether the rules in force name webhook name: for
// mall, or for any mall (the default section included) when mall is "".
func (a *API) knowsWebhook(name, mall string) bool {
	set := a.current.Load()
	malls := []string{mall}
	if mall == "" {
		malls = []string{""} // an unlisted mall: the default section
		for _, m := range set.Malls() {
			malls = append(malls, m.MchID)
		}
	}
	for _, m := range malls {
		if slices.ContainsFunc(set.Mall(m).Webhooks, func(w *rules.Webhook) bool { return w.Name == name }) {
			return true
		}
	}
	return false
}

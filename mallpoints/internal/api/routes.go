package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/parking"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

func (a *API) members(w http.ResponseWriter, r *http.Request) {
	n, err := limit(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	var list []storage.Member
	if q.Has("phone") {
		// An exact search only: the whole number, never a part of it.
		phone, ok := normalPhone(q.Get("phone"))
		if !ok {
			a.fail(w, r, &Error{Code: "INVALID_PARAMETER", Field: "phone",
				Message: "phone is a whole mainland mobile number, 11 digits from 1, with or without +86: the search is exact"})
			return
		}
		list, err = a.db.MembersByPhone(r.Context(), scope(r), q.Get("mall"), phone, n)
	} else {
		list, err = a.db.Members(r.Context(), scope(r), q.Get("mall"), q.Get("after"), n)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// The page's points expiring within 30 days, in one grouped query; the
	// few members a phone finds, one by one.
	to := time.Now().Add(expiringWindow)
	expiring := map[storage.MemberRef]int64{}
	if q.Has("phone") {
		for _, m := range list {
			if expiring[storage.MemberRef{Mall: m.Mall, OpenID: m.OpenID}], err = a.db.Expiring(r.Context(), m.Mall, m.OpenID, time.Time{}, to); err != nil {
				break
			}
		}
	} else {
		expiring, err = a.db.ExpiringInPage(r.Context(), scope(r), q.Get("mall"), q.Get("after"), n, time.Time{}, to)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	type listed struct {
		storage.Member
		Expiring int64 `json:"expiring_30d"`
	}
	page := make([]listed, len(list))
	for i, m := range list {
		page[i] = listed{shown(r, m), expiring[storage.MemberRef{Mall: m.Mall, OpenID: m.OpenID}]}
	}
	next := ""
	if len(list) == n && !q.Has("phone") {
		next = list[len(list)-1].OpenID
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": page, "next_after": next})
}

func (a *API) member(w http.ResponseWriter, r *http.Request) {
	mall, openid := r.PathValue("mall"), r.PathValue("openid")
	m, err := a.db.Member(r.Context(), mall, openid)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	n, err := limit(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	entries, err := a.db.MemberEntries(r.Context(), mall, openid, n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// Points due within 30 days, and those already due that the next
	// expiry run will take.
	expiring, err := a.db.Expiring(r.Context(), mall, openid, time.Time{}, time.Now().Add(expiringWindow))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"member": shown(r, m), "entries": entries, "expiring_30d": expiring})
}

// adjustmentRequest is the body of POST …/adjustments.
type adjustmentRequest struct {
	Points *int64 `json:"points"` // non-zero; negative deducts (a redemption)
	Reason string `json:"reason"` // required, at most 256 bytes
}

func (a *API) adjust(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" || len(key) > 128 {
		a.fail(w, r, &Error{Code: "MISSING_IDEMPOTENCY_KEY", Message: "send an Idempotency-Key header of 1 to 128 bytes", Field: "Idempotency-Key"})
		return
	}
	var req adjustmentRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	switch {
	case req.Points == nil || *req.Points == 0:
		a.fail(w, r, &Error{Code: "INVALID_FIELD", Message: "points must be a non-zero whole number", Field: "points"})
		return
	case strings.TrimSpace(req.Reason) == "" || len(req.Reason) > 256 || !utf8.ValidString(req.Reason):
		a.fail(w, r, &Error{Code: "INVALID_FIELD", Message: "reason is required, at most 256 bytes of UTF-8", Field: "reason"})
		return
	case *req.Points > 0 && !who(r).Can(accounts.Adjust):
		// The route needs Redeem; crediting points needs Adjust too.
		writeError(w, http.StatusForbidden, &Error{Code: "FORBIDDEN", Field: "points",
			Message: "this account records redemptions (negative points) only; crediting points needs an operator"})
		return
	}
	mall := r.PathValue("mall")
	e, replay, err := a.ledger.Adjust(r.Context(), ledger.Adjustment{Mall: mall,
		OpenID: r.PathValue("openid"), Points: *req.Points, Reason: req.Reason, IdempotencyKey: key, Actor: Actor(r.Context())})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	adj, err := a.db.Adjustment(r.Context(), mall, key) // as recorded: a replay names the first request's actor
	if err != nil {
		a.fail(w, r, err)
		return
	}
	status := http.StatusCreated
	if replay {
		status = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	} else {
		// The reason stays in the ledger, which the seq names: it is free
		// text, and may name a person.
		a.record(r, storage.AuditEntry{Action: "adjustment.create", Mall: mall, Subject: e.OpenID,
			Before: values(map[string]any{"balance": e.BalanceAfter - e.Points}),
			After:  values(map[string]any{"balance": e.BalanceAfter, "points": e.Points, "seq": e.Seq, "idempotency_key": key})})
	}
	writeJSON(w, status, map[string]any{"entry": e, "adjustment": adj})
}

func (a *API) erase(w http.ResponseWriter, r *http.Request) {
	mall := r.PathValue("mall")
	p, err := a.ledger.Erase(r.Context(), mall, r.PathValue("openid"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// Named by the pseudonym: the openid erased is not kept here either.
	a.record(r, storage.AuditEntry{Action: "member.erase", Mall: mall, Subject: p,
		After: values(map[string]any{"openid": storage.AuditChanged})})
	writeJSON(w, http.StatusOK, map[string]any{"pseudonym": p})
}

func (a *API) transactions(w http.ResponseWriter, r *http.Request) {
	n, err := limit(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	before, err := int64Param(r, "before")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	state := q.Get("sync_state")
	if state != "" && !slices.Contains(storage.SyncStates, state) {
		a.fail(w, r, &Error{Code: "INVALID_PARAMETER", Message: "sync_state is " + syncStates, Field: "sync_state"})
		return
	}
	list, err := a.db.Transactions(r.Context(), storage.TransactionFilter{Mall: q.Get("mall"), Malls: scope(r), OpenID: q.Get("openid"),
		SyncState: state, Before: before, Limit: n})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var next int64
	if len(list) == n {
		next = list[len(list)-1].CreatedAt.UnixMicro()
	}
	writeJSON(w, http.StatusOK, map[string]any{"transactions": list, "next_before": next})
}

func (a *API) transaction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	mall, id := r.PathValue("mall"), r.PathValue("transaction_id")
	t, err := a.db.Transaction(ctx, mall, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	entries, err := a.db.TransactionEntries(ctx, mall, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	refunds, err := a.db.Refunds(ctx, mall, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	attempts, err := a.db.Attempts(ctx, t.SyncID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	n, err := a.db.Notification(ctx, t.NotificationID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"transaction": t, "notification": n, "entries": entries,
		"refunds": refunds, "attempts": attempts})
}

func (a *API) listSyncs(w http.ResponseWriter, r *http.Request, state string) {
	n, err := limit(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	after, err := int64Param(r, "after")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.db.Syncs(r.Context(), scope(r), state, after, n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var next int64
	if len(list) == n {
		next = list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"syncs": list, "next_after": next})
}

// syncStates names the states a filter accepts, for its error message.
var syncStates = "one of " + strings.Join(storage.SyncStates, ", ")

func (a *API) syncs(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	if state != "" && !slices.Contains(storage.SyncStates, state) {
		a.fail(w, r, &Error{Code: "INVALID_PARAMETER", Message: "state is " + syncStates, Field: "state"})
		return
	}
	a.listSyncs(w, r, state)
}

// parked lists the syncs that wait for a person: refused by WeChat Pay with
// a 4xx, or out of retries. Each names the code, message and Request-ID.
func (a *API) parked(w http.ResponseWriter, r *http.Request) { a.listSyncs(w, r, storage.SyncParked) }

func syncID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &Error{Code: "INVALID_PARAMETER", Message: "the sync id is a positive whole number", Field: "id"}
	}
	return id, nil
}

// sightedSync reads a sync of one of r's principal's malls; another
// mall's is ErrNotFound, as if it did not exist.
func (a *API) sightedSync(r *http.Request, id int64) (storage.Sync, error) {
	s, err := a.db.Sync(r.Context(), id)
	if err == nil && !who(r).Sees(s.Mall) {
		return storage.Sync{}, storage.ErrNotFound
	}
	return s, err
}

func (a *API) sync(w http.ResponseWriter, r *http.Request) {
	id, err := syncID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	s, err := a.sightedSync(r, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	attempts, err := a.db.Attempts(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sync": s, "attempts": attempts})
}

func (a *API) retry(w http.ResponseWriter, r *http.Request) {
	id, err := syncID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	s, err := a.sightedSync(r, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ok, err := a.outbox.Retry(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !ok {
		writeError(w, http.StatusConflict, &Error{Code: "NOT_PARKED", Message: "sync " + strconv.FormatInt(id, 10) + " is " + s.State + ", not parked, synced_unconfirmed or not_authorized"})
		return
	}
	a.record(r, storage.AuditEntry{Action: "sync.retry", Mall: s.Mall, Subject: strconv.FormatInt(id, 10),
		Before: values(map[string]any{"state": s.State}), After: values(map[string]any{"state": storage.SyncPending})})
	s.State = storage.SyncPending
	writeJSON(w, http.StatusAccepted, map[string]any{"sync": s})
}

// parkingRequest is the body of POST /api/parkings.
type parkingRequest struct {
	Mall        string `json:"mall"` // optional: the merchant's own mchid
	OpenID      string `json:"openid"`
	AppID       string `json:"appid"` // optional: the member's, else the mall's first in the rules
	PlateNumber string `json:"plate_number"`
	State       string `json:"state"` // IN or OUT
	Time        string `json:"time"`  // RFC 3339
}

func (a *API) park(w http.ResponseWriter, r *http.Request) {
	var req parkingRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.Mall == "" {
		req.Mall = a.mchID
	}
	if err := seen(r, "mall", req.Mall); err != nil {
		a.fail(w, r, err)
		return
	}
	p, created, err := a.parking.Park(r.Context(), parking.Event{Mall: req.Mall, OpenID: req.OpenID, AppID: req.AppID,
		PlateNumber: req.PlateNumber, State: req.State, Time: req.Time, IdempotencyKey: r.Header.Get("Idempotency-Key")})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	status := http.StatusAccepted
	if !created {
		status = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	} else {
		// The plate number is personal data: it is not recorded.
		a.record(r, storage.AuditEntry{Action: "parking.create", Mall: p.Mall, Subject: p.OpenID,
			After: values(map[string]any{"parking_id": p.ID, "state": p.State, "sync_id": p.SyncID})})
	}
	writeJSON(w, status, map[string]any{"parking": p})
}

func (a *API) parkings(w http.ResponseWriter, r *http.Request) {
	n, err := limit(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	before, err := int64Param(r, "before")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.db.Parkings(r.Context(), scope(r), before, n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"parkings": list})
}

// rules answers the rules in force; an account confined to some malls
// gets the default section and its malls' own, no other mall's.
func (a *API) rules(w http.ResponseWriter, r *http.Request) {
	set := a.current.Load()
	p := who(r)
	doc, err := set.MarshalMalls(func(mall string) bool { return p.Sees(mall) })
	if err != nil {
		a.fail(w, r, err)
		return
	}
	malls := slices.DeleteFunc(set.Malls(), func(m rules.Mall) bool { return !p.Sees(m.MchID) })
	out := map[string]any{"version": set.Version(), "rules": json.RawMessage(doc), "malls": malls}
	if p.Sees(a.mchID) {
		out["default_mall"] = set.Mall(a.mchID)
	}
	writeJSON(w, http.StatusOK, out)
}

// entries is the CRM feed: a mall's ledger entries after a cursor, in
// commit order. A CRM stores next_after and asks again; it never misses an
// entry. Without mall it is every entry, while the ledger holds one mall's.
func (a *API) entries(w http.ResponseWriter, r *http.Request) {
	after, err := int64Param(r, "after")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	n, err := limit(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	mall := r.URL.Query().Get("mall")
	if mall != "" {
		if err := seen(r, "mall", mall); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	list, err := a.db.EntriesAfter(r.Context(), scope(r), mall, after, n)
	if errors.Is(err, storage.ErrSeveralMalls) {
		err = &Error{Code: "INVALID_PARAMETER", Field: "mall",
			Message: "the ledger holds entries of several malls: follow each mall's feed with mall=MCHID, each with its own cursor"}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	next := after
	if len(list) > 0 {
		next = list[len(list)-1].Seq
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": list, "next_after": next})
}

// refusals lists the notifications refused at intake, the most recently
// delivered first: which field broke which rule, never the value.
func (a *API) refusals(w http.ResponseWriter, r *http.Request) {
	n, err := limit(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.db.Refusals(r.Context(), scope(r), n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"refusals": list})
}

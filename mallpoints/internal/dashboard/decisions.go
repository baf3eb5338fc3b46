package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// Decider retries a parked decision of a mall's CRM or has the rules file
// make it, naming who asked: package ledger.
type Decider interface {
	RetryDecision(ctx context.Context, kind, mall, subject, actor string) error
	DecideByFile(ctx context.Context, kind, mall, subject, actor string) error
}

// The words of decisions, kept here (and in the templates' sentences) so
// that a catalogue in another language can replace them.
var (
	// decisionLabels name who decided, or decides, a payment's points or a
	// refund's deduction (storage.Transaction.Decision).
	decisionLabels = map[string]string{
		storage.DecisionFile:    "By the rules file",
		storage.DecisionPending: "Waiting for the mall's CRM",
		storage.DecisionParked:  "Parked",
		storage.DecisionCRM:     "Decided by the mall's CRM",
		storage.DecisionByFile:  "Decided by the rules file after the CRM could not",
	}
	// kindLabels name what a decision is about.
	kindLabels = map[string]string{
		storage.DecisionOfPayment: "Payment",
		storage.DecisionOfRefund:  "Refund",
	}
)

// The notices of the decision buttons: the payment or refund (kindLabels
// and its id), and the actor where there is one.
const (
	noticeRetried   = "%s: the mall's CRM is asked again."
	noticeByFile    = "%s is decided by the rules file, recorded as asked by %s."
	noticeNotParked = "%s was not parked any more; nothing changed."
)

// decisionLabel is the label of a decision state, or the state itself.
func decisionLabel(state string) string {
	if l, ok := decisionLabels[state]; ok {
		return l
	}
	return state
}

// kindLabel is the label of a decision's kind, or the kind itself.
func kindLabel(kind string) string {
	if l, ok := kindLabels[kind]; ok {
		return l
	}
	return kind
}

// undecided reports whether a decision is still to be made: pending or
// parked.
func undecided(state string) bool {
	return state == storage.DecisionPending || state == storage.DecisionParked
}

// decisionButtons is what the template "decision-buttons" needs: the
// decision and the page to come back to.
type decisionButtons struct {
	Kind, Mall, Subject string
	Next                string // a local path
}

func buttons(kind, mall, subject, next string) decisionButtons {
	return decisionButtons{Kind: kind, Mall: mall, Subject: subject, Next: next}
}

// decisionCounts is what waits for the malls' CRMs, for the overview and
// the decisions page.
type decisionCounts struct {
	Pending, Parked int64
	Oldest          time.Time // the oldest waiting, of either state
}

// Total is how many wait, in either state.
func (c decisionCounts) Total() int64 { return c.Pending + c.Parked }

func (d *Dashboard) decisionCounts(ctx context.Context, scope storage.Malls) (decisionCounts, error) {
	counts, oldest, err := d.cfg.DB.DecisionCounts(ctx, scope)
	if err != nil {
		return decisionCounts{}, err
	}
	c := decisionCounts{Pending: counts[storage.DecisionPending], Parked: counts[storage.DecisionParked]}
	for _, at := range oldest {
		if c.Oldest.IsZero() || at.Before(c.Oldest) {
			c.Oldest = at
		}
	}
	return c, nil
}

type decisionsData struct {
	State  string // the filter: "", pending or parked
	Counts decisionCounts
	List   []storage.Undecided
	More   bool   // the list stops at decisionsPage
	Here   string // this page, where the buttons come back to
}

// decisionsPage is the most decisions the page lists, oldest first.
const decisionsPage = 200

// decisions lists the payments and refunds waiting for their mall's CRM:
// GET /decisions?state=pending|parked.
func (d *Dashboard) decisions(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	if !undecided(state) {
		state = ""
	}
	data := decisionsData{State: state, Here: "/decisions"}
	if state != "" {
		data.Here += "?state=" + state
	}
	var err error
	if data.Counts, err = d.decisionCounts(r.Context(), scope(r)); err != nil {
		d.fail(w, r, err)
		return
	}
	if data.List, err = d.cfg.DB.UndecidedList(r.Context(), scope(r), state, decisionsPage); err != nil {
		d.fail(w, r, err)
		return
	}
	data.More = len(data.List) == decisionsPage
	d.render(w, r, http.StatusOK, "decisions", page{Title: "Decisions", Nav: "decisions", Data: data})
}

// decide is the two buttons of a parked decision, POST
// /decisions/{kind}/{mall}/{subject}/{retry|rules}: ask the CRM again, or
// have the rules file decide. The ledger records the request's actor; a
// decision no longer parked is left as it is, and the notice says so.
func (d *Dashboard) decide(w http.ResponseWriter, r *http.Request) {
	kind, mall, subject, action := r.PathValue("kind"), r.PathValue("mall"), r.PathValue("subject"), r.PathValue("action")
	if _, ok := kindLabels[kind]; !ok || (action != "retry" && action != "rules") {
		d.fail(w, r, storage.ErrNotFound)
		return
	}
	next := "/decisions"
	if v := r.PostFormValue("next"); v != "" {
		next = localPath(v)
	}
	ctx := r.Context()
	actor := d.cfg.Actor(ctx)
	var err error
	if action == "retry" {
		err = d.cfg.Decider.RetryDecision(ctx, kind, mall, subject, actor)
	} else {
		err = d.cfg.Decider.DecideByFile(ctx, kind, mall, subject, actor)
	}
	name := kindLabel(kind) + " " + subject
	var notice string
	switch {
	case errors.Is(err, ledger.ErrNoDecision):
		d.fail(w, r, storage.ErrNotFound)
		return
	case errors.Is(err, ledger.ErrNotParked):
		notice = fmt.Sprintf(noticeNotParked, name)
	case err != nil:
		d.fail(w, r, err)
		return
	case action == "retry":
		notice = fmt.Sprintf(noticeRetried, name)
	default:
		notice = fmt.Sprintf(noticeByFile, name, actor)
	}
	if err == nil {
		after := storage.DecisionPending
		if action == "rules" {
			after = storage.DecisionByFile
		}
		d.record(r, storage.AuditEntry{Action: "decision." + action, Mall: mall, Subject: subject,
			Before: storage.AuditValues(map[string]any{"kind": kind, "decision": storage.DecisionParked}),
			After:  storage.AuditValues(map[string]any{"kind": kind, "decision": after})})
	}
	d.cfg.Logger.InfoContext(ctx, "dashboard: parked decision", "action", action, "kind", kind, "mall", mall,
		"subject", subject, "actor", actor, "parked", err == nil)
	d.redirectWithNotice(w, r, next, notice)
}

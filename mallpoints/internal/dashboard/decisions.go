package dashboard

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
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

// decisionStates are the states of a decision the pages name
// ("decision.<state>" in the catalogues), and decisionKinds what a
// decision is about ("kind.<kind>").
var (
	decisionStates = []string{storage.DecisionPending, storage.DecisionParked, storage.DecisionCRM, storage.DecisionByFile}
	decisionKinds  = []string{storage.DecisionOfPayment, storage.DecisionOfRefund}
)

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
	Next   template.URL // the query of the next page; "" on the last
	Here   string       // this page, where the buttons come back to
}

// decisionsPage is the most decisions a page lists, oldest first.
const decisionsPage = 100

// decisions lists the payments and refunds waiting for their mall's CRM:
// GET /decisions?state=pending|parked, in pages (after_at, in µs, and
// after, the last one's subject).
func (d *Dashboard) decisions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if !undecided(state) {
		state = ""
	}
	data := decisionsData{State: state, Here: "/decisions"}
	if state != "" {
		data.Here += "?state=" + state
	}
	var after storage.Undecided
	if at, _ := strconv.ParseInt(q.Get("after_at"), 10, 64); at > 0 {
		after = storage.Undecided{CreatedAt: time.UnixMicro(at), Subject: q.Get("after")}
	}
	var err error
	if data.Counts, err = d.decisionCounts(r.Context(), scope(r)); err != nil {
		d.fail(w, r, err)
		return
	}
	list, err := d.cfg.DB.UndecidedAfter(r.Context(), scope(r), state, after, decisionsPage+1)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	var more bool
	if data.List, more = firstPage(list, decisionsPage); more {
		last := data.List[decisionsPage-1]
		next := url.Values{"after_at": {strconv.FormatInt(last.CreatedAt.UnixMicro(), 10)}, "after": {last.Subject}}
		if state != "" {
			next.Set("state", state)
		}
		data.Next = template.URL(next.Encode())
	}
	d.render(w, r, http.StatusOK, "decisions", page{Title: d.lang(r).T("title.decisions"), Nav: "decisions", Data: data})
}

// decide is the two buttons of a parked decision, POST
// /decisions/{kind}/{mall}/{subject}/{retry|rules}: ask the CRM again, or
// have the rules file decide. The ledger records the request's actor; a
// decision no longer parked is left as it is, and the notice says so.
func (d *Dashboard) decide(w http.ResponseWriter, r *http.Request) {
	kind, mall, subject, action := r.PathValue("kind"), r.PathValue("mall"), r.PathValue("subject"), r.PathValue("action")
	if !slices.Contains(decisionKinds, kind) || (action != "retry" && action != "rules") {
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
	l := d.lang(r)
	name := l.T("decisions.subject.named", l.label("kind", kind), subject)
	var notice string
	switch {
	case errors.Is(err, ledger.ErrNoDecision):
		d.fail(w, r, storage.ErrNotFound)
		return
	case errors.Is(err, ledger.ErrNotParked):
		notice = l.T("notice.decision.notparked", name)
	case err != nil:
		d.fail(w, r, err)
		return
	case action == "retry":
		notice = l.T("notice.decision.retried", name)
	default:
		notice = l.T("notice.decision.byfile", name, actor)
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

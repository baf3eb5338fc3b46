package dashboard

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/outbox"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// Expiry queues the expiry run a request asks for, auditing it, and lists
// the runs: package server, whose POST /api/expiry/run queues through the
// same code.
type Expiry interface {
	// RunExpiry queues a run as of asOf for r, or answers the date's run
	// under way (false); ledger.ErrAsOfInvalid for a date that is none or
	// after today.
	RunExpiry(r *http.Request, asOf string) (outbox.ExpiryRun, bool, error)
	// ExpiryRuns are the limit newest runs, newest first.
	ExpiryRuns(ctx context.Context, limit int) ([]outbox.ExpiryRun, error)
}

// expiryStates are the states of a run the page names ("run.<state>" in
// the catalogues).
var expiryStates = []string{outbox.ExpiryQueued, outbox.ExpiryRunning, outbox.ExpiryRetrying, outbox.ExpiryDone, outbox.ExpiryFailed}

// expiryRunsShown is how many runs the page lists, newest first.
const expiryRunsShown = 20

type expiryData struct {
	Runs []outbox.ExpiryRun
	// AsOf is the date the form offers: the one asked for, else today's
	// Beijing date, which is also the latest it takes.
	AsOf, Today string
}

// underWay reports whether a run of runs is still to finish.
func underWay(runs []outbox.ExpiryRun) bool {
	return slices.ContainsFunc(runs, func(r outbox.ExpiryRun) bool {
		return r.State != outbox.ExpiryDone && r.State != outbox.ExpiryFailed
	})
}

// expiryPage lists the newest expiry runs, daily and asked for, with the
// form that asks for one; it reloads itself while a run is under way.
func (d *Dashboard) expiryPage(w http.ResponseWriter, r *http.Request) {
	d.renderExpiry(w, r, http.StatusOK, "", "")
}

// renderExpiry answers the expiry page with status, the form holding asOf
// ("" for today) and problem as its error.
func (d *Dashboard) renderExpiry(w http.ResponseWriter, r *http.Request, status int, asOf, problem string) {
	if d.cfg.Expiry == nil {
		d.fail(w, r, storage.ErrNotFound)
		return
	}
	runs, err := d.cfg.Expiry.ExpiryRuns(r.Context(), expiryRunsShown)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	today := d.cfg.Now().In(beijing).Format(time.DateOnly)
	data := expiryData{Runs: runs, AsOf: asOf, Today: today}
	if data.AsOf == "" {
		data.AsOf = today
	}
	p := page{Title: d.lang(r).T("title.expiry"), Nav: "expiry", Error: problem, Data: data, Live: underWay(runs)}
	d.render(w, r, status, "expiry", p)
}

// runExpiry is the page's form, POST /expiry/run with as_of: it queues a
// run as of that Beijing date, audited as the API's, and comes back to the
// page, whose notice names the run; while the date's run is under way it
// names that one.
func (d *Dashboard) runExpiry(w http.ResponseWriter, r *http.Request) {
	if d.cfg.Expiry == nil {
		d.fail(w, r, storage.ErrNotFound)
		return
	}
	asOf := strings.TrimSpace(r.PostFormValue("as_of"))
	run, created, err := d.cfg.Expiry.RunExpiry(r, asOf)
	l := d.lang(r)
	switch {
	case errors.Is(err, ledger.ErrAsOfInvalid):
		d.renderExpiry(w, r, http.StatusBadRequest, asOf, l.T("expiry.bad.date", asOf))
		return
	case err != nil:
		d.fail(w, r, err)
		return
	}
	notice := l.T("notice.expiry.queued", run.ID, asOf)
	if !created {
		notice = l.T("notice.expiry.underway", run.ID, asOf)
	}
	d.cfg.Logger.InfoContext(r.Context(), "dashboard: expiry run asked for", "as_of", asOf, "run", run.ID, "new_run", created)
	d.redirectWithNotice(w, r, "/expiry", notice)
}

package dashboard

import (
	"encoding/csv"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// auditActions are the audit log's action codes that the Audit page
// names ("action.<code>" in the catalogues) and offers as a filter. The
// log stores and filters on the codes; a code not listed (a route's own,
// made from its path) is shown as itself.
var auditActions = []string{"account.lang", "adjustment.create", "decision.retry", "decision.rules", "expiry.run",
	"export.audit", "export.ledger", "member.authorization_changed", "member.erase", "member.erased", "member.set", "parking.create", "rules.reload", "signin.failures",
	"simulate.payment", "simulate.refund", "sync.retry", "tier.set", "webhook.redeliver"}

// auditForm is the Audit page's filters, as the form holds them.
type auditForm struct {
	Actor, Action, Mall string
	From, To            string // Beijing days, YYYY-MM-DD, both included
}

// query is the form as a query string, for the next page and the CSV.
func (f auditForm) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"actor": f.Actor, "action": f.Action, "mall": f.Mall, "from": f.From, "to": f.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// auditFilter reads the Audit page's filters from r: actor, action, mall,
// from and to (Beijing days, both included) and before (an entry id).
func auditFilter(l *language, r *http.Request) (auditForm, storage.AuditFilter, string) {
	q := r.URL.Query()
	form := auditForm{Actor: q.Get("actor"), Action: q.Get("action"), Mall: q.Get("mall"), From: q.Get("from"), To: q.Get("to")}
	f := storage.AuditFilter{Actor: form.Actor, Action: form.Action, Mall: form.Mall}
	if form.From != "" {
		day, err := time.ParseInLocation(time.DateOnly, form.From, beijing)
		if err != nil {
			return form, f, l.T("audit.bad.from")
		}
		f.From = day
	}
	if form.To != "" {
		day, err := time.ParseInLocation(time.DateOnly, form.To, beijing)
		if err != nil {
			return form, f, l.T("audit.bad.to")
		}
		f.To = day.AddDate(0, 0, 1)
	}
	f.Before, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	f.Before = max(f.Before, 0)
	return form, f, ""
}

type auditData struct {
	Form    auditForm
	Actions []string // the codes the action filter offers
	Entries []storage.AuditEntry
	// Next is the query of the next page ("" on the last), CSV the query
	// of the CSV of every entry the filters select: url.Values encoded.
	Next template.URL
	CSV  template.URL
}

// auditPage is the audit log, newest first, with its filters.
func (d *Dashboard) auditPage(w http.ResponseWriter, r *http.Request) {
	l := d.lang(r)
	form, f, problem := auditFilter(l, r)
	data := auditData{Form: form, CSV: template.URL(form.query().Encode()), Actions: auditActions}
	if problem != "" {
		d.render(w, r, http.StatusBadRequest, "audit", page{Title: l.T("title.audit"), Nav: "audit", Error: problem, Data: data})
		return
	}
	const pageSize = 100
	f.Limit = pageSize
	list, err := d.cfg.DB.AuditLog(r.Context(), f)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data.Entries = list
	if len(list) == pageSize {
		q := form.query()
		q.Set("before", strconv.FormatInt(list[pageSize-1].ID, 10))
		data.Next = template.URL(q.Encode())
	}
	d.render(w, r, http.StatusOK, "audit", page{Title: l.T("title.audit"), Nav: "audit", Data: data})
}

// auditColumns is the audit CSV's header row.
var auditColumns = []string{"id", "at", "actor", "remote_addr", "action", "mall", "subject", "before", "after", "request_id"}

// auditCSV writes every entry the filters select, newest first, as CSV:
// UTF-8 with a byte-order mark (Excel on Chinese Windows reads a file
// without one in the local code page), each text cell defused as the
// ledger export's are. Exporting the log is itself an entry of it.
func (d *Dashboard) auditCSV(w http.ResponseWriter, r *http.Request) {
	form, f, problem := auditFilter(d.lang(r), r)
	if problem != "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(problem + "\n"))
		return
	}
	const pageSize = 1000
	f.Limit = pageSize
	list, err := d.cfg.DB.AuditLog(r.Context(), f)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="audit.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("\ufeff"))
	cw := csv.NewWriter(w)
	cw.Write(auditColumns)
	rows := 0
	for len(list) > 0 {
		for _, e := range list {
			cw.Write(auditRow(e))
		}
		rows += len(list)
		if len(list) < pageSize {
			break
		}
		f.Before = list[len(list)-1].ID
		if list, err = d.cfg.DB.AuditLog(r.Context(), f); err != nil {
			d.cfg.Logger.ErrorContext(r.Context(), "dashboard: audit export cut short", "error", err)
			cw.Write([]string{"# export failed here; download the file again"})
			break
		}
	}
	cw.Flush()
	after := map[string]any{"rows": rows}
	for k, v := range form.query() {
		after[k] = v[0]
	}
	d.record(r, storage.AuditEntry{Action: "export.audit", After: storage.AuditValues(after)})
}

func auditRow(e storage.AuditEntry) []string {
	return []string{strconv.FormatInt(e.ID, 10), e.At.In(beijing).Format(time.RFC3339Nano), text(e.Actor), text(e.RemoteAddr),
		text(e.Action), text(e.Mall), text(e.Subject), text(string(e.Before)), text(string(e.After)), text(e.RequestID)}
}

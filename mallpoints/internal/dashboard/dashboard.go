// Package dashboard is mallpointsd's web dashboard on the admin listener:
// server-rendered html/template pages with their assets embedded, no
// front-end build and no JavaScript. It shows the day at a glance (payments,
// points, the outbox, sync lag, the last 24 hours per hour), members and
// their ledger, a transaction with every sync attempt and who decided its
// points, the parked syncs with a retry button, the payments and refunds
// waiting for their mall's CRM with the two buttons of a parked decision
// (ask the CRM again, or decide by the rules file), the rules in force with a preview form (ledger.Preview,
// writing nothing), and a CSV export of a Beijing day's
// ledger for the mall's CRM. Without WeChat Pay credentials the service runs
// an embedded sandbox, and the dashboard offers a form that makes payments
// and refunds there.
//
// The dashboard reads through package storage and changes state only through
// the outbox's Retry, the ledger's decisions of parked payments and refunds
// (recorded with the request's actor) and the sandbox; each change, each
// export and each burst of wrong sign-ins is written to the audit log, which
// its Audit page shows. It renders no personal data beyond the openid;
// html/template escapes every value.
package dashboard

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/seed2ac2593f/wxpay/sandbox"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

//go:embed templates static
var assets embed.FS

// Retrier moves a parked sync back to the queue: package outbox.
type Retrier interface {
	Retry(ctx context.Context, syncID int64) (bool, error)
}

// Simulator makes payments and refunds happen: the embedded sandbox
// (*sandbox.Sandbox).
type Simulator interface {
	Authorize(req sandbox.MemberRequest) (sandbox.Member, bool, error)
	Pay(req sandbox.PaymentRequest) (sandbox.Payment, error)
	Refund(req sandbox.RefundRequest) (sandbox.Refund, error)
}

// Config is what the dashboard needs.
type Config struct {
	DB *storage.DB
	// Rules holds the rules in force.
	Rules   *rules.Current
	Retrier Retrier
	// Decider retries parked decisions or has the rules file make them.
	Decider Decider
	// Actor names who makes a request: the admin surface's guard knows
	// (package api's Actor). The ledger records it on a decision.
	Actor func(context.Context) string
	// MchID is the merchant's own mchid, the mall of simulated payments.
	MchID string
	// Token is the admin token; when set, browsers sign in with it.
	Token string
	// Sandbox, when set, enables the simulate forms (sandbox mode only).
	Sandbox Simulator
	Logger  *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MallName is a mall's display name ("" when none is known): pages
	// show it beside the mall's id.
	MallName func(mall string) string
	// Audit writes the audit entry of a change a request made, adding who
	// made it, from where and the request's id (package server). nil
	// records nothing.
	Audit func(r *http.Request, e storage.AuditEntry)
}

// Dashboard serves the pages.
type Dashboard struct {
	cfg     Config
	pages   map[string]*template.Template
	mux     *http.ServeMux
	signins *signinLimiter
	// noticeKey signs the notices an action leaves for the next page.
	noticeKey []byte
}

// New parses the templates and builds the routes.
func New(cfg Config) (*Dashboard, error) {
	if cfg.DB == nil || cfg.Rules == nil || cfg.Retrier == nil || cfg.Decider == nil || cfg.Actor == nil {
		return nil, errors.New("dashboard: DB, Rules, Retrier, Decider and Actor are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	d := &Dashboard{cfg: cfg, pages: map[string]*template.Template{}, signins: newSigninLimiter(cfg.Now),
		noticeKey: noticeKey(cfg.Token)}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		page := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if page == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).Funcs(template.FuncMap{"mall": d.mallLabel}).
			ParseFS(assets, "templates/layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("dashboard: template %s: %w", name, err)
		}
		d.pages[page] = t
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	m := http.NewServeMux()
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /signin", d.signinForm)
	m.HandleFunc("POST /signin", d.signin)
	m.HandleFunc("POST /signout", d.signout)
	m.HandleFunc("GET /{$}", d.overview)
	m.HandleFunc("GET /members", d.members)
	m.HandleFunc("GET /members/{mall}/{openid}", d.member)
	m.HandleFunc("GET /transactions/{mall}/{transaction_id}", d.transaction)
	m.HandleFunc("GET /parked", d.parked)
	m.HandleFunc("POST /parked/{id}/retry", d.retry)
	m.HandleFunc("GET /decisions", d.decisions)
	m.HandleFunc("POST /decisions/{kind}/{mall}/{subject}/{action}", d.decide)
	m.HandleFunc("GET /rules", d.rules)
	m.HandleFunc("POST /rules/preview", d.previewPayment)
	m.HandleFunc("GET /export", d.exportForm)
	m.HandleFunc("GET /export/ledger.csv", d.exportCSV)
	m.HandleFunc("POST /simulate/payment", d.simulatePayment)
	m.HandleFunc("POST /simulate/refund", d.simulateRefund)
	m.HandleFunc("GET /audit", d.auditPage)
	m.HandleFunc("GET /audit.csv", d.auditCSV)
	d.mux = m
	return d, nil
}

// Handler serves the dashboard at /. Mount it on the admin mux after the
// more specific /api/ and /metrics, and behind d.Guard and
// http.CrossOriginProtection.
func (d *Dashboard) Handler() http.Handler { return d.mux }

// page is what every template receives.
type page struct {
	Title   string
	Nav     string // the menu entry to mark
	Notice  string // a message after an action
	Error   string
	Sandbox bool
	SignOut bool // a token is configured: offer to sign out
	Data    any
}

func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := d.pages[name]
	if !ok {
		d.fail(w, r, fmt.Errorf("dashboard: no template %q", name))
		return
	}
	p.Sandbox = d.cfg.Sandbox != nil
	p.SignOut = d.cfg.Token != ""
	if p.Notice == "" {
		p.Notice = d.takeNotice(w, r)
	}
	var b strings.Builder
	if err := t.Execute(&b, p); err != nil {
		d.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

// record writes the audit entry of the change r made.
func (d *Dashboard) record(r *http.Request, e storage.AuditEntry) {
	if d.cfg.Audit != nil {
		d.cfg.Audit(r, e)
	}
}

// fail answers 404 for a record that does not exist and 500, logged, for
// anything else.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "The page could not be made; the error is in the service's log."
	if errors.Is(err, storage.ErrNotFound) {
		status, msg = http.StatusNotFound, "No such record."
	} else {
		d.cfg.Logger.ErrorContext(r.Context(), "dashboard: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	if t, ok := d.pages["error"]; ok && !strings.HasPrefix(r.URL.Path, "/error") {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		t.Execute(w, page{Title: http.StatusText(status), Error: msg, Sandbox: d.cfg.Sandbox != nil, SignOut: d.cfg.Token != ""})
		return
	}
	http.Error(w, msg, status)
}

// beijing is UTC+8: WeChat Pay's time, and the mall's day.
var beijing = time.FixedZone("CST", 8*3600)

// yuan shows fen as ¥1.23.
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s¥%d.%02d", sign, fen/100, fen%100)
}

// bj shows an instant in Beijing time.
func bj(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(beijing).Format("2006-01-02 15:04:05")
}

var funcs = template.FuncMap{
	"yuan":      yuan,
	"bj":        bj,
	"dur":       duration,
	"steps":     storedSteps,
	"decision":  decisionLabel,
	"kind":      kindLabel,
	"undecided": undecided,
	"buttons":   buttons,
	"short":     func(s string) string { return s[:min(len(s), 12)] },
	"action":    actionLabel,
	"signed": func(n int64) string {
		if n > 0 {
			return "+" + strconv.FormatInt(n, 10)
		}
		return strconv.FormatInt(n, 10)
	},
}

// mallLabel shows a mall as people know it: "朝阳大悦城 (1900000301)", or
// its id alone when no name is known.
func (d *Dashboard) mallLabel(mall string) string {
	if d.cfg.MallName != nil {
		if name := d.cfg.MallName(mall); name != "" {
			return name + " (" + mall + ")"
		}
	}
	return mall
}

// duration shows a lag the way people read it: 850ms, 2.4s, 3m10s.
func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	}
	return d.Round(time.Second).String()
}

// Package dashboard is mallpointsd's web dashboard on the admin listener:
// server-rendered html/template pages with their assets embedded and no
// front-end build, in English and Simplified Chinese (one message
// catalogue per language, locale/*.json; the language an account chose,
// else the browser's), with one small script that follows pending syncs
// (static/live.js). It shows the day at a glance (payments, points, the
// outbox, sync lag, the last 24 hours per hour), members (found by the start
// of their openid) and their ledger and payments in pages, the payments, a
// transaction with every sync attempt and who decided its points, the
// parked syncs with a retry button, the payments and refunds waiting for
// their mall's CRM with the two buttons of a parked decision (ask the CRM
// again, or decide by the rules file), the rules in force with a preview
// form (ledger.Preview, writing nothing), a CSV export of a Beijing day's
// ledger for the mall's CRM, and for admins the recent expiry runs with a
// form that queues one. Without WeChat Pay credentials the service runs an
// embedded sandbox, and the dashboard offers a form that makes payments
// and refunds there.
//
// The dashboard reads through package storage and changes state only through
// the outbox's Retry, the ledger's decisions of parked payments and refunds
// (recorded with the request's actor), Config.Expiry's runs, an account's
// language and the sandbox; each change, each export and each burst of
// wrong sign-ins is written to the audit log, which its Audit page shows.
// It renders no personal data beyond the openid; html/template escapes
// every value.
package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed2ac2593f/wxpay/sandbox"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

//go:embed templates static locale
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
	// Accounts are the people and programs that sign in; nil: the admin
	// token or the implicit local administrator only.
	Accounts *accounts.Service
	// SecureCookies marks cookies Secure on plain-HTTP requests too: the
	// console is reached over https through a proxy (an https --admin-url).
	SecureCookies bool
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
	// Expiry queues expiry runs, audited, and lists them; nil: the
	// console has no expiry page (it answers 404).
	Expiry Expiry
}

// Dashboard serves the pages.
type Dashboard struct {
	cfg Config
	// langs are the console's languages; pages their templates, by
	// language and page, each parsed with its language's functions.
	langs   map[string]*language
	pages   map[string]map[string]*template.Template
	static  http.Handler
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
	d := &Dashboard{cfg: cfg, signins: newSigninLimiter(cfg.Now), noticeKey: noticeKey(cfg.Token)}
	if err := d.parse(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	d.static = http.StripPrefix("/static/", http.FileServerFS(static))
	return d, nil
}

// parse reads the catalogues and parses every page's templates in every
// language.
func (d *Dashboard) parse() error {
	var err error
	if d.langs, err = loadLanguages(); err != nil {
		return err
	}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return err
	}
	d.pages = map[string]map[string]*template.Template{}
	for tag, l := range d.langs {
		d.pages[tag] = map[string]*template.Template{}
		for _, name := range names {
			page := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
			if page == "layout" {
				continue
			}
			t, err := template.New("layout.html").Funcs(d.funcs(l)).ParseFS(assets, "templates/layout.html", name)
			if err != nil {
				return fmt.Errorf("dashboard: template %s: %w", name, err)
			}
			d.pages[tag][page] = t
		}
	}
	return nil
}

// Route is one page or form of the dashboard and the permission it needs.
type Route struct {
	Pattern    string // a ServeMux pattern
	Permission accounts.Permission
	Handler    http.Handler
}

// Routes lists the dashboard's pages and forms. Mount each on the admin
// mux through d.Allow(route.Permission, …), behind d.Guard and
// http.CrossOriginProtection.
func (d *Dashboard) Routes() []Route {
	f := func(h http.HandlerFunc) http.Handler { return h }
	return []Route{
		{"GET /static/", accounts.Open, d.static},
		{"GET /signin", accounts.Open, f(d.signinForm)},
		{"POST /signin", accounts.Open, f(d.signin)},
		{"POST /signout", accounts.Open, f(d.signout)},
		{"GET /{$}", accounts.Read, f(d.overview)},
		{"GET /members", accounts.Read, f(d.members)},
		{"POST /lang", accounts.Open, f(d.setLang)},
		{"GET /members/{mall}/{openid}", accounts.Read, f(d.member)},
		{"GET /transactions", accounts.Read, f(d.transactions)},
		{"GET /transactions/{mall}/{transaction_id}", accounts.Read, f(d.transaction)},
		{"GET /live/syncs", accounts.Read, f(d.liveSyncs)},
		{"GET /parked", accounts.Read, f(d.parked)},
		{"POST /parked/{id}/retry", accounts.Retry, f(d.retry)},
		{"GET /decisions", accounts.Read, f(d.decisions)},
		{"POST /decisions/{kind}/{mall}/{subject}/{action}", accounts.Retry, f(d.decide)},
		{"GET /rules", accounts.Read, f(d.rules)},
		{"POST /rules/preview", accounts.Preview, f(d.previewPayment)},
		{"GET /export", accounts.Export, f(d.exportForm)},
		{"GET /export/ledger.csv", accounts.Export, f(d.exportCSV)},
		{"POST /simulate/payment", accounts.Simulate, f(d.simulatePayment)},
		{"POST /simulate/refund", accounts.Simulate, f(d.simulateRefund)},
		{"GET /audit", accounts.ReadAudit, f(d.auditPage)},
		{"GET /audit.csv", accounts.ReadAudit, f(d.auditCSV)},
		{"GET /expiry", accounts.RunExpiry, f(d.expiryPage)},
		{"POST /expiry/run", accounts.RunExpiry, f(d.runExpiry)},
	}
}

// page is what every template receives.
type page struct {
	Title   string
	Subject string // what the page is about, as written: an openid, a transaction id
	Nav     string // the menu entry to mark
	Notice  string // a message after an action
	Error   string
	Sandbox bool   // the simulate forms are offered: sandbox mode, to whom may use them
	Expiry  bool   // the expiry page is offered: to whom may run expiry
	Audit   bool   // the audit page is offered: to whom may read the audit log
	SignOut bool   // signed in: offer to sign out
	Who     string // who is signed in
	// Lang is the page's language; Switch the one its switch offers, and
	// Here where the switch comes back to (a local path).
	Lang   string
	Switch struct{ Tag, Name string }
	Here   string
	// Live loads the script that follows what is under way: syncs
	// pending until they are done, expiry runs until they end.
	Live bool
	Data any
}

func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	l := d.lang(r)
	t, ok := d.pages[l.tag][name]
	if !ok {
		d.fail(w, r, fmt.Errorf("dashboard: no template %q", name))
		return
	}
	d.who(r, &p)
	if name == "signin" {
		p.SignOut = false // whoever is signed in is signing in again: the page offers one thing
	}
	d.languages(r, l, &p)
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
	h.Set("Content-Language", l.tag)
	h.Set("Vary", "Accept-Language, Cookie")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

// contentSecurityPolicy lets a page load its stylesheet and the live
// script from the console, and nothing else.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// languages fills in a page's language, the switch to the other and where
// it comes back to: the page itself, or for a page that answers a form,
// the page the form is on.
func (d *Dashboard) languages(r *http.Request, l *language, p *page) {
	p.Lang = l.tag
	next := Languages[(slices.Index(Languages, l.tag)+1)%len(Languages)]
	p.Switch.Tag, p.Switch.Name = next, d.langs[next].T("lang.name")
	if p.Here == "" {
		p.Here = "/"
		if r.Method == http.MethodGet {
			p.Here = localPath(here(r.URL))
		}
	}
}

// pageQuery are the query parameters the pages read (a search, a filter,
// a page's cursor): the language switch comes back to a page with these,
// and never carries other text of a link.
var pageQuery = []string{"q", "openid", "state", "after", "after_mall", "after_at", "before", "entries_before",
	"payments_before", "actor", "action", "mall", "from", "to", "next"}

// here is u's path with the query parameters a page reads.
func here(u *url.URL) string {
	q, kept := u.Query(), url.Values{}
	for _, k := range pageQuery {
		if v, ok := q[k]; ok {
			kept[k] = v
		}
	}
	if next, ok := kept["next"]; ok {
		kept.Set("next", localPath(next[0])) // the sign-in's next stays on this site
	}
	if len(kept) == 0 {
		return u.Path
	}
	return u.Path + "?" + kept.Encode()
}

// lang is the language r is answered in.
func (d *Dashboard) lang(r *http.Request) *language { return d.langs[negotiate(r)] }

// record writes the audit entry of the change r made.
func (d *Dashboard) record(r *http.Request, e storage.AuditEntry) {
	if d.cfg.Audit != nil {
		d.cfg.Audit(r, e)
	}
}

// fail answers 404 for a record that does not exist and 500, logged, for
// anything else.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, err error) {
	l := d.lang(r)
	status, msg := http.StatusInternalServerError, l.T("error.internal")
	if errors.Is(err, storage.ErrNotFound) {
		status, msg = http.StatusNotFound, l.T("error.notfound")
	} else {
		d.cfg.Logger.ErrorContext(r.Context(), "dashboard: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	d.errorPage(w, r, status, msg)
}

// errorPage answers status with the error page showing msg.
func (d *Dashboard) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	l := d.lang(r)
	if t, ok := d.pages[l.tag]["error"]; ok {
		p := page{Title: l.label("status", strconv.Itoa(status)), Error: msg}
		d.who(r, &p)
		d.languages(r, l, &p)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Language", l.tag)
		w.WriteHeader(status)
		t.Execute(w, p)
		return
	}
	http.Error(w, msg, status)
}

// who fills in what a page shows of its viewer: who is signed in, and the
// simulate forms for whom may use them.
func (d *Dashboard) who(r *http.Request, p *page) {
	v, ok := accounts.FromContext(r.Context())
	p.Sandbox = d.cfg.Sandbox != nil && ok && v.Can(accounts.Simulate) && v.Sees(d.cfg.MchID)
	p.Expiry = d.cfg.Expiry != nil && ok && v.Can(accounts.RunExpiry)
	p.Audit = ok && v.Can(accounts.ReadAudit)
	p.SignOut = ok && v.Name != accounts.LocalActor
	if p.SignOut {
		p.Who = v.Name
	}
}

// viewer is the principal of r, set by the guard before any route but an
// Open one runs; without one (a page mounted without the guard) it is
// confined to a mall that does not exist, so it sees nothing.
func viewer(r *http.Request) accounts.Principal {
	if p, ok := accounts.FromContext(r.Context()); ok {
		return p
	}
	return accounts.Principal{Malls: []string{""}}
}

// scope is the malls r's viewer sees, for storage's reads.
func scope(r *http.Request) storage.Malls { return viewer(r).Malls }

// funcs are the templates' functions in language l.
func (d *Dashboard) funcs(l *language) template.FuncMap {
	label := func(prefix string) func(string) string {
		return func(code string) string { return l.label(prefix, code) }
	}
	return template.FuncMap{
		"t":         l.t,
		"th":        l.th,
		"yuan":      l.yuan,
		"when":      l.when,
		"day":       l.day,
		"dur":       l.duration,
		"state":     label("sync"),
		"outcome":   label("attempt"),
		"run":       label("run"),
		"decision":  label("decision"),
		"kind":      label("kind"),
		"entry":     label("entry"),
		"syncKind":  label("syncKind"),
		"action":    label("action"),
		"steps":     func(raw json.RawMessage) []stepRow { return storedSteps(l, raw) },
		"mall":      d.mallLabel,
		"undecided": undecided,
		"buttons":   buttons,
		"short":     func(s string) string { return s[:min(len(s), 12)] },
		"signed": func(n int64) string {
			if n > 0 {
				return "+" + strconv.FormatInt(n, 10)
			}
			return strconv.FormatInt(n, 10)
		},
	}
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

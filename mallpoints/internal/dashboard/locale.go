package dashboard

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// The console's languages, by the tags the accounts' lang column, the
// language cookie and <html lang> use. Each has one message catalogue,
// locale/<tag>.json: a flat object of keys and messages. A message takes
// its arguments as fmt verbs, indexed where the languages order them
// differently ("%[2]s … %[1]s"); a key ending in ".html" holds markup,
// its arguments escaped. TestCataloguesHoldTheSameKeys keeps the
// catalogues alike and every key the templates and the code use in them.
const (
	English = "en"
	Chinese = "zh-CN"
)

// Languages are the console's languages; the first is the default.
var Languages = []string{English, Chinese}

// LangCookie keeps the language a browser chose with the switch on every
// page, for whoever has no account to keep it (the bootstrap and local
// administrators, and anyone before signing in).
const LangCookie = "mallpointsd_lang"

// language is one catalogue and the formats of its conventions.
type language struct {
	tag  string
	msgs map[string]string
}

// loadLanguages reads every catalogue from assets.
func loadLanguages() (map[string]*language, error) {
	out := map[string]*language{}
	for _, tag := range Languages {
		raw, err := fs.ReadFile(assets, "locale/"+tag+".json")
		if err != nil {
			return nil, fmt.Errorf("dashboard: catalogue %s: %w", tag, err)
		}
		l := &language{tag: tag}
		if err := json.Unmarshal(raw, &l.msgs); err != nil {
			return nil, fmt.Errorf("dashboard: catalogue %s: %w", tag, err)
		}
		out[tag] = l
	}
	return out, nil
}

// message is the message of key with args, and false when the catalogue
// has no such key.
func (l *language) message(key string, args ...any) (string, bool) {
	m, ok := l.msgs[key]
	if !ok {
		return key, false
	}
	if len(args) == 0 {
		return m, true
	}
	return fmt.Sprintf(m, args...), true
}

// T is the message of key with args; a key the catalogue lacks reads as
// itself (a test keeps every key the code uses in both catalogues).
func (l *language) T(key string, args ...any) string {
	m, _ := l.message(key, args...)
	return m
}

// t is the templates' "t": a key missing from the catalogue fails the
// page rather than showing a key to people.
func (l *language) t(key string, args ...any) (string, error) {
	m, ok := l.message(key, args...)
	if !ok {
		return "", fmt.Errorf("dashboard: no message %q in catalogue %s", key, l.tag)
	}
	return m, nil
}

// th is the templates' "th": a message holding markup (its key ends in
// .html), with its arguments escaped.
func (l *language) th(key string, args ...any) (template.HTML, error) {
	if !strings.HasSuffix(key, ".html") {
		return "", fmt.Errorf("dashboard: th %q: a message with markup has a key ending in .html", key)
	}
	escaped := make([]any, len(args))
	for i, a := range args {
		escaped[i] = template.HTMLEscapeString(fmt.Sprint(a))
	}
	m, err := l.t(key, escaped...)
	return template.HTML(m), err
}

// label is the word for a code of kind prefix (a sync state, a decision,
// an audit action: labelled lists them), or the code itself when the
// catalogue has none, as for a code added after the catalogue.
func (l *language) label(prefix, code string) string {
	if m, ok := l.msgs[prefix+"."+code]; ok {
		return m
	}
	return code
}

// yuan shows fen as the language writes yuan: ¥1,234.50.
func (l *language) yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return sign + l.T("format.yuan", grouped(fen/100)+"."+fmt.Sprintf("%02d", fen%100))
}

// grouped writes n with a comma between each group of three digits, as
// both languages do.
func grouped(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// beijing is UTC+8: WeChat Pay's time, and the mall's day.
var beijing = time.FixedZone("CST", 8*3600)

// when shows an instant in Beijing time as the language writes dates:
// 20 May 2026 14:06:00, 2026年5月20日 14:06:00.
func (l *language) when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	t = t.In(beijing)
	return l.T("format.datetime", t.Year(), l.month(t), t.Day(), t.Format("15:04:05"))
}

// date shows the Beijing calendar day of t: 1 Jan 2020, 2020年1月1日.
func (l *language) date(t time.Time) string {
	t = t.In(beijing)
	return l.T("format.date", t.Year(), l.month(t), t.Day())
}

// day shows a Beijing calendar day with its weekday: Wed 20 May 2026,
// 2026年5月20日 星期三.
func (l *language) day(t time.Time) string {
	t = t.In(beijing)
	return l.T("format.day", t.Year(), l.month(t), t.Day(), l.label("weekday", weekdays[t.Weekday()]))
}

// weekdays are the days of the week as the rules file names them, from
// Sunday ("weekday.<day>" in the catalogues).
var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// month is t's month as the date formats take it: May, or 5.
func (l *language) month(t time.Time) string {
	return l.label("month", strconv.Itoa(int(t.Month())))
}

// months are the months' codes ("month.<n>" in the catalogues).
var months = []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"}

// duration shows a lag the way people read it: 850ms, 2.4s, 3m10s (in
// Chinese 850毫秒, 2.4秒, 3分10秒).
func (l *language) duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Second:
		return l.T("format.ms", d.Milliseconds())
	case d < time.Minute:
		return l.T("format.s", strconv.FormatFloat(d.Seconds(), 'f', 1, 64))
	case d < time.Hour:
		s := int(d.Round(time.Second) / time.Second)
		return l.T("format.min", s/60, s%60)
	}
	s := int(d.Round(time.Second) / time.Second)
	return l.T("format.hour", s/3600, s/60%60, s%60)
}

// labelled are the codes shown by their label, by prefix: a sync's state,
// an attempt's outcome, a decision, a ledger entry's kind, an audit
// action, a step of an earning's explanation. The catalogues have a
// message for each (TestCataloguesHoldTheSameKeys).
var labelled = map[string][]string{
	"sync":     storage.SyncStates,
	"syncKind": {storage.SyncPoints, storage.SyncParking},
	"attempt": {storage.AttemptOK, storage.AttemptRetry, storage.AttemptParked, storage.AttemptUnknown,
		storage.AttemptUnconfirmed},
	"decision":  decisionStates,
	"kind":      decisionKinds,
	"entry":     {storage.EntryEarn, storage.EntryRefund, storage.EntryAdjustment, storage.EntryExpire},
	"action":    auditActions,
	"step":      steps,
	"weekday":   weekdays,
	"month":     months,
	"rules.key": ruleKeys,
	"status":    {"400", "403", "404", "429", "500"},
	"run":       expiryStates,
}

// negotiate picks the language of r: the account's choice, else the
// language cookie, else the first language of Accept-Language the console
// has (any Chinese reads Simplified Chinese), else English.
func negotiate(r *http.Request) string {
	if p, ok := accounts.FromContext(r.Context()); ok && slices.Contains(Languages, p.Lang) {
		return p.Lang
	}
	if c, err := r.Cookie(LangCookie); err == nil && slices.Contains(Languages, c.Value) {
		return c.Value
	}
	return fromAcceptLanguage(r.Header.Get("Accept-Language"))
}

// fromAcceptLanguage is the console's language an Accept-Language header
// prefers most (RFC 9110 §12.5.4: ranges by quality, the earlier first
// among equals; q=0 refuses).
func fromAcceptLanguage(header string) string {
	best, bestQ := English, 0.0
	for part := range strings.SplitSeq(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		lang := ""
		switch primary {
		case "zh":
			lang = Chinese
		case "en":
			lang = English
		}
		if lang != "" && q > bestQ {
			best, bestQ = lang, q
		}
	}
	return best
}

// setLang is the language switch on every page, POST /lang with lang and
// next: the browser keeps the choice in a cookie, and a signed-in
// account in the database, where every session and token of it finds it
// (an audit entry records the change). It then goes back to next.
func (d *Dashboard) setLang(w http.ResponseWriter, r *http.Request) {
	tag := r.PostFormValue("lang")
	if !slices.Contains(Languages, tag) {
		d.errorPage(w, r, http.StatusBadRequest, d.lang(r).T("error.lang", strings.Join(Languages, ", ")))
		return
	}
	if p, ok := accounts.FromContext(r.Context()); ok && d.cfg.Accounts != nil && p.Name != accounts.TokenActor && p.Name != accounts.LocalActor {
		before, err := d.cfg.Accounts.SetLang(r.Context(), p.Name, tag)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		if before != tag {
			d.record(r, storage.AuditEntry{Action: "account.lang", Subject: p.Name,
				Before: storage.AuditValues(map[string]any{"lang": before}), After: storage.AuditValues(map[string]any{"lang": tag})})
		}
	}
	http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: tag, Path: "/", MaxAge: 400 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: d.secure(r)})
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}

package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/dashboard"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/pgtest"
)

const mall = "1900000109"

// decider is a Decider over a map of decision states, as the ledger
// keeps them: only a parked decision moves, and it records who asked.
type decider struct {
	mu     sync.Mutex
	states map[string]string // kind:subject → state
	asked  []string          // action kind:subject actor
}

func (f *decider) act(action, kind, m, subject, actor string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := kind + ":" + subject
	state, ok := f.states[key]
	switch {
	case m != mall || !ok:
		if action == "retry" {
			return ledger.ErrNotParked // as the ledger: it moves nothing it cannot find
		}
		return fmt.Errorf("%w: %s %s", ledger.ErrNoDecision, kind, subject)
	case state != storage.DecisionParked:
		return ledger.ErrNotParked
	}
	f.asked = append(f.asked, action+" "+key+" "+actor)
	f.states[key] = map[string]string{"retry": storage.DecisionPending, "rules": storage.DecisionByFile}[action]
	return nil
}

func (f *decider) RetryDecision(_ context.Context, kind, m, subject, actor string) error {
	return f.act("retry", kind, m, subject, actor)
}

func (f *decider) DecideByFile(_ context.Context, kind, m, subject, actor string) error {
	return f.act("rules", kind, m, subject, actor)
}

// decisionsFixture is a database with a parked payment (4200…01), a
// pending one (…02) and a parked refund (5000…01) of a payment the CRM
// decided (…03), and a dashboard over it behind the token "tok".
func decisionsFixture(t *testing.T, dsn string) (http.Handler, *decider) {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx *storage.Tx) error {
		total := int64(1000)
		for _, p := range []storage.Transaction{
			{TransactionID: "4200000000000000001", Decision: storage.DecisionParked, DecisionNote: "parked after a day of failed calls: crm: answered 500: \"boom\""},
			{TransactionID: "4200000000000000002", Decision: storage.DecisionPending, DecisionNote: "crm: answered 503: \"down for maintenance\""},
			{TransactionID: "4200000000000000003", Decision: storage.DecisionCRM, Points: 42, EarnPoints: true, CRMTotal: &total,
				Steps: json.RawMessage(`[{"step":"crm","name":"crm.mall.example","points":42}]`)},
		} {
			s, err := tx.NewSync(ctx, storage.SyncPoints, mall, p.TransactionID)
			if err != nil {
				return err
			}
			p.Mall, p.NotificationID, p.OpenID, p.AppID, p.Amount, p.TimeEnd, p.RuleVersion, p.SyncID =
				mall, "n-"+p.TransactionID, "o-member", "wx1", 12345, time.Now(), "v", s.ID
			if _, err := tx.InsertTransaction(ctx, &p); err != nil {
				return err
			}
			if _, err := tx.RecordNotification(ctx, storage.Notification{ID: p.NotificationID, EventType: "MALL_TRANSACTION.SUCCESS",
				Mall: mall, BusinessKey: p.TransactionID, Outcome: "applied", ReceivedAt: time.Now()}); err != nil {
				return err
			}
		}
		_, err := tx.InsertRefund(ctx, &storage.Refund{Mall: mall, RefundID: "50000000000000000001", TransactionID: "4200000000000000003",
			NotificationID: "n-r", OpenID: "o-member", RefundAmount: 2000, Decision: storage.DecisionParked, DecisionNote: "parked after a day of failed calls"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &decider{states: map[string]string{
		"payment:4200000000000000001": storage.DecisionParked,
		"payment:4200000000000000002": storage.DecisionPending,
		"payment:4200000000000000003": storage.DecisionCRM,
		"refund:50000000000000000001": storage.DecisionParked,
	}}
	d, err := dashboard.New(dashboard.Config{DB: db, Rules: rules.NewCurrent(rules.Default()), Retrier: noRetries{}, Decider: f,
		Actor: func(context.Context) string { return "token" }, Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, rt := range d.Routes() {
		mux.Handle(rt.Pattern, d.Allow(rt.Permission, rt.Handler))
	}
	return d.Guard(mux), f
}

// dashboardEngines are SQLite, and PostgreSQL when there is one.
func dashboardEngines(t *testing.T) map[string]func(t *testing.T) string {
	dsns := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return filepath.Join(t.TempDir(), "mallpoints.db") },
	}
	if base, ok := pgtest.Optional(t); ok {
		dsns["postgres"] = func(t *testing.T) string { return pgtest.NewDatabase(t, base, "dashboard_test") }
	}
	return dsns
}

// serve sends a request with the admin token and returns the answer.
func serve(h http.Handler, method, path string, form url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	r.Header.Set("Authorization", "Bearer tok")
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var noticeText = regexp.MustCompile(`id="notice">([^<]*)<`)

// noticeAfter follows a button's redirect with the cookie it set and
// returns the notice the page shows.
func noticeAfter(t *testing.T, h http.Handler, w *httptest.ResponseRecorder) string {
	t.Helper()
	page := serve(h, http.MethodGet, w.Header().Get("Location"), nil, w.Result().Cookies()...)
	m := noticeText.FindStringSubmatch(page.Body.String())
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestTheDecisionsPageListsWhatWaitsAndOffersButtonsForParkedOnesOnly(t *testing.T) {
	t.Parallel()
	for name, dsn := range dashboardEngines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, _ := decisionsFixture(t, dsn(t))
			w := serve(h, http.MethodGet, "/decisions", nil)
			if w.Code != http.StatusOK {
				t.Fatalf("GET /decisions: %d", w.Code)
			}
			page := w.Body.String()
			rows := regexp.MustCompile(`(?s)<tr data-decision="([^"]+)">(.*?)</tr>`).FindAllStringSubmatch(page, -1)
			got := map[string]string{}
			for _, r := range rows {
				got[r[1]] = r[2]
			}
			if len(got) != 3 {
				t.Fatalf("%d rows, want the parked payment, the pending one and the parked refund:\n%s", len(got), page)
			}
			for key, want := range map[string][]string{
				"payment:" + mall + ":4200000000000000001": {"Parked", "¥123.45", `href="/transactions/1900000109/4200000000000000001"`,
					`action="/decisions/payment/1900000109/4200000000000000001/retry"`, `action="/decisions/payment/1900000109/4200000000000000001/rules"`,
					"Ask the CRM again", "Decide by the rules file", "may have credited the member already", "answered 500"},
				"payment:" + mall + ":4200000000000000002": {"Waiting for the mall&#39;s CRM", "down for maintenance"},
				"refund:" + mall + ":50000000000000000001": {"Refund", "¥20.00", `href="/transactions/1900000109/4200000000000000003"`,
					`action="/decisions/refund/1900000109/50000000000000000001/rules"`},
			} {
				for _, s := range want {
					if !strings.Contains(got[key], s) {
						t.Errorf("row %s lacks %q:\n%s", key, s, got[key])
					}
				}
			}
			if row := got["payment:"+mall+":4200000000000000002"]; strings.Contains(row, "<form") {
				t.Errorf("a pending decision has buttons:\n%s", row)
			}
			for id, want := range map[string]string{"decisions-all": "3", "decisions-pending": "1", "decisions-parked": "2"} {
				if !strings.Contains(page, `id="`+id+`">`+want+`<`) {
					t.Errorf("the page does not count %s %s", id, want)
				}
			}
			parked := serve(h, http.MethodGet, "/decisions?state=parked", nil).Body.String()
			if strings.Contains(parked, "4200000000000000002") || !strings.Contains(parked, "4200000000000000001") {
				t.Error("?state=parked lists the pending payment, or not the parked one")
			}
			overview := serve(h, http.MethodGet, "/", nil).Body.String()
			if !strings.Contains(overview, `id="decisions-pending" href="/decisions?state=pending">1<`) ||
				!strings.Contains(overview, `id="decisions-parked" href="/decisions?state=parked">2<`) {
				t.Error("the overview does not link the decisions with their counts:\n" + overview)
			}
		})
	}
}

func TestADecisionButtonActsOnAParkedDecisionOnlyAndSaysWhatItDid(t *testing.T) {
	t.Parallel()
	for name, dsn := range dashboardEngines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, f := decisionsFixture(t, dsn(t))
			const base = "/decisions/payment/" + mall + "/"
			for _, c := range []struct {
				name, path string
				form       url.Values
				status     int
				location   string // after a 303
				notice     string
			}{
				{"ask the CRM again", base + "4200000000000000001/retry", url.Values{}, http.StatusSeeOther, "/decisions",
					"Payment 4200000000000000001: the mall's CRM is asked again."},
				{"the same button again: it is pending now", base + "4200000000000000001/retry", url.Values{}, http.StatusSeeOther, "/decisions",
					"Payment 4200000000000000001 was not parked any more; nothing changed."},
				{"decide a pending payment by the rules file", base + "4200000000000000002/rules", url.Values{"next": {"/decisions?state=pending"}},
					http.StatusSeeOther, "/decisions?state=pending", "Payment 4200000000000000002 was not parked any more; nothing changed."},
				{"decide a parked refund by the rules file, from its payment's page", "/decisions/refund/" + mall + "/50000000000000000001/rules",
					url.Values{"next": {"/transactions/" + mall + "/4200000000000000003"}}, http.StatusSeeOther,
					"/transactions/" + mall + "/4200000000000000003", "Refund 50000000000000000001 is decided by the rules file, recorded as asked by token."},
				{"a decided payment", base + "4200000000000000003/rules", url.Values{}, http.StatusSeeOther, "/decisions",
					"Payment 4200000000000000003 was not parked any more; nothing changed."},
				{"a next off the site comes back home", base + "4200000000000000003/retry", url.Values{"next": {"//evil.example/"}},
					http.StatusSeeOther, "/", ""},
				{"no such payment", base + "4200000000000000099/rules", url.Values{}, http.StatusNotFound, "", ""},
				{"no such kind", "/decisions/invoice/" + mall + "/4200000000000000001/rules", url.Values{}, http.StatusNotFound, "", ""},
				{"no such action", base + "4200000000000000001/delete", url.Values{}, http.StatusNotFound, "", ""},
			} {
				w := serve(h, http.MethodPost, c.path, c.form)
				if w.Code != c.status {
					t.Errorf("%s: status %d, want %d", c.name, w.Code, c.status)
					continue
				}
				if c.status != http.StatusSeeOther {
					continue
				}
				if loc := w.Header().Get("Location"); loc != c.location {
					t.Errorf("%s: back to %q, want %q", c.name, loc, c.location)
				}
				if c.notice != "" {
					if n := noticeAfter(t, h, w); n != c.notice {
						t.Errorf("%s: notice %q, want %q", c.name, n, c.notice)
					}
				}
			}
			want := []string{"retry payment:4200000000000000001 token", "rules refund:50000000000000000001 token"}
			if strings.Join(f.asked, "\n") != strings.Join(want, "\n") {
				t.Errorf("the ledger was asked:\n%s\nwant\n%s", strings.Join(f.asked, "\n"), strings.Join(want, "\n"))
			}

			// Without the token or a session the buttons do nothing.
			r := httptest.NewRequest(http.MethodPost, base+"4200000000000000001/rules", nil)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusUnauthorized || len(f.asked) != 2 {
				t.Errorf("a button without the token: status %d, %d decisions made; want 401 and none", w.Code, len(f.asked)-2)
			}
			if w := serve(h, http.MethodGet, base+"4200000000000000001/rules", nil); w.Code != http.StatusMethodNotAllowed {
				t.Errorf("GET on a button: status %d, want 405", w.Code)
			}
		})
	}
}

// The transaction page says who decided the points: waiting, parked with
// the two buttons coming back to the page, or the CRM with its total; a
// parked refund of the payment has its buttons too.
func TestTheTransactionPageSaysWhoDecidedThePoints(t *testing.T) {
	t.Parallel()
	h, _ := decisionsFixture(t, filepath.Join(t.TempDir(), "mallpoints.db"))
	decision := regexp.MustCompile(`(?s)<dd id="decision" data-decision="([a-z]+)">(.*?)</dd>`)
	for _, c := range []struct {
		txid, state string
		want        []string
		points      string
	}{
		{"4200000000000000001", "parked", []string{"Parked", "answered 500", "Ask the CRM again", "Decide by the rules file",
			`name="next" value="/transactions/1900000109/4200000000000000001"`}, "not decided yet"},
		{"4200000000000000002", "pending", []string{"Waiting for the mall&#39;s CRM", "down for maintenance"}, "not decided yet"},
		{"4200000000000000003", "crm", []string{"Decided by the mall&#39;s CRM", `<span id="crm-total">1000</span>`}, "42"},
	} {
		w := serve(h, http.MethodGet, "/transactions/"+mall+"/"+c.txid, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("transaction %s: status %d", c.txid, w.Code)
		}
		page := w.Body.String()
		m := decision.FindStringSubmatch(page)
		if m == nil || m[1] != c.state {
			t.Errorf("transaction %s: decision %q, want %s", c.txid, m, c.state)
			continue
		}
		for _, s := range c.want {
			if !strings.Contains(m[2], s) {
				t.Errorf("transaction %s: the decision lacks %q:\n%s", c.txid, s, m[2])
			}
		}
		if (c.state == "parked") != strings.Contains(m[2], "<form") {
			t.Errorf("transaction %s (%s): buttons shown %v", c.txid, c.state, !strings.Contains(m[2], "<form"))
		}
		if !strings.Contains(page, `id="points">`+c.points+`<`) {
			t.Errorf("transaction %s: points do not read %q", c.txid, c.points)
		}
	}
	page := serve(h, http.MethodGet, "/transactions/"+mall+"/4200000000000000003", nil).Body.String()
	if !strings.Contains(page, `<tr data-step="crm"><td>Decided by the mall&#39;s CRM</td><td>crm.mall.example</td>`) {
		t.Error("the CRM's step is not shown in words")
	}
	refund := regexp.MustCompile(`(?s)<tr data-refund="50000000000000000001">(.*?)</tr>`).FindStringSubmatch(page)
	if refund == nil || !strings.Contains(refund[1], "Parked") ||
		!strings.Contains(refund[1], `action="/decisions/refund/1900000109/50000000000000000001/retry"`) {
		t.Errorf("the parked refund on its payment's page: %q", refund)
	}
}

package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/server"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// expiryRules expire every point at the end of the Beijing year it is
// earned in: a payment of a past year has its lot due today.
const expiryRules = "default:\n  expiry: {policy: end_of_year, years: 0, start: 2020-01-01}\n"

// expiryRunView is an expiry run as the API answers it.
type expiryRunView struct {
	ID         int64      `json:"id"`
	AsOf       string     `json:"as_of"`
	State      string     `json:"state"`
	Attempts   int        `json:"attempts"`
	Error      string     `json:"error"`
	QueuedAt   time.Time  `json:"queued_at"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Points     int64      `json:"points"`
	Members    int        `json:"members"`
}

// requestExpiry posts POST /api/expiry/run as of asOf and returns the
// status, the Location and the run answered.
func (e *env) requestExpiry(asOf string) (int, string, expiryRunView) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.admin.URL+"/api/expiry/run", strings.NewReader(`{"as_of":"`+asOf+`"}`))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	resp, err := e.admin.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var run expiryRunView
	if resp.StatusCode == http.StatusAccepted {
		if err := json.Unmarshal(raw, &run); err != nil {
			e.t.Fatalf("POST /api/expiry/run: %v in %s", err, raw)
		}
	}
	return resp.StatusCode, resp.Header.Get("Location"), run
}

// expiryDone polls the status of the run at location until it is done,
// and returns it.
func (e *env) expiryDone(location string) expiryRunView {
	e.t.Helper()
	var run expiryRunView
	e.eventually("the expiry run at "+location, func() bool {
		run = expiryRunView{}
		if st := e.get(location, &run); st != http.StatusOK {
			e.t.Fatalf("GET %s: %d", location, st)
		}
		if run.State == "failed" {
			e.t.Fatalf("GET %s: %+v", location, run)
		}
		return run.State == "done"
	})
	return run
}

// expiryRuns answers GET /api/expiry/runs with query.
func (e *env) expiryRuns(query string) (int, []expiryRunView) {
	e.t.Helper()
	var list struct {
		Runs []expiryRunView `json:"runs"`
	}
	st := e.get("/api/expiry/runs"+query, &list)
	return st, list.Runs
}

// newestExpiryRunDone waits until the newest expiry run is done, and
// returns it.
func (e *env) newestExpiryRunDone() expiryRunView {
	e.t.Helper()
	var run expiryRunView
	e.eventually("the newest expiry run done", func() bool {
		st, runs := e.expiryRuns("")
		if st != http.StatusOK || len(runs) == 0 {
			e.t.Fatalf("GET /api/expiry/runs: %d %+v", st, runs)
		}
		run = runs[0]
		if run.State == "failed" {
			e.t.Fatalf("the newest run: %+v", run)
		}
		return run.State == "done"
	})
	return run
}

// Expiry over HTTP is queued: an old payment made with the sandbox's
// time_end earns a lot that is already due, the member's API shows it as
// expiring, and POST /api/expiry/run answers 202 at once with the run and
// a Location whose status says queued, running, then done with what the
// run expired. A request for a date whose run is done runs again, and
// expires nothing more. A date after today or not a date is a 400 naming
// as_of, before anything is queued.
func TestTheExpiryRunIsQueuedAndItsStatusSaysWhatItExpired(t *testing.T) {
	set := expiryRuleSet(t)
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{rules: set})
		openid := e.member(e.mchID)
		e.oldPayment(openid, 8800)
		type memberView struct {
			Member struct {
				Balance int64 `json:"balance"`
			} `json:"member"`
			Expiring int64 `json:"expiring_30d"`
		}
		var before memberView
		if st := e.get("/api/members/"+e.mchID+"/"+openid, &before); st != 200 || before.Member.Balance != 88 || before.Expiring != 88 {
			t.Errorf("member before the run: %d %+v, want balance 88, all of it expiring", st, before)
		}

		listed := func() (n int64, found bool) {
			var page struct {
				Members []struct {
					OpenID   string `json:"openid"`
					Expiring *int64 `json:"expiring_30d"`
				} `json:"members"`
			}
			if st := e.get("/api/members?mall="+e.mchID, &page); st != 200 {
				t.Fatalf("GET /api/members: %d", st)
			}
			for _, m := range page.Members {
				if m.Expiring == nil {
					t.Errorf("member %s listed without expiring_30d", m.OpenID)
				} else if m.OpenID == openid {
					n, found = *m.Expiring, true
				}
			}
			return n, found
		}
		if n, ok := listed(); !ok || n != 88 {
			t.Errorf("the list before the run: expiring %d (listed %v), want 88", n, ok)
		}

		today := beijingToday()
		st, location, queued := e.requestExpiry(today)
		if st != http.StatusAccepted || queued.ID <= 0 || queued.AsOf != today || location != fmt.Sprint("/api/expiry/runs/", queued.ID) ||
			(queued.State != "queued" && queued.State != "running" && queued.State != "done") || queued.QueuedAt.IsZero() {
			t.Fatalf("the request: %d at %q %+v; want 202, the run queued, and its status URL", st, location, queued)
		}
		first := e.expiryDone(location)
		if first.ID != queued.ID || first.AsOf != today || first.Points != 88 || first.Members != 1 || first.Attempts != 1 ||
			first.Error != "" || first.StartedAt == nil || first.FinishedAt == nil || first.FinishedAt.Before(*first.StartedAt) {
			t.Errorf("the run done: %+v; want 88 points of one member, in one attempt, with its times", first)
		}
		var after memberView
		if st := e.get("/api/members/"+e.mchID+"/"+openid, &after); st != 200 || after.Member.Balance != 0 || after.Expiring != 0 {
			t.Errorf("member after the run: %d %+v, want balance 0, nothing expiring", st, after)
		}
		if n, ok := listed(); !ok || n != 0 {
			t.Errorf("the list after the run: expiring %d (listed %v), want 0", n, ok)
		}

		// The date's run is done: asking again runs again, and expires nothing more.
		st, location, requeued := e.requestExpiry(today)
		if st != http.StatusAccepted || requeued.ID == first.ID {
			t.Fatalf("the request again: %d %+v; want 202 and a new run (the first, %d, is done)", st, requeued, first.ID)
		}
		if again := e.expiryDone(location); again.Points != 0 || again.Members != 0 {
			t.Errorf("the run again: %+v, want nothing more expired", again)
		}
		if st := e.get(fmt.Sprint("/api/expiry/runs/", first.ID), nil); st != http.StatusOK {
			t.Errorf("the first run's status after the second: %d, want 200", st)
		}

		tomorrow := time.Now().In(time.FixedZone("UTC+8", 8*3600)).AddDate(0, 0, 1).Format(time.DateOnly)
		for _, body := range []string{`{"as_of":"` + tomorrow + `"}`, `{"as_of":"2026-1-1"}`, `{}`, `{"asof":"2026-01-01"}`} {
			var ae apiError
			if st := e.do(http.MethodPost, "/api/expiry/run", body, nil, &ae); st != 400 || (ae.Field != "as_of" && ae.Field != "asof") ||
				(ae.Field == "as_of" && ae.Code != "INVALID_FIELD") {
				t.Errorf("%s: %d %+v, want 400 naming as_of", body, st, ae)
			}
		}
		for _, path := range []string{"/api/expiry/runs/999999999", "/api/expiry/runs/0", "/api/expiry/runs/x"} {
			var ae apiError
			if st := e.get(path, &ae); st != http.StatusNotFound && st != http.StatusBadRequest {
				t.Errorf("GET %s: %d %+v, want 404 or 400", path, st, ae)
			}
		}
	})
}

// One run per date at a time: requests for a date whose run is queued or
// running, one after another or at once, all answer that run; the run
// goes on, and its status names it. Here the run rests a second between
// members, so that it is still running when they come.
func TestARequestForADateWhoseRunIsUnderWayAnswersThatRun(t *testing.T) {
	set := expiryRuleSet(t)
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{rules: set, server: func(c *server.Config) {
			c.Expiry = ledger.ExpiryConfig{Batch: 1, Pause: time.Second}
		}})
		for range 3 {
			openid := e.member(e.mchID)
			e.oldPayment(openid, 1000)
		}
		today := beijingToday()
		st, location, first := e.requestExpiry(today)
		if st != http.StatusAccepted {
			t.Fatalf("the request: %d", st)
		}
		var wg sync.WaitGroup
		ids := make([]int64, 4)
		for i := range ids {
			wg.Go(func() {
				st, loc, run := e.requestExpiry(today)
				if st != http.StatusAccepted || loc != location {
					t.Errorf("request %d: %d at %q, want 202 at %s", i, st, loc, location)
				}
				ids[i] = run.ID
			})
		}
		wg.Wait()
		for i, id := range ids {
			if id != first.ID {
				t.Errorf("request %d while the run is under way: run %d, want %d", i, id, first.ID)
			}
		}
		if done := e.expiryDone(location); done.Members != 3 || done.Points != 30 {
			t.Errorf("the run: %+v, want 3 members' 30 points", done)
		}
	})
}

// GET /api/expiry/runs lists the runs River holds, newest first, each as
// GET /api/expiry/runs/{id} answers it: a run asked for is listed at once,
// then done with what it expired. Its limit is 1 to 100.
func TestTheListOfExpiryRunsNamesARunQueuedThenDone(t *testing.T) {
	set := expiryRuleSet(t)
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{rules: set})
		openid := e.member(e.mchID)
		e.oldPayment(openid, 8800)
		if st, runs := e.expiryRuns(""); st != http.StatusOK || len(runs) != 0 {
			t.Errorf("the list before any run: %d %+v, want none", st, runs)
		}
		today := beijingToday()
		st, location, queued := e.requestExpiry(today)
		if st != http.StatusAccepted {
			t.Fatalf("the request: %d", st)
		}
		if st, runs := e.expiryRuns(""); st != http.StatusOK || len(runs) != 1 || runs[0].ID != queued.ID || runs[0].AsOf != today ||
			!slices.Contains([]string{"queued", "running", "done"}, runs[0].State) || runs[0].QueuedAt.IsZero() {
			t.Errorf("the list once the run is asked for: %d %+v; want run %d", st, runs, queued.ID)
		}
		done := e.expiryDone(location)
		st, runs := e.expiryRuns("?limit=100")
		if st != http.StatusOK || len(runs) != 1 || runs[0].ID != done.ID || runs[0].State != "done" || runs[0].Points != 88 || runs[0].Members != 1 {
			t.Errorf("the list once the run is done: %d %+v; want %+v", st, runs, done)
		}
		_, location, second := e.requestExpiry(today)
		e.expiryDone(location)
		if _, runs := e.expiryRuns("?limit=1"); len(runs) != 1 || runs[0].ID != second.ID {
			t.Errorf("the newest run: %+v, want run %d", runs, second.ID)
		}
		if _, runs := e.expiryRuns(""); len(runs) != 2 || runs[0].ID != second.ID || runs[1].ID != done.ID {
			t.Errorf("the list: %+v, want runs %d then %d", runs, second.ID, done.ID)
		}
		for _, q := range []string{"?limit=0", "?limit=101", "?limit=x"} {
			var ae apiError
			if st := e.get("/api/expiry/runs"+q, &ae); st != http.StatusBadRequest || ae.Field != "limit" {
				t.Errorf("GET /api/expiry/runs%s: %d %+v, want 400 naming limit", q, st, ae)
			}
		}
	})
}

// The console's expiry page, for whom may run expiry: its form queues a
// run as of a date (today's Beijing date by default) and comes back to the
// page, whose notice names the run and which lists it, reloading itself
// until the run is done, in Chinese for a Chinese team. A date after today
// is refused on the page, and nothing is queued. The menu offers the page
// to admins only.
func TestTheExpiryPageQueuesARunAndFollowsIt(t *testing.T) {
	set := expiryRuleSet(t)
	forEachEngine(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{rules: set})
		openid := e.member(e.mchID)
		e.oldPayment(openid, 8800)
		chinese := http.Header{"Accept-Language": {"zh-CN,zh;q=0.9"}}
		today := beijingToday()
		body, st, _ := e.visit(http.MethodGet, "/expiry", nil, chinese)
		if st != http.StatusOK || !strings.Contains(body, `<h1>积分过期</h1>`) || !strings.Contains(body, `id="nav-expiry"`) ||
			!strings.Contains(body, `name="as_of" id="expiry-as-of" value="`+today+`"`) || !strings.Contains(body, `id="none-runs"`) ||
			strings.Contains(body, `/static/live.js`) {
			t.Fatalf("the page before any run: %d\n%s", st, body)
		}

		_, st, h := e.visit(http.MethodPost, "/expiry/run", url.Values{"as_of": {today}}, chinese)
		if st != http.StatusSeeOther || h.Get("Location") != "/expiry" {
			t.Fatalf("the form: %d to %q, want 303 to /expiry", st, h.Get("Location"))
		}
		st, runs := e.expiryRuns("")
		if st != http.StatusOK || len(runs) != 1 || runs[0].AsOf != today {
			t.Fatalf("the runs once the form is sent: %d %+v; want one as of %s", st, runs, today)
		}
		run := runs[0]
		var notice *http.Cookie
		for _, c := range (&http.Response{Header: h}).Cookies() {
			if c.Name == "mallpointsd_notice" {
				notice = c
			}
		}
		if notice == nil {
			t.Fatal("the form left no notice")
		}
		body, _, _ = e.visit(http.MethodGet, "/expiry", nil, chinese, notice)
		if want := fmt.Sprintf("积分过期任务 %d（截止 %s）已排队", run.ID, today); !strings.Contains(body, want) ||
			!strings.Contains(body, fmt.Sprintf(`<tr data-run="%d"`, run.ID)) {
			t.Errorf("the page after the form: want the notice %q and the run's row\n%s", want, body)
		}
		if body, _ := e.page(http.MethodGet, "/expiry", nil); strings.Contains(body, `data-state="queued"`) || strings.Contains(body, `data-state="running"`) {
			if !strings.Contains(body, `<script src="/static/live.js" defer></script>`) {
				t.Errorf("the page shows a run under way and does not reload itself\n%s", body)
			}
		}
		e.expiryDone(fmt.Sprint("/api/expiry/runs/", run.ID))
		body, _, _ = e.visit(http.MethodGet, "/expiry", nil, chinese)
		row := body[strings.Index(body, fmt.Sprintf(`<tr data-run="%d"`, run.ID)):]
		row = row[:strings.Index(row, "</tr>")]
		if !strings.Contains(row, "已完成") || !strings.Contains(row, `<td class="num">88</td><td class="num">1</td>`) ||
			!strings.Contains(row, "年") || strings.Contains(body, `/static/live.js`) {
			t.Errorf("the done run's row: want 已完成, 88 points of 1 member, its Beijing times, and no reload\n%s", row)
		}

		tomorrow := time.Now().In(time.FixedZone("UTC+8", 8*3600)).AddDate(0, 0, 1).Format(time.DateOnly)
		body, st, _ = e.visit(http.MethodPost, "/expiry/run", url.Values{"as_of": {tomorrow}}, chinese)
		if st != http.StatusBadRequest || !strings.Contains(body, `id="error"`) || !strings.Contains(body, tomorrow+" 不是有效日期") {
			t.Errorf("a date after today: %d, want 400 with the error on the page\n%s", st, body)
		}
		if _, runs := e.expiryRuns(""); len(runs) != 1 {
			t.Errorf("a date after today queued a run: %+v", runs)
		}

		// The menu offers the admin pages (expiry, the audit log) to whom
		// may open them only.
		if !strings.Contains(body, `id="nav-audit"`) {
			t.Errorf("the administrator's menu does not offer the audit log")
		}
		const password = "a password of some length"
		if err := e.srv.Accounts().Add(context.Background(), "otto", accounts.Operator, nil, password); err != nil {
			t.Fatal(err)
		}
		if body, st, _ := e.visit(http.MethodGet, "/members", nil, chinese, signIn(t, e, "otto", password)); st != http.StatusOK ||
			strings.Contains(body, `href="/expiry"`) || strings.Contains(body, `href="/audit"`) {
			t.Errorf("an operator's menu offers the expiry page or the audit log: %d", st)
		}
	})
}

// oldPayment makes a payment of amount fen by openid on 1 June 2024, whose
// points are due by now under expiryRules, and waits until it is recorded.
func (e *env) oldPayment(openid string, amount int64) {
	e.t.Helper()
	p, err := e.sb.Pay(sandbox.PaymentRequest{AppID: appID, OpenID: openid, Amount: amount, TimeEnd: "2024-06-01T12:00:00+08:00"})
	if err != nil {
		e.t.Fatal(err)
	}
	e.eventually("the old payment", func() bool {
		return e.get("/api/transactions/"+e.mchID+"/"+p.TransactionID, nil) == http.StatusOK
	})
}

// expiryRuleSet is expiryRules, parsed.
func expiryRuleSet(t *testing.T) *rules.Set {
	t.Helper()
	set, err := rules.Parse([]byte(expiryRules))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

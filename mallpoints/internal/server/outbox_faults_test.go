package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/server"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// logRecorder keeps the service's log records, to check what an operator
// reads.
type logRecorder struct {
	mu      sync.Mutex
	records []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, b.String())
	return nil
}

func (l *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return attrHandler{l, as}
}

func (l *logRecorder) WithGroup(string) slog.Handler { return l }

// attrHandler is a logRecorder with attributes added by Logger.With.
type attrHandler struct {
	*logRecorder
	attrs []slog.Attr
}

func (h attrHandler) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(h.attrs...)
	return h.logRecorder.Handle(ctx, r)
}

func (h attrHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return attrHandler{h.logRecorder, append(append([]slog.Attr{}, h.attrs...), as...)}
}

// find returns the first record containing every one of parts.
func (l *logRecorder) find(parts ...string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
next:
	for _, r := range l.records {
		for _, p := range parts {
			if !strings.Contains(r, p) {
				continue next
			}
		}
		return r, true
	}
	return "", false
}

// pointsFaults sets the faults of the points sync endpoint; the zero value
// lifts them.
func (e *env) pointsFaults(f sandbox.EndpointFaults) {
	e.t.Helper()
	faults := sandbox.Faults{}
	if f != (sandbox.EndpointFaults{}) {
		faults.Endpoints = map[string]sandbox.EndpointFaults{businesscircle.PathPointsNotify: f}
	}
	if err := e.sb.SetFaults(faults); err != nil {
		e.t.Fatal(err)
	}
}

// transactionView reads the API's view of a payment.
func (e *env) transactionView(txid string) transaction {
	e.t.Helper()
	var tr transaction
	if st := e.get("/api/transactions/"+e.mchID+"/"+txid, &tr); st != http.StatusOK && st != http.StatusNotFound {
		e.t.Fatalf("GET transaction %s: status %d", txid, st)
	}
	return tr
}

func TestASyncRefusedWith401IsRetriedSaidAndLandsOnceTheClockIsRight(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		// The sandbox's clock stands for the true time; moving it 10 minutes
		// makes the service's clock 10 minutes off, as WeChat Pay sees it.
		var skew atomic.Int64
		logs := &logRecorder{}
		e := newEnv(t, dsn, envOptions{
			sandbox: func(c *sandbox.Config) {
				c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
			},
			server: func(c *server.Config) { c.Logger = slog.New(logs) },
		})
		openid := e.member(e.mchID)
		// The payment's notification must reach the service before the clock
		// goes wrong (the service would refuse it too): its sync fails with
		// 500 until then.
		e.pointsFaults(sandbox.EndpointFaults{ErrorRate: 1, ErrorStatus: 500})
		txid := e.pay(e.mchID, openid, 1000, "")
		e.eventually("a first failed attempt", func() bool { return e.transactionView(txid).Transaction.Sync.Attempts > 0 })
		skew.Store(int64(10 * time.Minute))
		e.pointsFaults(sandbox.EndpointFaults{})

		e.eventually("three attempts refused with 401", func() bool {
			tr := e.transactionView(txid)
			if s := tr.Transaction.Sync; s.State != "pending" {
				t.Fatalf("after a 401 the sync is %s (attempts %+v), want pending: a 401 is the merchant's configuration, retried", s.State, tr.Attempts)
			}
			refused := 0
			for _, a := range tr.Attempts {
				if a.Status == http.StatusUnauthorized {
					refused++
				}
			}
			return refused >= 3
		})
		// The counter follows the attempt's record: it may lag the API by one.
		e.eventually("mallpoints_sync_signature_refused_total at least 3", func() bool {
			n, _ := value(t, e.scrape(), "mallpoints_sync_signature_refused_total", nil)
			return n >= 3
		})
		if _, ok := logs.find("ERROR", "WeChat Pay refuses this service's signatures", "clock"); !ok {
			t.Errorf("no error in the log saying that WeChat Pay refuses the signatures")
		}
		if body, _ := e.page(http.MethodGet, "/", nil); !strings.Contains(body, `id="signatures-refused"`) {
			t.Errorf("the overview shows no banner while WeChat Pay refuses the signatures")
		}

		skew.Store(0)
		e.synced(e.mchID, txid)
		if got := e.sandboxSync(txid); got.Count != 1 || got.Body.IncreasedPoints != 10 {
			t.Errorf("WeChat Pay has %+v, want the 10 points once", got)
		}
		if body, _ := e.page(http.MethodGet, "/", nil); strings.Contains(body, `id="signatures-refused"`) {
			t.Errorf("the banner stays after the syncs land again")
		}
	})
}

func TestTheTotalPointsSentIsTheMembersBalanceWhenTheSyncIsSent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		// One attempt per job: payment A's failed sync parks at once and is
		// sent again, after payment B's, by a retry through the API.
		e := newEnv(t, dsn, envOptions{server: func(c *server.Config) { c.MaxAttempts = 1 }})
		openid := e.member(e.mchID)
		e.pointsFaults(sandbox.EndpointFaults{ErrorRate: 1, ErrorStatus: 500})
		a := e.pay(e.mchID, openid, 1000, "")
		e.eventually("A's sync to park", func() bool { return e.transactionView(a).Transaction.Sync.State == "parked" })
		e.pointsFaults(sandbox.EndpointFaults{})
		b := e.pay(e.mchID, openid, 2000, "")
		e.synced(e.mchID, b)

		id := e.transactionView(a).Transaction.Sync.ID
		if st := e.do(http.MethodPost, fmt.Sprintf("/api/syncs/%d/retry", id), nil, nil, nil); st != http.StatusAccepted {
			t.Fatalf("retry of A's sync: status %d", st)
		}
		got := e.synced(e.mchID, a)
		sent := e.sandboxSync(a)
		if sent.Body.TotalPoints == nil || *sent.Body.TotalPoints != 30 {
			t.Errorf("A's sync, sent after B's, told WeChat Pay total_points %v, want the member's balance 30", ptrString(sent.Body.TotalPoints))
		}
		if sent.Body.IncreasedPoints != 10 {
			t.Errorf("A's sync increased_points %d, want 10", sent.Body.IncreasedPoints)
		}
		if got.Transaction.TotalPoints != 10 {
			t.Errorf("A's recorded total_points %d, want the balance right after its entry, 10", got.Transaction.TotalPoints)
		}
		// What WeChat Pay heard is on record: each attempt's total, the
		// accepted one's as the sync's, and as the member's last total
		// (the member page shows it beside the balance).
		if s := got.Transaction.Sync.SyncedTotal; s == nil || *s != 30 {
			t.Errorf("A's sync records synced_total %s, want the 30 WeChat Pay accepted", ptrString(s))
		}
		if n := len(got.Attempts); n != 2 || ptrString(got.Attempts[0].TotalPoints) != "10" || ptrString(got.Attempts[1].TotalPoints) != "30" {
			var totals []string
			for _, a := range got.Attempts {
				totals = append(totals, ptrString(a.TotalPoints))
			}
			t.Errorf("A's attempts sent total_points %v, want 10 (refused) then 30 (accepted)", totals)
		}
		last, err := e.srv.DB().LastSynced(context.Background(), e.mchID, openid)
		if err != nil || last.TransactionID != a || last.Total != 30 {
			t.Errorf("the member's last synced payment %+v, %v; want A's with the total WeChat Pay last heard, 30", last, err)
		}
	})
}

func ptrString(p *int64) string {
	if p == nil {
		return "absent"
	}
	return fmt.Sprint(*p)
}

func TestARepeatRefusedAfterAnAttemptOfUnknownOutcomeIsSyncedUnconfirmedNotParked(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		logs := &logRecorder{}
		e := newEnv(t, dsn, envOptions{
			sandbox: func(c *sandbox.Config) { c.RejectRepeatedPointsSync = true },
			server:  func(c *server.Config) { c.Logger = slog.New(logs) },
		})
		openid := e.member(e.mchID)
		// WeChat Pay takes the sync and the connection drops before its
		// answer: the service cannot know, and its repeat is refused.
		e.pointsFaults(sandbox.EndpointFaults{DropRate: 1})
		txid := e.pay(e.mchID, openid, 1000, "")
		e.eventually("an attempt of unknown outcome", func() bool { return e.transactionView(txid).Transaction.Sync.Attempts > 0 })
		e.pointsFaults(sandbox.EndpointFaults{})

		var tr transaction
		e.eventually("the repeat's refusal", func() bool {
			tr = e.transactionView(txid)
			return tr.Transaction.Sync.State != "pending"
		})
		if s := tr.Transaction.Sync; s.State != "synced_unconfirmed" || s.LastCode != "PARAM_ERROR" {
			t.Fatalf("sync %+v after a refused repeat, want synced_unconfirmed with WeChat Pay's PARAM_ERROR", s)
		}
		if n := len(tr.Attempts); n != 2 || tr.Attempts[0].Outcome != "unknown" || tr.Attempts[1].Outcome != "unconfirmed" {
			t.Errorf("attempts %+v, want unknown then unconfirmed", tr.Attempts)
		}
		if got := e.sandboxSync(txid); got.Count != 1 || got.Body.IncreasedPoints != 10 {
			t.Errorf("WeChat Pay has %+v, want the 10 points once", got)
		}
		var listed syncList
		if st := e.get("/api/syncs?state=synced_unconfirmed", &listed); st != http.StatusOK || len(listed.Syncs) != 1 {
			t.Errorf("GET /api/syncs?state=synced_unconfirmed: status %d, %d syncs, want 1", st, len(listed.Syncs))
		}
		var parked syncList
		if e.get("/api/parked", &parked); len(parked.Syncs) != 0 {
			t.Errorf("parked: %+v, want none", parked.Syncs)
		}
		if n, _ := value(t, e.scrape(), "mallpoints_sync_attempts_total", map[string]string{"outcome": "unconfirmed"}); n != 1 {
			t.Errorf("mallpoints_sync_attempts_total{outcome=unconfirmed} = %v, want 1", n)
		}
		if _, ok := logs.find("WARN", "synced_unconfirmed", txid); !ok {
			t.Errorf("no warning in the log names the transaction marked synced_unconfirmed")
		}
		if body, _ := e.page(http.MethodGet, "/transactions/"+e.mchID+"/"+txid, nil); !strings.Contains(body, `data-state="synced_unconfirmed" id="sync-state">`) {
			t.Errorf("the transaction page does not show synced_unconfirmed")
		}
		if body, _ := e.page(http.MethodGet, "/", nil); !strings.Contains(body, `id="syncs-unconfirmed">1<`) {
			t.Errorf("the overview does not count the sync synced_unconfirmed")
		}
	})
}

func TestAnAttemptOfUnknownOutcomeIsSentAgainOnlyAfterTheBackoff(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		const base = 5 * time.Minute
		e := newEnv(t, dsn, envOptions{server: func(c *server.Config) { c.RetryBase = base }})
		openid := e.member(e.mchID)
		e.pointsFaults(sandbox.EndpointFaults{DropRate: 1})
		txid := e.pay(e.mchID, openid, 1000, "")
		var tr transaction
		e.eventually("an attempt of unknown outcome", func() bool {
			tr = e.transactionView(txid)
			return tr.Transaction.Sync.Attempts > 0
		})
		if len(tr.Attempts) != 1 || tr.Attempts[0].Outcome != "unknown" || tr.Attempts[0].Code != "NETWORK_ERROR" {
			t.Errorf("attempts %+v, want one NETWORK_ERROR of unknown outcome", tr.Attempts)
		}
		// River holds the job until its next attempt: one backoff away.
		var state string
		var at time.Time
		e.eventually("the job to be scheduled again", func() bool {
			err := e.srv.DB().SQL().QueryRowContext(context.Background(),
				`SELECT state, scheduled_at FROM river_job WHERE kind = 'mallpoints.sync'`).Scan(&state, &at)
			if err != nil {
				t.Fatal(err)
			}
			return state != "running"
		})
		if wait := time.Until(at); wait < base/2 {
			t.Errorf("the job is %s, to run in %v: an unknown outcome is sent again only after the backoff of %v", state, wait, base)
		}
		if got := e.sandboxSync(txid); got.Count != 1 {
			t.Errorf("WeChat Pay received the sync %d times, want once", got.Count)
		}
	})
}

func TestAnAttemptWhoseOutcomeACrashHidIsCounted(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for River's rescue pass, which runs every 30 s")
	}
	forEachEngine(t, func(t *testing.T, dsn string) {
		timings := func(c *server.Config) { c.JobTimeout, c.RescueAfter = 5*time.Second, 5*time.Second }
		e := newEnv(t, dsn, envOptions{server: timings})
		openid := e.member(e.mchID)
		// WeChat Pay is slow: the sync is mid-call when the process dies.
		e.pointsFaults(sandbox.EndpointFaults{Latency: sandbox.Duration(time.Minute)})
		txid := e.pay(e.mchID, openid, 1000, "")
		e.eventually("the sync's call to be under way", func() bool {
			var n int
			err := e.srv.DB().SQL().QueryRowContext(context.Background(),
				`SELECT COUNT(*) FROM river_job WHERE kind = 'mallpoints.sync' AND state = 'running'`).Scan(&n)
			if err != nil {
				t.Fatal(err)
			}
			return n == 1
		})
		e.crash()
		e.pointsFaults(sandbox.EndpointFaults{})
		e.start()

		got := e.synced(e.mchID, txid)
		if got.Transaction.Sync.Attempts != 2 {
			t.Errorf("the sync counts %d attempt(s) (recorded: %+v), want 2: the one the crash hid and the one that landed",
				got.Transaction.Sync.Attempts, got.Attempts)
		}
		if body, _ := e.page(http.MethodGet, "/transactions/"+e.mchID+"/"+txid, nil); !strings.Contains(body, "after 2 attempt(s)") {
			t.Errorf("the transaction page does not count 2 attempts")
		}
	})
}

// crash abandons the running service as a killed process would: its database
// handle closes under it, so nothing it was doing is recorded, and its jobs
// stay running in River's table until another process rescues them.
func (e *env) crash() {
	e.t.Helper()
	e.mu.Lock()
	srvs := e.replicas
	e.srv, e.replicas = nil, nil
	e.mu.Unlock()
	e.admin.Close()
	for _, srv := range srvs {
		srv.DB().Close()
		e.t.Cleanup(func() {
			// The dead process's River client: stop its goroutines.
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			srv.Outbox().Stop(ctx)
		})
	}
}

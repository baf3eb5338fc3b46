package memberstatus_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/notify"
	"github.com/seed2ac2593f/wxpay/sandbox"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/memberstatus"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

const (
	mall  = "1900000109" // the sandbox's merchant, a mall in merchant mode
	appID = "wxd678efh567hg6787"
)

// noQueue enqueues nothing: no sync is sent here.
type noQueue struct{}

func (noQueue) Enqueue(context.Context, *storage.Tx, int64) error         { return nil }
func (noQueue) Publish(context.Context, *storage.Tx, storage.Event) error { return nil }
func (noQueue) EnqueueDecision(context.Context, *storage.Tx, string, string, string) error {
	return nil
}

// oneMerchant signs every mall's calls with the sandbox's client.
type oneMerchant struct{ c *wxpay.Client }

func (m oneMerchant) ClientFor(context.Context, string) (*wxpay.Client, string, error) {
	return m.c, "", nil
}

// clock is a test clock, shared by the sandbox and the service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// queries counts the queries made, by query and outcome.
type queries struct {
	mu sync.Mutex
	n  map[string]int
}

func (q *queries) on(query, outcome string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.n[query+" "+outcome]++
}

func (q *queries) count(query, outcome string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n[query+" "+outcome]
}

type fixture struct {
	sb     *sandbox.Server
	db     *storage.DB
	ledger *ledger.Service
	svc    *memberstatus.Service
	clock  *clock
	q      *queries
}

// newFixture starts a sandbox and a service on a SQLite file, both on the
// clock c (the real time when nil), the mall with a brand id and an app id.
func newFixture(t *testing.T, c *clock, cfg memberstatus.Config) *fixture {
	t.Helper()
	f := &fixture{clock: c, q: &queries{n: map[string]int{}}}
	var opts []sandbox.ServerOption
	now := time.Now
	if c != nil {
		now = c.now
		opts = append(opts, sandbox.WithClock(c.now))
	}
	f.sb = sandbox.NewServer(opts...)
	t.Cleanup(f.sb.Close)
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "mallpoints.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	set, err := rules.Parse([]byte("malls:\n  - mchid: \"" + mall + "\"\n    brand_id: 1001\n    app_ids: [" + appID + "]\n"))
	if err != nil {
		t.Fatal(err)
	}
	current := rules.NewCurrent(set)
	f.db, f.ledger = db, ledger.New(db, noQueue{}, current, nil)
	cfg.DB, cfg.Ledger, cfg.Signers, cfg.Rules, cfg.Now, cfg.OnQuery = db, f.ledger, oneMerchant{f.sb.Client}, current, now, f.q.on
	if f.svc, err = memberstatus.New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.svc.Close)
	return f
}

// member makes openid a member of the sandbox's mall (AUTHORIZED, or in
// REGISTERED_MODE) and of the service, as its activation would, at the
// fixture's clock.
func (f *fixture) member(t *testing.T, openid string, mode string) {
	t.Helper()
	if mode == "" {
		mode = string(businesscircle.AuthTypeRegisteredAndAuthorizationMode)
	}
	if _, _, err := f.sb.Sandbox.Authorize(sandbox.MemberRequest{AppID: appID, OpenID: openid, AuthType: mode}); err != nil {
		t.Fatal(err)
	}
	n := &notify.Notification{ID: "n-" + openid, EventType: businesscircle.EventTypeAuthActivateCard}
	if _, err := f.ledger.Authorization(context.Background(), n, &businesscircle.AuthorizationEvent{MchID: mall, OpenID: openid,
		AuthType: businesscircle.AuthType(mode)}); err != nil {
		t.Fatal(err)
	}
}

// A lookup asks WeChat Pay for the states whose answers are older than the
// cache's window, and answers the kept ones otherwise; the pending-points
// answer is about one Beijing day, so midnight makes it stale.
func TestALookupAsksWhatIsStaleAndAnswersTheCacheOtherwise(t *testing.T) {
	t.Parallel()
	// 23:52 in Beijing.
	c := &clock{t: time.Date(2026, 5, 20, 15, 52, 0, 0, time.UTC)}
	f := newFixture(t, c, memberstatus.Config{CacheFor: 10 * time.Minute, Wait: 10 * time.Second})
	ctx := context.Background()
	// A card only, known to the service (from its CRM) but never asked.
	if _, _, err := f.sb.Sandbox.Authorize(sandbox.MemberRequest{AppID: appID, OpenID: "oA", AuthType: "REGISTERED_MODE"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.ledger.SetCRMFields(ctx, mall, "oA", storage.CRMFields{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sb.Sandbox.Pay(sandbox.PaymentRequest{AppID: appID, OpenID: "oA", Amount: 1000}); err != nil {
		t.Fatal(err)
	}
	t0 := c.now()
	for _, step := range []struct {
		name           string
		advance        time.Duration
		auth, commit   string
		authQ, commitQ int           // queries made by the step
		checkedAt      time.Duration // after t0: the older of the two answers
	}{
		{"the first lookup: both asked", 0, "UNAUTHORIZED", "PENDING", 1, 1, 0},
		{"within the window: nothing asked", 5 * time.Minute, "UNAUTHORIZED", "PENDING", 0, 0, 0},
		// The held payment lapsed at midnight.
		{"past midnight: the pending points of yesterday are not today's", 4 * time.Minute, "UNAUTHORIZED", "FINISHED", 0, 1, 0},
		{"past the window: the authorisation is asked again", 2 * time.Minute, "UNAUTHORIZED", "FINISHED", 1, 0, 9 * time.Minute},
	} {
		c.add(step.advance)
		authBefore, commitBefore := f.q.count(memberstatus.QueryAuthorization, "ok"), f.q.count(memberstatus.QueryCommitStatus, "ok")
		st, err := f.svc.Lookup(ctx, mall, "oA")
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		authQ := f.q.count(memberstatus.QueryAuthorization, "ok") - authBefore
		commitQ := f.q.count(memberstatus.QueryCommitStatus, "ok") - commitBefore
		if st.AuthorizeState != step.auth || st.PointsCommitStatus != step.commit || authQ != step.authQ || commitQ != step.commitQ {
			t.Errorf("%s: %s, %s after %d and %d queries; want %s, %s after %d and %d",
				step.name, st.AuthorizeState, st.PointsCommitStatus, authQ, commitQ, step.auth, step.commit, step.authQ, step.commitQ)
		}
		if st.CheckedAt == nil || !st.CheckedAt.Equal(t0.Add(step.checkedAt)) {
			t.Errorf("%s: checked_at %v, want %v", step.name, st.CheckedAt, t0.Add(step.checkedAt))
		}
	}
	if _, err := f.svc.Lookup(ctx, mall, "oNobody"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a member the service does not have: %v", err)
	}
}

// A lookup waits for WeChat Pay at most Config.Wait, then answers what is
// kept (nothing yet: UNKNOWN, no checked_at); the query goes on and fills
// the cache for the next lookup.
func TestALookupWaitsAtMostItsBoundThenAnswersTheCache(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, memberstatus.Config{Wait: 20 * time.Millisecond})
	ctx := context.Background()
	openid := "oSlow"
	if _, _, err := f.sb.Sandbox.Authorize(sandbox.MemberRequest{AppID: appID, OpenID: openid}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.ledger.SetCRMFields(ctx, mall, openid, storage.CRMFields{}); err != nil { // known, never asked
		t.Fatal(err)
	}
	slow := sandbox.EndpointFaults{Latency: sandbox.Duration(300 * time.Millisecond)}
	if err := f.sb.Sandbox.SetFaults(sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{
		businesscircle.PathUserAuthorization: slow, businesscircle.PathPointsCommitStatus: slow}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	st, err := f.svc.Lookup(ctx, mall, openid)
	if took := time.Since(start); err != nil || took > 250*time.Millisecond {
		t.Fatalf("the lookup took %v (%v); want the 20 ms bound, well before WeChat Pay's 300 ms", took, err)
	}
	if st.AuthorizeState != memberstatus.Unknown || st.PointsCommitStatus != memberstatus.Unknown || st.CheckedAt != nil {
		t.Errorf("answered %+v; want what is kept: nothing", st)
	}
	// The queries go on, and the next lookup answers from what they kept.
	deadline := time.Now().Add(10 * time.Second)
	for f.q.count(memberstatus.QueryAuthorization, "ok") == 0 || f.q.count(memberstatus.QueryCommitStatus, "ok") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the queries never finished")
		}
		time.Sleep(10 * time.Millisecond)
	}
	st, err = f.svc.Lookup(ctx, mall, openid)
	if err != nil || st.AuthorizeState != "AUTHORIZED" || st.PointsCommitStatus != "FINISHED" || st.CheckedAt == nil {
		t.Errorf("the next lookup: %+v, %v", st, err)
	}
	if n := f.q.count(memberstatus.QueryAuthorization, "ok"); n != 1 {
		t.Errorf("%d authorisation queries; want the one the first lookup started", n)
	}
}

// The re-check asks the authorisation of members active in the last 30
// days whose last answer is older than the interval, oldest first; a
// withdrawal is recorded with its member event; members inactive for 30
// days drop out.
func TestTheRecheckFindsWithdrawalsAmongActiveMembers(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now()}
	f := newFixture(t, c, memberstatus.Config{RecheckInterval: 7 * 24 * time.Hour})
	ctx := context.Background()
	for _, openid := range []string{"oA", "oB", "oC"} {
		f.member(t, openid, "")
	}
	if _, err := f.sb.Sandbox.Deauthorize(sandbox.MemberRequest{AppID: appID, OpenID: "oB"}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name                       string
		advance                    time.Duration
		checked, withdrawn, retire int
	}{
		{"within the interval: nobody is due", time.Hour, 0, 0, 0},
		{"past the interval: all three, one withdrawn", 7 * 24 * time.Hour, 3, 1, 0},
		{"just checked: nobody is due", time.Hour, 0, 0, 0},
		{"a month without payments: retired, not asked", 30 * 24 * time.Hour, 0, 0, 3},
	} {
		c.add(step.advance)
		res, err := f.svc.Recheck(ctx)
		if err != nil || res.Checked != step.checked || res.Withdrawn != step.withdrawn || int(res.Retired) != step.retire ||
			res.Failed != 0 || !res.Complete {
			t.Errorf("%s: %+v, %v", step.name, res, err)
		}
	}
	m, err := f.db.Member(ctx, mall, "oB")
	if err != nil || !m.Withdrawn() {
		t.Errorf("oB after the re-check: %+v, %v", m, err)
	}
	events, err := f.db.AuditLog(ctx, storage.AuditFilter{Action: ledger.EventAuthorizationChanged, Limit: 10})
	if err != nil || len(events) != 1 || events[0].Subject != "oB" {
		t.Errorf("member events: %+v, %v; want oB's withdrawal", events, err)
	}
	if st, _ := f.db.State(ctx); !st.OldestAuthorizationCheck.IsZero() {
		t.Errorf("the oldest check among no active member: %v", st.OldestAuthorizationCheck)
	}
}

// A refused sync is classified by asking the authorisation afresh; when
// the query fails, a recent answer stands in, an old one does not.
func TestAuthorizationAsksAfreshAndFallsBackToARecentAnswer(t *testing.T) {
	t.Parallel()
	// A minute ahead: the activation is stamped by the ledger's clock, the
	// real one, and an answer older than what is recorded is not taken.
	c := &clock{t: time.Now().Add(time.Minute)}
	f := newFixture(t, c, memberstatus.Config{CacheFor: 10 * time.Minute})
	ctx := context.Background()
	f.member(t, "oA", "")
	if _, err := f.sb.Sandbox.Deauthorize(sandbox.MemberRequest{AppID: appID, OpenID: "oA"}); err != nil {
		t.Fatal(err)
	}
	if state, err := f.svc.Authorization(ctx, mall, "oA", appID); err != nil || state != "DEAUTHORIZED" {
		t.Fatalf("asked afresh: %q, %v", state, err)
	}
	if err := f.sb.Sandbox.SetFaults(sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{
		businesscircle.PathUserAuthorization: {ErrorRate: 1}}}); err != nil {
		t.Fatal(err)
	}
	c.add(5 * time.Minute)
	if state, err := f.svc.Authorization(ctx, mall, "oA", appID); err != nil || state != "DEAUTHORIZED" {
		t.Errorf("with WeChat Pay failing, a 5-minute-old answer: %q, %v", state, err)
	}
	c.add(10 * time.Minute)
	if state, err := f.svc.Authorization(ctx, mall, "oA", appID); err == nil {
		t.Errorf("with WeChat Pay failing, a 15-minute-old answer: %q, want an error", state)
	}
}

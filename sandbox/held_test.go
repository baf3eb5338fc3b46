package sandbox_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/notify"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// brandID is the brand the tests of held payments configure, bound to appID.
const brandID = 1000

// modes are a mall calling for itself (直连商户) and a service provider naming
// the mall (服务商).
var modes = []struct {
	name string
	sub  string
	opts []sandbox.ServerOption
}{
	{"merchant", "", nil},
	{"partner", subMch, []sandbox.ServerOption{sandbox.WithSubMerchants(subMch, "1900000998")}},
}

// withRulesOfWeChatPay turns the rate limits on and binds appID to brandID,
// so the tests run against the sandbox as strict as it gets.
func withRulesOfWeChatPay(more func(*sandbox.Config)) sandbox.ServerOption {
	return sandbox.WithConfig(func(c *sandbox.Config) {
		c.RateLimits = true
		c.Merchants[0].Brands = map[int64][]string{brandID: {appID}}
		if more != nil {
			more(c)
		}
	})
}

// syncingReceiver is a mall's notification URL: it hands every payment
// notified to events and syncs its points, for the mall sub (or itself).
func syncingReceiver(sub string, events chan<- businesscircle.TransactionEvent) sandbox.ServerOption {
	return sandbox.WithNotifyHandler(func(srv *sandbox.Server) http.Handler {
		points := businesscircle.New(srv.Client).Businesscircle.Points.Notify
		return notify.NewHandler(srv.Parser, businesscircle.EventHandlers{
			Authorization: func(context.Context, *notify.Notification, *businesscircle.AuthorizationEvent) error { return nil },
			Transaction: func(ctx context.Context, _ *notify.Notification, paid *businesscircle.TransactionEvent) error {
				events <- *paid
				_, err := points.Post(ctx, businesscircle.PointsNotifyRequest{SubMchID: sub,
					TransactionID: paid.TransactionID, AppID: paid.AppID, OpenID: paid.OpenID,
					EarnPoints: true, IncreasedPoints: paid.Amount / 100, PointsUpdateTime: paid.TimeEnd})
				return err
			},
		}.Handle)
	})
}

// queries are the two business-circle queries about openID, through the
// SDK's typed client.
type queries struct {
	t   *testing.T
	bc  *businesscircle.Businesscircle
	sub string
}

func newQueries(t *testing.T, srv *sandbox.Server, sub string) queries {
	return queries{t, businesscircle.New(srv.Client).Businesscircle, sub}
}

func (q queries) authorization() *businesscircle.UserAuthorization {
	q.t.Helper()
	ua, _, err := q.bc.UserAuthorizations.Get(context.Background(), openID,
		businesscircle.UserAuthorizationQuery{SubMchID: q.sub, AppID: appID})
	if err != nil {
		q.t.Fatalf("authorisation query: %v", err)
	}
	return ua
}

func (q queries) commitStatus() businesscircle.PointsCommitStatus {
	q.t.Helper()
	cs, _, err := q.bc.Users.Points.CommitStatus.Get(context.Background(), openID,
		businesscircle.CommitStatusQuery{SubMchID: q.sub, BrandID: brandID, AppID: appID})
	if err != nil {
		q.t.Fatalf("pending-points query: %v", err)
	}
	return cs.PointsCommitStatus
}

// A member who opened the card without authorising automatic points
// (REGISTERED_MODE) has each payment held: nothing is notified and the
// pending-points query answers PENDING, until the member submits them in the
// plugin (POST /sandbox/members/{openid}/commit). Then each is notified with
// the submission's commit_tag, the mall syncs it, and the query answers
// FINISHED. Driven through the admin HTTP API and the SDK's client, with the
// rate limits on and brands configured.
func TestAHeldPaymentIsNotifiedWithACommitTagOnceTheMemberSubmitsIt(t *testing.T) {
	t.Parallel()
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			events := make(chan businesscircle.TransactionEvent, 4)
			srv := newServer(t, append(mode.opts, withRulesOfWeChatPay(nil), syncingReceiver(mode.sub, events))...)
			q := newQueries(t, srv, mode.sub)
			member := mustJSON(map[string]string{"appid": appID, "sub_mchid": mode.sub})

			var mb sandbox.Member
			if st := adminDo(t, srv, http.MethodPost, "/sandbox/authorizations", mustJSON(map[string]string{"appid": appID,
				"openid": openID, "sub_mchid": mode.sub, "auth_type": "REGISTERED_MODE"}), &mb); st != 201 {
				t.Fatalf("POST /sandbox/authorizations = %d %+v", st, mb)
			}
			if ua := q.authorization(); ua.AuthorizeState != businesscircle.AuthorizeStateUnauthorized {
				t.Errorf("a REGISTERED_MODE member: authorize_state %s, want UNAUTHORIZED", ua.AuthorizeState)
			}
			if cs := q.commitStatus(); cs != businesscircle.PointsCommitStatusFinished {
				t.Errorf("before paying: %s, want FINISHED", cs)
			}

			var held [2]sandbox.Payment
			for i := range held {
				if st := adminDo(t, srv, http.MethodPost, "/sandbox/transactions", mustJSON(map[string]any{"appid": appID,
					"openid": openID, "sub_mchid": mode.sub, "amount": 8800 + i}), &held[i]); st != 201 {
					t.Fatalf("POST /sandbox/transactions = %d %+v", st, held[i])
				}
				if held[i].NotificationID != "" || held[i].HeldUntil != "2025-05-20T00:00:00+08:00" {
					t.Errorf("payment %d = %+v: want no notification, held until the end of the day", i, held[i])
				}
			}
			if cs := q.commitStatus(); cs != businesscircle.PointsCommitStatusPending {
				t.Errorf("with held payments: %s, want PENDING", cs)
			}
			if d := srv.Sandbox.Deliveries(); len(d) != 1 || d[0].EventType != "MALL_AUTH.ACTIVATE_CARD" {
				t.Errorf("deliveries %+v: want only the activation", d)
			}

			var sub sandbox.Submission
			if st := adminDo(t, srv, http.MethodPost, "/sandbox/members/"+openID+"/commit", member, &sub); st != 200 {
				t.Fatalf("commit = %d %+v", st, sub)
			}
			if len(sub.CommitTag) != 32 || len(sub.Payments) != 2 {
				t.Fatalf("submission %+v: want a 32-character commit_tag and both payments", sub)
			}
			notified := map[string]businesscircle.TransactionEvent{}
			for i, p := range sub.Payments {
				if p.TransactionID != held[i].TransactionID || p.NotificationID == "" {
					t.Errorf("submitted payment %d = %+v, want %s notified", i, p, held[i].TransactionID)
				}
				if d, err := srv.Sandbox.WaitDelivery(context.Background(), p.NotificationID, nil); err != nil || d.State != "delivered" {
					t.Fatalf("delivery of %s: %+v, %v", p.TransactionID, d, err)
				}
				got := <-events // deliveries run side by side: in any order
				notified[got.TransactionID] = got
			}
			for _, p := range sub.Payments {
				if got := notified[p.TransactionID]; got.CommitTag != sub.CommitTag || got.OpenID != openID {
					t.Errorf("notified %+v: want %s with commit_tag %s", got, p.TransactionID, sub.CommitTag)
				}
				if ps, _ := srv.Sandbox.Points(p.TransactionID); ps.SyncCount != 1 {
					t.Errorf("%s: %d syncs, want 1", p.TransactionID, ps.SyncCount)
				}
			}
			if cs := q.commitStatus(); cs != businesscircle.PointsCommitStatusFinished {
				t.Errorf("submitted and synced: %s, want FINISHED", cs)
			}

			// Nothing is left to submit; the member's next payment is held again.
			var e struct{ Error, Field string }
			if st := adminDo(t, srv, http.MethodPost, "/sandbox/members/"+openID+"/commit", member, &e); st != 400 || e.Field != "openid" {
				t.Errorf("second commit = %d %+v, want 400 naming openid", st, e)
			}
			if p, err := srv.Sandbox.Pay(sandbox.PaymentRequest{SubMchID: mode.sub, AppID: appID, OpenID: openID, Amount: 100}); err != nil || p.HeldUntil == "" {
				t.Errorf("next payment %+v, %v: want held", p, err)
			}
		})
	}
}

// A member authorised for automatic points (REGISTERED_AND_AUTHORIZATION_MODE)
// has each payment notified at once, without a commit_tag; a registered one
// (REGISTERED_MODE) has it held; a customer who never opened the card has it
// recorded only.
func TestAutomaticPointsFollowTheAuthType(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name               string
		authType           string // "": no card
		notified, held     bool
		pendingAfterPaying bool
	}{
		{"REGISTERED_AND_AUTHORIZATION_MODE earns automatically", "REGISTERED_AND_AUTHORIZATION_MODE", true, false, true},
		{"REGISTERED_MODE is held for the plugin", "REGISTERED_MODE", false, true, true},
		{"no member card: recorded only", "", false, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, withRulesOfWeChatPay(nil))
			if tt.authType != "" {
				if _, _, err := srv.Sandbox.Authorize(sandbox.MemberRequest{AppID: appID, OpenID: openID, AuthType: tt.authType}); err != nil {
					t.Fatal(err)
				}
			}
			p, err := srv.Sandbox.Pay(sandbox.PaymentRequest{AppID: appID, OpenID: openID, Amount: 8800})
			if err != nil {
				t.Fatal(err)
			}
			if (p.NotificationID != "") != tt.notified || (p.HeldUntil != "") != tt.held {
				t.Errorf("payment %+v: want notified %v, held %v", p, tt.notified, tt.held)
			}
			if got := newQueries(t, srv, "").commitStatus() == businesscircle.PointsCommitStatusPending; got != tt.pendingAfterPaying {
				t.Errorf("PENDING after paying = %v, want %v", got, tt.pendingAfterPaying)
			}
			if _, err := srv.Sandbox.Commit(sandbox.MemberRequest{AppID: appID, OpenID: openID}); (err == nil) != tt.held {
				t.Errorf("Commit: %v, want success only for a held payment", err)
			}
		})
	}
}

// A held payment not submitted lapses at the end of its day in Beijing time
// (or Config.HoldPaymentsFor after it was paid): the pending-points query
// then answers FINISHED, and it can no longer be submitted or be notified.
func TestAHeldPaymentLapsesAtTheEndOfItsBeijingDay(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		holdFor   time.Duration
		paidAgo   time.Duration // time_end before the clock at payment
		after     time.Duration // the clock moves on by this before the query
		heldUntil string
		want      businesscircle.PointsCommitStatus
	}{
		{"held to the last second of the day", 0, 0, 11*time.Hour + 59*time.Minute + 59*time.Second, "2025-05-20T00:00:00+08:00", businesscircle.PointsCommitStatusPending},
		{"lapsed at midnight in Beijing", 0, 0, 12 * time.Hour, "2025-05-20T00:00:00+08:00", businesscircle.PointsCommitStatusFinished},
		{"backdated to yesterday: lapsed already", 0, 24 * time.Hour, 0, "2025-05-19T00:00:00+08:00", businesscircle.PointsCommitStatusFinished},
		{"HoldPaymentsFor: held until it has passed", time.Hour, 0, time.Hour - time.Second, "2025-05-19T13:00:00+08:00", businesscircle.PointsCommitStatusPending},
		{"HoldPaymentsFor: lapsed once it has", time.Hour, 0, time.Hour, "2025-05-19T13:00:00+08:00", businesscircle.PointsCommitStatusFinished},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newMovableClock(fixedNow)
			events := make(chan businesscircle.TransactionEvent, 1)
			srv := newServer(t, sandbox.WithClock(clock.now), syncingReceiver("", events),
				withRulesOfWeChatPay(func(c *sandbox.Config) { c.HoldPaymentsFor = tt.holdFor }))
			if _, _, err := srv.Sandbox.Authorize(sandbox.MemberRequest{AppID: appID, OpenID: openID, AuthType: "REGISTERED_MODE"}); err != nil {
				t.Fatal(err)
			}
			p, err := srv.Sandbox.Pay(sandbox.PaymentRequest{AppID: appID, OpenID: openID, Amount: 8800,
				TimeEnd: fixedNow.Add(-tt.paidAgo).Format(time.RFC3339)})
			if err != nil || p.HeldUntil != tt.heldUntil {
				t.Fatalf("payment %+v, %v: want held until %s", p, err, tt.heldUntil)
			}
			clock.advance(tt.after)
			if got := newQueries(t, srv, "").commitStatus(); got != tt.want {
				t.Errorf("pending-points query = %s, want %s", got, tt.want)
			}
			sub, err := srv.Sandbox.Commit(sandbox.MemberRequest{AppID: appID, OpenID: openID})
			if tt.want == businesscircle.PointsCommitStatusFinished {
				if err == nil {
					t.Errorf("a lapsed payment was submitted: %+v", sub)
				}
				if ps, _ := srv.Sandbox.Points(p.TransactionID); ps.SyncCount != 0 || len(srv.Sandbox.Deliveries()) != 1 {
					t.Errorf("a lapsed payment was notified or synced: %+v", ps)
				}
				return
			}
			if err != nil || len(sub.Payments) != 1 {
				t.Fatalf("Commit before the lapse: %+v, %v", sub, err)
			}
			if got := <-events; got.CommitTag != sub.CommitTag {
				t.Errorf("notified with commit_tag %q, want %q", got.CommitTag, sub.CommitTag)
			}
		})
	}
}

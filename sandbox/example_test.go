package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/notify"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// A member pays in the mall, the mall syncs the points with the SDK, and the
// sandbox shows what it received.
func Example() {
	srv := sandbox.NewServer()
	defer srv.Close()
	ctx := context.Background()
	const appid, openid = "wxd678efh567hg6787", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"

	// Admin API: the customer joins the points programme and pays 88 yuan.
	http.Post(srv.URL+"/sandbox/authorizations", "application/json",
		strings.NewReader(`{"appid":"`+appid+`","openid":"`+openid+`"}`))
	resp, _ := http.Post(srv.URL+"/sandbox/transactions", "application/json",
		strings.NewReader(`{"appid":"`+appid+`","openid":"`+openid+`","amount":8800}`))
	var paid struct {
		TransactionID string `json:"transaction_id"`
	}
	json.NewDecoder(resp.Body).Decode(&paid)
	resp.Body.Close()

	// The mall syncs the points, signed; the answer is verified.
	answer, err := businesscircle.New(srv.Client).Businesscircle.Points.Notify.Post(ctx, businesscircle.PointsNotifyRequest{
		TransactionID:    paid.TransactionID,
		AppID:            appid,
		OpenID:           openid,
		EarnPoints:       true,
		IncreasedPoints:  88,
		PointsUpdateTime: "2025-05-20T13:29:35+08:00",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("points sync:", answer.StatusCode, "signed by", answer.Serial == srv.Keys.PublicKeyID)

	resp, _ = http.Get(srv.URL + "/sandbox/points/" + paid.TransactionID)
	var points sandbox.PointsSync
	json.NewDecoder(resp.Body).Decode(&points)
	resp.Body.Close()
	fmt.Println("syncs received:", points.SyncCount)
	// Output:
	// points sync: 204 signed by true
	// syncs received: 1
}

// Notifications reach a receiver that verifies and decrypts them with the
// merchant's keys, as package notify does in a mall's service.
func ExampleWithNotifyFunc() {
	payments := make(chan string, 4)
	srv := sandbox.NewServer(sandbox.WithNotifyFunc(func(_ context.Context, n *notify.Notification) error {
		if n.EventType != businesscircle.EventTypeTransactionSuccess {
			return nil
		}
		var paid businesscircle.TransactionEvent
		if err := n.DecodeResource(&paid); err != nil {
			return err
		}
		payments <- fmt.Sprintf("%s paid %d fen", paid.OpenID, paid.Amount)
		return nil
	}))
	defer srv.Close()

	// A customer who is not a member pays: WeChat Pay tells the mall nothing.
	srv.Sandbox.Pay(sandbox.PaymentRequest{AppID: "wx1", OpenID: "o1", Amount: 100})
	// A member pays.
	srv.Sandbox.Authorize(sandbox.MemberRequest{AppID: "wx1", OpenID: "o2"})
	srv.Sandbox.Pay(sandbox.PaymentRequest{AppID: "wx1", OpenID: "o2", Amount: 8800})
	fmt.Println(<-payments)
	// Output:
	// o2 paid 8800 fen
}

// The flow every mall writes: WeChat Pay notifies a member's payment, the
// mall's receiver decodes MALL_TRANSACTION.SUCCESS and syncs the points with
// the typed call. The handler needs the server's client and parser, which
// WithNotifyHandler hands it; WaitDelivery waits for the receiver's answer.
func ExampleWithNotifyHandler() {
	srv := sandbox.NewServer(sandbox.WithNotifyHandler(func(srv *sandbox.Server) http.Handler {
		points := businesscircle.New(srv.Client).Businesscircle.Points.Notify
		events := businesscircle.EventHandlers{
			Authorization: func(context.Context, *notify.Notification, *businesscircle.AuthorizationEvent) error {
				return nil // a new member: nothing to sync yet
			},
			Transaction: func(ctx context.Context, _ *notify.Notification, paid *businesscircle.TransactionEvent) error {
				_, err := points.Post(ctx, businesscircle.PointsNotifyRequest{
					TransactionID:    paid.TransactionID,
					AppID:            paid.AppID,
					OpenID:           paid.OpenID,
					EarnPoints:       true,
					IncreasedPoints:  paid.Amount / 100, // a point per yuan
					PointsUpdateTime: businesscircle.FormatTime(time.Now()),
				})
				return err // an error answers WeChat Pay with a failure: it retries
			},
		}
		return notify.NewHandler(srv.Parser, events.Handle)
	}))
	defer srv.Close()
	ctx := context.Background()

	srv.Sandbox.Authorize(sandbox.MemberRequest{AppID: "wx1", OpenID: "o1"})
	paid, _ := srv.Sandbox.Pay(sandbox.PaymentRequest{AppID: "wx1", OpenID: "o1", Amount: 8800})
	d, err := srv.Sandbox.WaitDelivery(ctx, paid.NotificationID, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.EventType, d.State)

	got, _ := srv.Sandbox.Points(paid.TransactionID)
	var body businesscircle.PointsNotifyRequest
	json.Unmarshal(got.LastSync, &body)
	fmt.Println("syncs:", got.SyncCount, "points:", body.IncreasedPoints)
	// Output:
	// MALL_TRANSACTION.SUCCESS delivered
	// syncs: 1 points: 88
}

// A member who opened the card without authorising automatic points
// (REGISTERED_MODE) pays: WeChat Pay holds the payment, and the pending-points
// query says PENDING, until the member submits it in the plugin. Then the
// payment is notified with a commit_tag.
func ExampleSandbox_Commit() {
	tags := make(chan string, 1)
	srv := sandbox.NewServer(sandbox.WithNotifyFunc(func(_ context.Context, n *notify.Notification) error {
		var paid businesscircle.TransactionEvent
		if n.EventType == businesscircle.EventTypeTransactionSuccess {
			if err := n.DecodeResource(&paid); err != nil {
				return err
			}
			tags <- paid.CommitTag
		}
		return nil
	}))
	defer srv.Close()
	query := businesscircle.New(srv.Client).Businesscircle.Users.Points.CommitStatus
	member := sandbox.MemberRequest{AppID: "wx1", OpenID: "o1", AuthType: "REGISTERED_MODE"}

	srv.Sandbox.Authorize(member)
	paid, _ := srv.Sandbox.Pay(sandbox.PaymentRequest{AppID: "wx1", OpenID: "o1", Amount: 8800})
	cs, _, err := query.Get(context.Background(), "o1", businesscircle.CommitStatusQuery{BrandID: 1000, AppID: "wx1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("notified:", paid.NotificationID != "", "status:", cs.PointsCommitStatus)

	sub, err := srv.Sandbox.Commit(member)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("submitted:", len(sub.Payments), "commit_tag notified:", <-tags == sub.CommitTag)
	// Output:
	// notified: false status: PENDING
	// submitted: 1 commit_tag notified: true
}

// Faults make the sandbox answer like an overloaded WeChat Pay.
func ExampleSandbox_SetFaults() {
	srv := sandbox.NewServer(sandbox.WithClientOptions(wxpay.WithoutRetries()))
	defer srv.Close()
	srv.Sandbox.SetFaults(sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{
		sandbox.PathUserAuthorization: {ErrorRate: 1, ErrorStatus: 429},
	}})
	_, _, err := businesscircle.New(srv.Client).Businesscircle.UserAuthorizations.Get(context.Background(),
		"o1", businesscircle.UserAuthorizationQuery{AppID: "wx1"})
	fmt.Println(err != nil && strings.Contains(err.Error(), "FREQUENCY_LIMITED"))
	// Output: true
}

// With Config.RateLimits the sandbox enforces WeChat Pay's documented
// limits, so that a client's back-off meets a real 429: here the 151st
// authorisation query of one second. (The example's clock stands still.)
func ExampleDocumentedRateLimits() {
	fmt.Println(sandbox.DocumentedRateLimits())
	stopped := time.Date(2025, 5, 20, 12, 0, 0, 0, time.UTC)
	srv := sandbox.NewServer(
		sandbox.WithClock(func() time.Time { return stopped }),
		sandbox.WithConfig(func(c *sandbox.Config) { c.RateLimits = true }),
		sandbox.WithClientOptions(wxpay.WithoutRetries()),
	)
	defer srv.Close()
	auth := businesscircle.New(srv.Client).Businesscircle.UserAuthorizations
	for i := 1; i <= 200; i++ {
		_, _, err := auth.Get(context.Background(), "o1", businesscircle.UserAuthorizationQuery{AppID: "wx1"})
		if ae, ok := errors.AsType[*wxpay.APIError](err); ok {
			fmt.Println("request", i, ae.StatusCode, ae.Code)
			return
		}
	}
	fmt.Println("no limit")
	// Output:
	// map[v3/businesscircle/user-authorizations/{openid}:150]
	// request 151 429 FREQUENCY_LIMITED
}

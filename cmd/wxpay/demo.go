package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/notify"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// Demo values, from the protocol's own examples.
const (
	demoAppID   = "wx1234567890abcdef"
	demoOpenID  = "oWmnN4xxxxxxxxxxe92NHIGf1xd8"
	demoBrandID = 1000
	demoWait    = 10 * time.Second // for a notification to arrive
)

// demoEvents collects the notifications the demo's receiver verified and
// decrypted, one channel per event type.
type demoEvents struct {
	auth   chan *businesscircle.AuthorizationEvent
	paid   chan *businesscircle.TransactionEvent
	refund chan *businesscircle.RefundEvent
}

func (e *demoEvents) handlers() businesscircle.EventHandlers {
	return businesscircle.EventHandlers{
		Authorization: func(_ context.Context, _ *notify.Notification, ev *businesscircle.AuthorizationEvent) error {
			e.auth <- ev
			return nil
		},
		Transaction: func(_ context.Context, _ *notify.Notification, ev *businesscircle.TransactionEvent) error {
			e.paid <- ev
			return nil
		},
		Refund: func(_ context.Context, _ *notify.Notification, ev *businesscircle.RefundEvent) error {
			e.refund <- ev
			return nil
		},
	}
}

// demo runs the whole business-circle flow against the embedded sandbox: a
// member authorises, pays, the mall receives and verifies the notification,
// syncs the points and queries; then the sandbox misbehaves and the client
// and the receiver refuse what they must.
func (c *cli) demo(ctx context.Context, args []string) int {
	fs := newFlagSet("demo")
	positional, code, done := c.parseFlags(fs, demoHelp, args)
	if done {
		return code
	}
	if len(positional) > 0 {
		return c.usageError("wxpay demo", fmt.Errorf("unexpected argument %q", positional[0]))
	}
	keys, err := c.newKeys()
	if err != nil {
		return c.failure(err)
	}
	ev := &demoEvents{
		auth:   make(chan *businesscircle.AuthorizationEvent, 4),
		paid:   make(chan *businesscircle.TransactionEvent, 4),
		refund: make(chan *businesscircle.RefundEvent, 4),
	}
	srv := sandbox.NewServer(sandbox.WithKeys(keys), sandbox.WithKeyMode(sandbox.MigrationMode),
		sandbox.WithNotifyFunc(ev.handlers().Handle), sandbox.WithClientOptions(wxpay.WithoutRetries()))
	defer srv.Close()

	d := &demoRun{out: c.stdout, ctx: ctx, srv: srv, v3: businesscircle.New(srv.Client), ev: ev}
	fmt.Fprintln(d.out, "wxpay demo: the smart business circle flow against the embedded sandbox on loopback (fresh keys; nothing leaves this machine)")
	fmt.Fprintf(d.out, "  merchant %s signs with certificate %s; WeChat Pay signs with public key %s (platform certificate %s also trusted)\n",
		keys.MchID, keys.MerchantSerial, keys.PublicKeyID, keys.PlatformSerial)
	steps := []struct {
		title string
		run   func() error
	}{
		{"a customer opens the mall's member card (admin API), MALL_AUTH.ACTIVATE_CARD arrives", d.authorize},
		{"the member pays 88.00 yuan in a mall shop, MALL_TRANSACTION.SUCCESS arrives", d.pay},
		{"pending points today? (商圈会员待积分状态查询)", func() error { return d.commitStatus(businesscircle.PointsCommitStatusPending) }},
		{"sync the points (商圈会员积分同步)", d.syncPoints},
		{"pending points after the sync", func() error { return d.commitStatus(businesscircle.PointsCommitStatusFinished) }},
		{"the member's authorisation (商圈会员积分服务授权查询)", d.authorization},
		{"a refund of the synced payment, MALL_REFUND.SUCCESS arrives", d.refund},
		{"fail closed: the sandbox answers with a WECHATPAY/SIGNTEST/ probe", d.probedAnswer},
		{"fail closed: a notification with a probe signature is refused, then re-delivered", d.probedNotification},
	}
	failed := 0
	for i, s := range steps {
		fmt.Fprintf(d.out, "\n%d. %s\n", i+1, s.title)
		if err := s.run(); err != nil {
			failed++
			fmt.Fprintf(d.out, "   FAIL    %s\n", failureLine(err))
		}
	}
	if failed > 0 {
		fmt.Fprintf(d.out, "\nFAIL: %d of %d steps did not behave as expected\n", failed, len(steps))
		return exitFailed
	}
	fmt.Fprintf(d.out, "\nok: all %d steps behaved as expected\n", len(steps))
	return exitOK
}

// demoRun is the state shared by the demo's steps.
type demoRun struct {
	out    io.Writer
	ctx    context.Context
	srv    *sandbox.Server
	v3     *businesscircle.V3
	ev     *demoEvents
	paidTx *businesscircle.TransactionEvent
}

func (d *demoRun) printf(format string, args ...any) { fmt.Fprintf(d.out, "   "+format+"\n", args...) }

// await waits for one value from ch.
func await[T any](d *demoRun, ch <-chan T, what string) (T, error) {
	var zero T
	select {
	case v := <-ch:
		return v, nil
	case <-time.After(demoWait):
		return zero, fmt.Errorf("no %s notification within %s", what, demoWait)
	case <-d.ctx.Done():
		return zero, d.ctx.Err()
	}
}

func (d *demoRun) authorize() error {
	mb, _, err := d.srv.Sandbox.Authorize(sandbox.MemberRequest{AppID: demoAppID, OpenID: demoOpenID})
	if err != nil {
		return err
	}
	d.printf("sandbox member %s is %s, card code %s", demoOpenID, mb.AuthorizeState, mb.Code)
	e, err := await(d, d.ev.auth, "MALL_AUTH.ACTIVATE_CARD")
	if err != nil {
		return err
	}
	d.printf("notify  verified and decrypted: openid %s, auth_type %s", e.OpenID, e.AuthType)
	return nil
}

func (d *demoRun) pay() error {
	p, err := d.srv.Sandbox.Pay(sandbox.PaymentRequest{AppID: demoAppID, OpenID: demoOpenID, Amount: 8800})
	if err != nil {
		return err
	}
	d.printf("sandbox transaction %s", p.TransactionID)
	e, err := await(d, d.ev.paid, "MALL_TRANSACTION.SUCCESS")
	if err != nil {
		return err
	}
	if e.TransactionID != p.TransactionID {
		return fmt.Errorf("notified transaction %s, want %s", e.TransactionID, p.TransactionID)
	}
	d.paidTx = e
	d.printf("notify  verified and decrypted: %s paid %d fen at %s (%s)", e.OpenID, e.Amount, e.ShopName, e.ShopNumber)
	return nil
}

func (d *demoRun) commitStatus(want businesscircle.PointsCommitStatus) error {
	st, resp, err := d.v3.Businesscircle.Users.Points.CommitStatus.Get(d.ctx, demoOpenID,
		businesscircle.CommitStatusQuery{BrandID: demoBrandID, AppID: demoAppID})
	if err != nil {
		return err
	}
	d.printf("answer  HTTP %d verified with %s: points_commit_status %s", resp.StatusCode, resp.Serial, st.PointsCommitStatus)
	if st.PointsCommitStatus != want {
		return fmt.Errorf("points_commit_status %s, want %s", st.PointsCommitStatus, want)
	}
	return nil
}

func (d *demoRun) syncPoints() error {
	if d.paidTx == nil {
		return errors.New("no payment to sync")
	}
	points := d.paidTx.Amount / 100 // one point per full yuan
	resp, err := d.v3.Businesscircle.Points.Notify.Post(d.ctx, businesscircle.PointsNotifyRequest{
		TransactionID:    d.paidTx.TransactionID,
		AppID:            demoAppID,
		OpenID:           demoOpenID,
		EarnPoints:       true,
		IncreasedPoints:  points,
		PointsUpdateTime: businesscircle.FormatTime(time.Now()),
		TotalPoints:      businesscircle.Int64(points),
	})
	if err != nil {
		return err
	}
	d.printf("sent    POST /v3/businesscircle/points/notify: %d points for %s", points, d.paidTx.TransactionID)
	d.printf("answer  HTTP %d, its signature verified with %s", resp.StatusCode, resp.Serial)
	got, ok := d.srv.Sandbox.Points(d.paidTx.TransactionID)
	if !ok || got.SyncCount != 1 {
		return fmt.Errorf("the sandbox recorded %d syncs of %s, want 1", got.SyncCount, d.paidTx.TransactionID)
	}
	d.printf("sandbox recorded sync #%d: %s", got.SyncCount, got.LastSync)
	return nil
}

func (d *demoRun) authorization() error {
	a, resp, err := d.v3.Businesscircle.UserAuthorizations.Get(d.ctx, demoOpenID, businesscircle.UserAuthorizationQuery{AppID: demoAppID})
	if err != nil {
		return err
	}
	d.printf("answer  HTTP %d verified with %s: %s since %s", resp.StatusCode, resp.Serial, a.AuthorizeState, a.AuthorizeTime)
	if a.AuthorizeState != businesscircle.AuthorizeStateAuthorized {
		return fmt.Errorf("authorize_state %s, want AUTHORIZED", a.AuthorizeState)
	}
	return nil
}

func (d *demoRun) refund() error {
	if d.paidTx == nil {
		return errors.New("no payment to refund")
	}
	r, err := d.srv.Sandbox.Refund(sandbox.RefundRequest{TransactionID: d.paidTx.TransactionID, RefundAmount: 2000})
	if err != nil {
		return err
	}
	d.printf("sandbox refund %s", r.RefundID)
	e, err := await(d, d.ev.refund, "MALL_REFUND.SUCCESS")
	if err != nil {
		return err
	}
	d.printf("notify  verified and decrypted: %d of %d fen refunded; the mall deducts %d points", e.RefundAmount, e.PayAmount, e.RefundAmount/100)
	return nil
}

func (d *demoRun) probedAnswer() error {
	if err := d.srv.Sandbox.SetFaults(sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{"*": {ProbeRate: 1}}}); err != nil {
		return err
	}
	defer d.srv.Sandbox.SetFaults(sandbox.Faults{})
	_, _, err := d.v3.Businesscircle.UserAuthorizations.Get(d.ctx, demoOpenID, businesscircle.UserAuthorizationQuery{AppID: demoAppID})
	if !errors.Is(err, wxpay.ErrProbeSignature) {
		return fmt.Errorf("the client accepted a probe signature (err = %v)", err)
	}
	d.printf("client  rejected the answer: %s (errors.Is(err, wxpay.ErrProbeSignature))", wxpay.ErrProbeSignature)
	return nil
}

func (d *demoRun) probedNotification() error {
	if err := d.srv.Sandbox.SetFaults(sandbox.Faults{Notifications: sandbox.NotificationFaults{ProbeRate: 1}}); err != nil {
		return err
	}
	defer d.srv.Sandbox.SetFaults(sandbox.Faults{})
	p, err := d.srv.Sandbox.Pay(sandbox.PaymentRequest{AppID: demoAppID, OpenID: demoOpenID, Amount: 1200})
	if err != nil {
		return err
	}
	if _, err := await(d, d.ev.paid, "MALL_TRANSACTION.SUCCESS"); err != nil {
		return err
	}
	del, err := d.srv.Sandbox.WaitDelivery(d.ctx, p.NotificationID, nil)
	if err != nil {
		return err
	}
	if len(del.Attempts) < 2 || del.Attempts[0].Status != 401 || del.State != "delivered" {
		return fmt.Errorf("delivery %s: %d attempts, first answered %d, state %s; want the probe refused with 401, then delivered",
			del.ID, len(del.Attempts), del.Attempts[0].Status, del.State)
	}
	d.printf("receiver answered the probe with HTTP %d, so WeChat Pay re-sent it; attempt %d was answered %d and processed",
		del.Attempts[0].Status, len(del.Attempts), del.Attempts[len(del.Attempts)-1].Status)
	return nil
}

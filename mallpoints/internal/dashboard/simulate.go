package dashboard

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/seed2ac2593f/wxpay/sandbox"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// What is wrong with an amount typed in a form; amountProblem says it in
// the page's language.
var (
	errNotYuan     = errors.New("the amount is in yuan, such as 123.45")
	errNotPositive = errors.New("the amount must be above zero")
)

// parseYuan reads an amount such as "123.45" as fen.
func parseYuan(s string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || strings.Trim(whole+frac, "0123456789") != "" || len(whole) > 9 {
		return 0, errNotYuan
	}
	for len(frac) < 2 {
		frac += "0"
	}
	fen, _ := strconv.ParseInt(whole+frac, 10, 64)
	if fen <= 0 {
		return 0, errNotPositive
	}
	return fen, nil
}

// amountProblem is what parseYuan found wrong, in l.
func amountProblem(l *language, err error) string {
	if errors.Is(err, errNotPositive) {
		return l.T("problem.amount.positive")
	}
	return l.T("problem.amount.yuan")
}

// back returns to the overview with a notice.
func (d *Dashboard) back(w http.ResponseWriter, r *http.Request, notice string) {
	d.redirectWithNotice(w, r, "/", notice)
}

// simulatePayment authorises the member at the embedded sandbox (so that
// WeChat Pay tells the mall about the payment) and pays; the notification
// reaches the service like a real one.
func (d *Dashboard) simulatePayment(w http.ResponseWriter, r *http.Request) {
	if !d.simulating(w, r) {
		return
	}
	l := d.lang(r)
	amount, err := parseYuan(r.PostFormValue("amount"))
	if err != nil {
		d.back(w, r, l.T("notice.payment.failed", amountProblem(l, err)))
		return
	}
	appid, openid := r.PostFormValue("appid"), r.PostFormValue("openid")
	if _, _, err := d.cfg.Sandbox.Authorize(sandbox.MemberRequest{AppID: appid, OpenID: openid}); err != nil {
		d.back(w, r, l.T("notice.payment.failed", err))
		return
	}
	p, err := d.cfg.Sandbox.Pay(sandbox.PaymentRequest{AppID: appid, OpenID: openid, Amount: amount,
		ShopNumber: r.PostFormValue("shop_number")})
	if err != nil {
		d.back(w, r, l.T("notice.payment.failed", err))
		return
	}
	d.record(r, storage.AuditEntry{Action: "simulate.payment", Mall: d.cfg.MchID, Subject: p.TransactionID,
		After: storage.AuditValues(map[string]any{"amount": amount, "shop_number": r.PostFormValue("shop_number")})})
	d.back(w, r, l.T("notice.payment.made", p.TransactionID))
}

// simulating reports whether r may make payments at the sandbox: there is
// one, and its mall is the viewer's; it answers r when not.
func (d *Dashboard) simulating(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case d.cfg.Sandbox == nil:
		http.NotFound(w, r)
		return false
	case !viewer(r).Sees(d.cfg.MchID):
		d.errorPage(w, r, http.StatusForbidden, d.lang(r).T("error.sandbox.mall", d.cfg.MchID))
		return false
	}
	return true
}

func (d *Dashboard) simulateRefund(w http.ResponseWriter, r *http.Request) {
	if !d.simulating(w, r) {
		return
	}
	l := d.lang(r)
	amount, err := parseYuan(r.PostFormValue("amount"))
	if err != nil {
		d.back(w, r, l.T("notice.refund.failed", amountProblem(l, err)))
		return
	}
	txid := strings.TrimSpace(r.PostFormValue("transaction_id"))
	rf, err := d.cfg.Sandbox.Refund(sandbox.RefundRequest{TransactionID: txid, RefundAmount: amount})
	if err != nil {
		d.back(w, r, l.T("notice.refund.failed", err))
		return
	}
	d.record(r, storage.AuditEntry{Action: "simulate.refund", Mall: d.cfg.MchID, Subject: rf.RefundID,
		After: storage.AuditValues(map[string]any{"transaction_id": txid, "refund_amount": amount})})
	d.back(w, r, l.T("notice.refund.made", rf.RefundID))
}

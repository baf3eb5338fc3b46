package dashboard

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/seed2ac2593f/wxpay/sandbox"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// parseYuan reads an amount such as "123.45" as fen.
func parseYuan(s string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || strings.Trim(whole+frac, "0123456789") != "" || len(whole) > 9 {
		return 0, errors.New("the amount is in yuan, such as 123.45")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	fen, _ := strconv.ParseInt(whole+frac, 10, 64)
	if fen <= 0 {
		return 0, errors.New("the amount must be above zero")
	}
	return fen, nil
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
	amount, err := parseYuan(r.PostFormValue("amount"))
	if err != nil {
		d.back(w, r, "Payment not made: "+err.Error()+".")
		return
	}
	appid, openid := r.PostFormValue("appid"), r.PostFormValue("openid")
	if _, _, err := d.cfg.Sandbox.Authorize(sandbox.MemberRequest{AppID: appid, OpenID: openid}); err != nil {
		d.back(w, r, "Payment not made: "+err.Error())
		return
	}
	p, err := d.cfg.Sandbox.Pay(sandbox.PaymentRequest{AppID: appid, OpenID: openid, Amount: amount,
		ShopNumber: r.PostFormValue("shop_number")})
	if err != nil {
		d.back(w, r, "Payment not made: "+err.Error())
		return
	}
	d.record(r, storage.AuditEntry{Action: "simulate.payment", Mall: d.cfg.MchID, Subject: p.TransactionID,
		After: storage.AuditValues(map[string]any{"amount": amount, "shop_number": r.PostFormValue("shop_number")})})
	d.back(w, r, "The sandbox made payment "+p.TransactionID+"; it appears below once its notification is processed.")
}

// simulating reports whether r may make payments at the sandbox: there is
// one, and its mall is the viewer's; it answers r when not.
func (d *Dashboard) simulating(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case d.cfg.Sandbox == nil:
		http.NotFound(w, r)
		return false
	case !viewer(r).Sees(d.cfg.MchID):
		d.errorPage(w, r, http.StatusForbidden, "The sandbox's mall "+d.cfg.MchID+" is not one of yours.")
		return false
	}
	return true
}

func (d *Dashboard) simulateRefund(w http.ResponseWriter, r *http.Request) {
	if !d.simulating(w, r) {
		return
	}
	amount, err := parseYuan(r.PostFormValue("amount"))
	if err != nil {
		d.back(w, r, "Refund not made: "+err.Error()+".")
		return
	}
	txid := strings.TrimSpace(r.PostFormValue("transaction_id"))
	rf, err := d.cfg.Sandbox.Refund(sandbox.RefundRequest{TransactionID: txid, RefundAmount: amount})
	if err != nil {
		d.back(w, r, "Refund not made: "+err.Error())
		return
	}
	d.record(r, storage.AuditEntry{Action: "simulate.refund", Mall: d.cfg.MchID, Subject: rf.RefundID,
		After: storage.AuditValues(map[string]any{"transaction_id": txid, "refund_amount": amount})})
	d.back(w, r, "The sandbox made refund "+rf.RefundID+".")
}

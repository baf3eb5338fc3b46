package dashboard

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// overviewData is the overview page.
type overviewData struct {
	Day      string // the Beijing day shown, 2006-01-02
	Overview storage.Overview
	Chart    chart
	Recent   []storage.Transaction
	MchID    string
	// SignaturesRefused is the newest sync attempt when WeChat Pay answered
	// it 401: it refuses the service's signatures, and every sync fails.
	SignaturesRefused *storage.Attempt
	// Decisions is what waits for the malls' CRMs.
	Decisions decisionCounts
}

func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := d.cfg.Now()
	from, to := rules.BeijingDay(now)
	o, err := d.cfg.DB.Overview(ctx, scope(r), from, to)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	// The chart's last bar is the hour under way.
	start := now.Truncate(time.Hour).Add(-23 * time.Hour)
	hours, err := d.cfg.DB.Hourly(ctx, scope(r), start, 24)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	recent, err := d.cfg.DB.Transactions(ctx, storage.TransactionFilter{Malls: scope(r), Limit: 20})
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data := overviewData{
		Day: from.In(beijing).Format(time.DateOnly), Overview: o, Chart: newChart(hours), Recent: recent, MchID: d.cfg.MchID,
	}
	if data.Decisions, err = d.decisionCounts(ctx, scope(r)); err != nil {
		d.fail(w, r, err)
		return
	}
	last, err := d.cfg.DB.LastAttempt(ctx, scope(r))
	switch {
	case err == nil && last.Status == http.StatusUnauthorized:
		data.SignaturesRefused = &last
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		d.fail(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "overview", page{Title: "Overview", Nav: "overview", Data: data})
}

// membersData is the members page: a search by openid, or a list.
type membersData struct {
	OpenID  string
	Members []storage.Member
	Next    string // the openid to list after, for the next page
}

func (d *Dashboard) members(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	data := membersData{OpenID: q.Get("openid")}
	var err error
	if data.OpenID != "" {
		data.Members, err = d.cfg.DB.MembersByOpenID(ctx, scope(r), data.OpenID)
	} else {
		const pageSize = 50
		data.Members, err = d.cfg.DB.Members(ctx, scope(r), "", q.Get("after"), pageSize)
		if err == nil && len(data.Members) == pageSize {
			data.Next = data.Members[pageSize-1].OpenID
		}
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "members", page{Title: "Members", Nav: "members", Data: data})
}

type memberData struct {
	Member storage.Member
	// Expiring is what the member's points expiring within 30 days add up
	// to, those already due included: the API's expiring_30d.
	Expiring     int64
	Entries      []storage.Entry
	Transactions []storage.Transaction
}

func (d *Dashboard) member(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	mall, openid := r.PathValue("mall"), r.PathValue("openid")
	m, err := d.cfg.DB.Member(ctx, mall, openid)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	// The phone and birthday in full for administrators only.
	if p, _ := accounts.FromContext(ctx); p.Role != accounts.Admin {
		m = m.Masked()
	}
	entries, err := d.cfg.DB.MemberEntries(ctx, mall, openid, 200)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	txs, err := d.cfg.DB.Transactions(ctx, storage.TransactionFilter{Mall: mall, OpenID: openid, Limit: 50})
	if err != nil {
		d.fail(w, r, err)
		return
	}
	// The same figure as GET /api/members/{mall}/{openid}'s expiring_30d.
	expiring, err := d.cfg.DB.Expiring(ctx, mall, openid, time.Time{}, d.cfg.Now().Add(expiringWindow))
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "member", page{Title: "Member " + openid, Nav: "members",
		Data: memberData{Member: m, Expiring: expiring, Entries: entries, Transactions: txs}})
}

// expiringWindow is how far ahead a member's points count as expiring
// soon, as in package api.
const expiringWindow = 30 * 24 * time.Hour

type transactionData struct {
	Transaction  storage.Transaction
	Notification storage.Notification
	Entries      []storage.Entry
	Refunds      []storage.Refund
	Attempts     []storage.Attempt
}

func (d *Dashboard) transaction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	mall, id := r.PathValue("mall"), r.PathValue("transaction_id")
	var data transactionData
	var err error
	if data.Transaction, err = d.cfg.DB.Transaction(ctx, mall, id); err != nil {
		d.fail(w, r, err)
		return
	}
	if data.Notification, err = d.cfg.DB.Notification(ctx, data.Transaction.NotificationID); err != nil {
		d.fail(w, r, err)
		return
	}
	if data.Entries, err = d.cfg.DB.TransactionEntries(ctx, mall, id); err != nil {
		d.fail(w, r, err)
		return
	}
	if data.Refunds, err = d.cfg.DB.Refunds(ctx, mall, id); err != nil {
		d.fail(w, r, err)
		return
	}
	if data.Attempts, err = d.cfg.DB.Attempts(ctx, data.Transaction.SyncID); err != nil {
		d.fail(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "transaction", page{Title: "Transaction " + id, Data: data})
}

type parkedData struct {
	Syncs []storage.Sync
	Next  int64
}

func (d *Dashboard) parked(w http.ResponseWriter, r *http.Request) {
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	const pageSize = 100
	list, err := d.cfg.DB.Syncs(r.Context(), scope(r), storage.SyncParked, max(after, 0), pageSize)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data := parkedData{Syncs: list}
	if len(list) == pageSize {
		data.Next = list[pageSize-1].ID
	}
	d.render(w, r, http.StatusOK, "parked", page{Title: "Parked syncs", Nav: "parked", Data: data})
}

// retry is the retry button of a parked sync: the outbox moves it back to
// pending and queues a new job, in one transaction.
func (d *Dashboard) retry(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		d.fail(w, r, storage.ErrNotFound)
		return
	}
	// Its state before, for the audit log; a sync that does not exist is
	// not parked, which Retry says. Another mall's sync is, to a viewer
	// confined to some, none at all.
	s, err := d.cfg.DB.Sync(r.Context(), id)
	if err == nil && !viewer(r).Sees(s.Mall) {
		d.fail(w, r, storage.ErrNotFound)
		return
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		d.fail(w, r, err)
		return
	}
	ok, err := d.cfg.Retrier.Retry(r.Context(), id)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	notice := "Sync " + strconv.FormatInt(id, 10) + " is queued again."
	if !ok {
		notice = "Sync " + strconv.FormatInt(id, 10) + " was not parked any more; nothing changed."
	} else {
		d.record(r, storage.AuditEntry{Action: "sync.retry", Mall: s.Mall, Subject: strconv.FormatInt(id, 10),
			Before: storage.AuditValues(map[string]any{"state": s.State}),
			After:  storage.AuditValues(map[string]any{"state": storage.SyncPending})})
	}
	d.cfg.Logger.InfoContext(r.Context(), "dashboard: parked sync retried", "sync_id", id, "queued", ok)
	d.redirectWithNotice(w, r, "/parked", notice)
}

package dashboard

import (
	"cmp"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// overviewData is the overview page.
type overviewData struct {
	Today    time.Time // the Beijing day shown
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
	l := d.lang(r)
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
	data := overviewData{Today: from, Overview: o, Chart: newChart(l, hours), Recent: recent, MchID: d.cfg.MchID}
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
	d.render(w, r, http.StatusOK, "overview", page{Title: l.T("title.overview"), Nav: "overview", Live: pending(recent), Data: data})
}

// pending reports whether a payment of list waits for its sync: its page
// follows the sync until it is done (static/live.js).
func pending(list []storage.Transaction) bool {
	return slices.ContainsFunc(list, func(t storage.Transaction) bool {
		return t.Sync != nil && t.Sync.State == storage.SyncPending
	})
}

// membersPage is how many members, payments and ledger entries a page
// lists.
const membersPage = 50

// membersData is the members page: every member, or those whose openid
// starts with what was searched for.
type membersData struct {
	Query   string
	Members []storage.Member
	Next    template.URL // the query of the next page; "" on the last
}

// members lists the members, or finds them by the start of their openid
// (?q=): a search for the whole openid finds its member in every mall, and
// a few characters more than one. The search is the one place another way
// of finding a member plugs in (a phone number, once the service keeps
// one): members reads q, and whatever matches is listed the same way.
func (d *Dashboard) members(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	data := membersData{Query: strings.TrimSpace(cmp.Or(q.Get("q"), q.Get("openid")))}
	after := storage.MemberRef{OpenID: q.Get("after"), Mall: q.Get("after_mall")}
	list, err := d.cfg.DB.SearchMembers(r.Context(), scope(r), data.Query, after, membersPage+1)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	var more bool
	if data.Members, more = firstPage(list, membersPage); more {
		last := data.Members[membersPage-1]
		next := url.Values{"after": {last.OpenID}, "after_mall": {last.Mall}}
		if data.Query != "" {
			next.Set("q", data.Query)
		}
		data.Next = template.URL(next.Encode())
	}
	d.render(w, r, http.StatusOK, "members", page{Title: d.lang(r).T("title.members"), Nav: "members", Data: data})
}

type memberData struct {
	Member storage.Member
	// Expiring is what the member's points expiring within 30 days add up
	// to, those already due included: the API's expiring_30d.
	Expiring int64
	// Totals are the member's points by cause, over its whole ledger.
	Totals storage.PointTotals
	// LastSynced is its payment WeChat Pay accepted last, with the
	// total_points it carried; nil when none was synced.
	LastSynced   *storage.LastSynced
	Entries      []storage.Entry
	Transactions []storage.Transaction
	// EntriesNext and PaymentsNext are the queries of the next pages of
	// the ledger and of the payments; "" on the last.
	EntriesNext, PaymentsNext template.URL
}

// member is a member's page: its balance beside the total WeChat Pay last
// received, its points by cause, its ledger and its payments, each in
// pages (?entries_before=seq, ?payments_before=created_at in µs).
func (d *Dashboard) member(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	mall, openid := r.PathValue("mall"), r.PathValue("openid")
	q := r.URL.Query()
	entriesBefore, _ := strconv.ParseInt(q.Get("entries_before"), 10, 64)
	paymentsBefore, _ := strconv.ParseInt(q.Get("payments_before"), 10, 64)
	data := memberData{}
	var err error
	if data.Member, err = d.cfg.DB.Member(ctx, mall, openid); err != nil {
		d.fail(w, r, err)
		return
	}
	// The phone and birthday in full for administrators only.
	if p, _ := accounts.FromContext(ctx); p.Role != accounts.Admin {
		data.Member = data.Member.Masked()
	}
	entries, err := d.cfg.DB.MemberEntriesBefore(ctx, mall, openid, max(entriesBefore, 0), membersPage+1)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	payments, err := d.cfg.DB.Transactions(ctx, storage.TransactionFilter{Mall: mall, OpenID: openid,
		Before: max(paymentsBefore, 0), Limit: membersPage + 1})
	if err != nil {
		d.fail(w, r, err)
		return
	}
	var moreEntries, morePayments bool
	data.Entries, moreEntries = firstPage(entries, membersPage)
	data.Transactions, morePayments = firstPage(payments, membersPage)
	if data.Totals, err = d.cfg.DB.MemberPointTotals(ctx, mall, openid); err != nil {
		d.fail(w, r, err)
		return
	}
	switch ls, err := d.cfg.DB.LastSynced(ctx, mall, openid); {
	case err == nil:
		data.LastSynced = &ls
	case !errors.Is(err, storage.ErrNotFound):
		d.fail(w, r, err)
		return
	}
	// The same figure as GET /api/members/{mall}/{openid}'s expiring_30d.
	if data.Expiring, err = d.cfg.DB.Expiring(ctx, mall, openid, time.Time{}, d.cfg.Now().Add(expiringWindow)); err != nil {
		d.fail(w, r, err)
		return
	}
	if n := len(data.Entries); moreEntries {
		next := url.Values{"entries_before": {strconv.FormatInt(data.Entries[n-1].Seq, 10)}}
		if paymentsBefore > 0 {
			next.Set("payments_before", q.Get("payments_before"))
		}
		data.EntriesNext = template.URL(next.Encode())
	}
	if n := len(data.Transactions); morePayments {
		next := url.Values{"payments_before": {strconv.FormatInt(data.Transactions[n-1].CreatedAt.UnixMicro(), 10)}}
		if entriesBefore > 0 {
			next.Set("entries_before", q.Get("entries_before"))
		}
		data.PaymentsNext = template.URL(next.Encode())
	}
	d.render(w, r, http.StatusOK, "member", page{Title: d.lang(r).T("title.member"), Subject: openid, Nav: "members",
		Live: pending(data.Transactions), Data: data})
}

// firstPage is the first n of list, and whether list has more: a page
// reads one row beyond its size to know whether to offer the next.
func firstPage[T any](list []T, n int) ([]T, bool) {
	if len(list) > n {
		return list[:n], true
	}
	return list, false
}

// expiringWindow is how far ahead a member's points count as expiring
// soon, as in package api.
const expiringWindow = 30 * 24 * time.Hour

// transactionsData is the payments page: every payment, or those whose
// sync is in one state, newest first.
type transactionsData struct {
	State  string   // the filter: "" or a sync state
	States []string // the filters offered
	List   []storage.Transaction
	Next   template.URL // the query of the next page; "" on the last
}

// transactions lists the payments, newest first, in pages
// (?before=created_at in µs), of a sync state (?state=) or all.
func (d *Dashboard) transactions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	data := transactionsData{State: q.Get("state"), States: storage.SyncStates}
	if !slices.Contains(storage.SyncStates, data.State) {
		data.State = ""
	}
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	list, err := d.cfg.DB.Transactions(r.Context(), storage.TransactionFilter{Malls: scope(r), SyncState: data.State,
		Before: max(before, 0), Limit: membersPage + 1})
	if err != nil {
		d.fail(w, r, err)
		return
	}
	var more bool
	if data.List, more = firstPage(list, membersPage); more {
		next := url.Values{"before": {strconv.FormatInt(data.List[membersPage-1].CreatedAt.UnixMicro(), 10)}}
		if data.State != "" {
			next.Set("state", data.State)
		}
		data.Next = template.URL(next.Encode())
	}
	d.render(w, r, http.StatusOK, "transactions", page{Title: d.lang(r).T("title.transactions"), Nav: "transactions",
		Live: pending(data.List), Data: data})
}

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
	d.render(w, r, http.StatusOK, "transaction", page{Title: d.lang(r).T("title.transaction"), Subject: id,
		Live: pending([]storage.Transaction{data.Transaction}), Data: data})
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
	d.render(w, r, http.StatusOK, "parked", page{Title: d.lang(r).T("title.parked"), Nav: "parked", Data: data})
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
	l := d.lang(r)
	notice := l.T("notice.sync.retried", id)
	if !ok {
		notice = l.T("notice.sync.notparked", id)
	} else {
		d.record(r, storage.AuditEntry{Action: "sync.retry", Mall: s.Mall, Subject: strconv.FormatInt(id, 10),
			Before: storage.AuditValues(map[string]any{"state": s.State}),
			After:  storage.AuditValues(map[string]any{"state": storage.SyncPending})})
	}
	d.cfg.Logger.InfoContext(r.Context(), "dashboard: parked sync retried", "sync_id", id, "queued", ok)
	d.redirectWithNotice(w, r, "/parked", notice)
}

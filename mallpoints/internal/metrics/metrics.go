// Package metrics is mallpointsd's Prometheus instrumentation, served at
// /metrics on the admin listener. Metrics are declared once, here, on a
// registry the service owns (never the global one), so a test reads exactly
// what a scrape would.
//
// Three kinds of series: counters and histograms updated in process, as
// events happen (notifications and their handling time, the public
// listener's answers, signature failures, sync attempts); gauges read from
// the database at scrape time (the outbox's backlog, parked syncs, ledger
// entries, each mall's silence and its threshold, the rules version), which
// every replica reports alike; and the time left on each certificate the
// process holds.
//
//	m := metrics.New(log)
//	public := http.NewServeMux()
//	public.Handle("POST /wechatpay/notify", notify.NewHandler(parser, m.Notify(ledger.Handle),
//		notify.WithRejectionHook(m.Rejected)))
//	http.ListenAndServe(":8080", m.Public(public))
//	m.WatchState(db, current, merchantsMalls, time.Now)
//	m.WatchCertificates(certificates, time.Now)
//	http.Handle("/metrics", m.Handler())
package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/notify"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// Outcomes of notifications besides the ledger's own (applied,
// duplicate_id, duplicate_key).
const (
	// OutcomeFailed: the handler failed and WeChat Pay was answered 5xx, so
	// it delivers the notification again.
	OutcomeFailed = "failed"
	// OutcomeRefused: the event broke a rule of the intake (a field too
	// long, an amount out of range) and was answered 422 with the field
	// named; mallpoints_notifications_refused_total says which.
	OutcomeRefused = "refused"
	// OutcomeRejected: the request was refused before its event was read
	// (bad signature, malformed body, wrong method); its event type is
	// "unknown", since nothing unverified is trusted.
	OutcomeRejected = "rejected"
)

// Metrics holds the service's metrics and their registry.
type Metrics struct {
	reg               *prometheus.Registry
	notifications     *prometheus.CounterVec
	handling          *prometheus.HistogramVec
	responses         *prometheus.CounterVec
	refused           *prometheus.CounterVec
	signatureFailures prometheus.Counter
	syncAttempts      *prometheus.CounterVec
	signatureRefused  prometheus.Counter
	syncDuration      *prometheus.HistogramVec
	syncLag           prometheus.Histogram
	logDropped        *prometheus.CounterVec
	unlisted          *prometheus.CounterVec
	memberQueries     *prometheus.CounterVec
	log               *slog.Logger
}

// New returns the metrics on a registry of their own, with the Go runtime
// and process collectors. log receives scrape-time database errors; nil
// discards them.
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := promauto.With(reg)
	return &Metrics{
		reg: reg,
		log: log,
		notifications: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mallpoints_notifications_total",
			Help: "WeChat Pay notifications received, by event type and outcome (applied, duplicate_id, duplicate_key, failed, refused, rejected).",
		}, []string{"event_type", "outcome"}),
		handling: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mallpoints_notification_handling_seconds",
			Help:    "Time from a notification verified and decrypted to the service's answer decided (the mall recorded, the ledger's transaction committed), by event type. WeChat Pay waits 5 s for the answer, and the handler gives up at 4 s.",
			Buckets: NotificationBuckets,
		}, []string{"event_type"}),
		responses: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mallpoints_public_responses_total",
			Help: "Answers of the public listener (--listen), by route (the pattern matched; empty for none) and status code.",
		}, []string{"route", "code"}),
		refused: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mallpoints_notifications_refused_total",
			Help: "Deliveries of notifications refused at intake (answered 422), by the field and the rule it broke; WeChat Pay drops a notification after a day of retries, so each is listed in GET /api/refusals.",
		}, []string{"field", "rule"}),
		signatureFailures: f.NewCounter(prometheus.CounterOpts{
			Name: "mallpoints_signature_verification_failures_total",
			Help: "Notifications refused because their signature, timestamp or key did not verify (answered 401).",
		}),
		syncAttempts: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mallpoints_sync_attempts_total",
			Help: "Calls to WeChat Pay made by the outbox, by outcome (ok, retry, unknown, parked, unconfirmed) and WeChat Pay code (empty for ok).",
		}, []string{"outcome", "code"}),
		signatureRefused: f.NewCounter(prometheus.CounterOpts{
			Name: "mallpoints_sync_signature_refused_total",
			Help: "Calls to WeChat Pay by the outbox answered 401: WeChat Pay refuses the service's signatures (a clock over 5 minutes off, a wrong merchant key or serial). They are retried.",
		}),
		syncDuration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mallpoints_sync_attempt_duration_seconds",
			Help:    "Time of one call to WeChat Pay made by the outbox, by outcome.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15},
		}, []string{"outcome"}),
		syncLag: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "mallpoints_sync_lag_seconds",
			Help:    "Time from a sync's creation (the payment's commit) to WeChat Pay's 204, retries and queueing included.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600},
		}),
		logDropped: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mallpoints_log_records_dropped_total",
			Help: "Log records not written because the same message (a rejected notification, a refused connection) came faster than the log takes it, by message.",
		}, []string{"message"}),
		unlisted: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mallpoints_unlisted_mall_notifications_total",
			Help: "Notifications of a mall the merchants file lists nowhere, by the merchant whose URL received them: taken, and synced by that merchant; list the mall in its sub_mchids.",
		}, []string{"merchant"}),
		memberQueries: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mallpoints_member_queries_total",
			Help: "WeChat Pay's member queries (authorization, commit_status) for status lookups, the re-check and refused syncs, by outcome: ok, error (refused, failed or unverified: a 429 here means the budget is above WeChat Pay's limit), budget_spent (not made: the calling merchant's budget of the tenth of a second was spent), not_sent (no app id, brand id or merchant for the mall).",
		}, []string{"query", "outcome"}),
	}
}

// MemberQuery counts one of WeChat Pay's member queries and its outcome
// (package memberstatus's names: a few of each).
func (m *Metrics) MemberQuery(query, outcome string) {
	m.memberQueries.WithLabelValues(query, outcome).Inc()
}

// NotificationBuckets are the bounds of the notification handling time's
// histogram, in seconds: fine below 100 ms, where a healthy database
// answers, and at 4 s and 5 s, the handler's timeout and WeChat Pay's.
var NotificationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 4, 5, 10}

// UnlistedMall counts a notification of a mall the merchants file lists
// nowhere, received at merchant's URL. Merchants are the file's, a few.
func (m *Metrics) UnlistedMall(merchant string) { m.unlisted.WithLabelValues(merchant).Inc() }

// LogDropped counts a log record of message that was not written. Messages
// are constants of the code, so the label stays small.
func (m *Metrics) LogDropped(message string) { m.logDropped.WithLabelValues(message).Inc() }

// Registry is the registry the metrics live on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the exposition format a scraper asks for.
// A collector that fails (the database is down) leaves its series out and
// the rest are served; mallpoints_database_up says so.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:      m.reg,
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
	})
}

// Notify returns the notification callback: handle (the ledger's Handle),
// with each verified notification counted by event type and by the outcome
// handle returned.
func (m *Metrics) Notify(handle func(context.Context, *notify.Notification) (ledger.Outcome, error)) notify.HandlerFunc {
	return func(ctx context.Context, n *notify.Notification) error {
		start := time.Now()
		outcome, err := handle(ctx, n)
		m.handling.WithLabelValues(eventType(n.EventType)).Observe(time.Since(start).Seconds())
		o := OutcomeFailed
		if err == nil {
			o = string(outcome)
		} else if r, ok := errors.AsType[*ledger.Refusal](err); ok {
			o = OutcomeRefused
			m.refused.WithLabelValues(r.Field, r.Rule).Inc()
		}
		m.notifications.WithLabelValues(eventType(n.EventType), o).Inc()
		return err
	}
}

// eventType bounds the label to the shape of WeChat Pay's event types, so
// that a verified but unexpected value cannot grow the series without end.
func eventType(s string) string {
	if s == "" || len(s) > 64 || strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") != "" {
		return "other"
	}
	return s
}

// Rejected counts a request the notification handler refused before
// reading its event, and a signature that did not verify apart; pass it to
// notify.WithRejectionHook.
func (m *Metrics) Rejected(_ *http.Request, _ int, err error) {
	if _, ok := errors.AsType[*wxpay.VerificationError](err); ok {
		m.signatureFailures.Inc()
	}
	m.notifications.WithLabelValues("unknown", OutcomeRejected).Inc()
}

// ObserveAttempt counts one recorded sync attempt and its duration; pass it
// as outbox.Config.OnAttempt.
func (m *Metrics) ObserveAttempt(a storage.Attempt) {
	m.syncAttempts.WithLabelValues(a.Outcome, code(a.Code)).Inc()
	if a.Status == http.StatusUnauthorized {
		m.signatureRefused.Inc()
	}
	m.syncDuration.WithLabelValues(a.Outcome).Observe(a.Elapsed.Seconds())
}

// ObserveSyncLag records how long a sync took from its creation to WeChat
// Pay's 204.
func (m *Metrics) ObserveSyncLag(d time.Duration) { m.syncLag.Observe(max(d, 0).Seconds()) }

// code bounds the code label to WeChat Pay's codes, upper-case words such as
// PARAM_ERROR, and the outbox's own (NETWORK_ERROR, UNVERIFIED_ANSWER).
func code(s string) string {
	if len(s) > 40 || strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "" {
		return "OTHER"
	}
	return s
}

// StateSource reads the database's state at scrape time: *storage.DB.
type StateSource interface {
	State(ctx context.Context) (storage.State, error)
}

// WatchState registers the collector of the gauges read at scrape time from
// src, with current holding the rules in force (their version is a gauge,
// the malls they name and each mall's silence_alert the silence's series),
// malls listing the malls of the merchants file (nil: none) and now the
// clock (time.Now). Call it once.
func (m *Metrics) WatchState(src StateSource, current *rules.Current, malls func() []string, now func() time.Time) {
	m.reg.MustRegister(&stateCollector{src: src, rules: current, malls: malls, now: now, log: m.log})
}

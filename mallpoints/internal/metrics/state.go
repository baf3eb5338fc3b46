package metrics

import (
	"context"
	"log/slog"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// scrapeTimeout bounds the database reads of one scrape.
const scrapeTimeout = 5 * time.Second

var (
	descDatabaseUp = prometheus.NewDesc("mallpoints_database_up",
		"1 when the scrape-time database reads succeeded, else 0 (and the gauges read from it are left out).", nil, nil)
	descOutboxDepth = prometheus.NewDesc("mallpoints_outbox_depth",
		"Syncs waiting to be sent to WeChat Pay or retried.", nil, nil)
	descOutboxOldest = prometheus.NewDesc("mallpoints_outbox_oldest_age_seconds",
		"Age of the oldest sync waiting to be sent or retried; 0 when none waits.", nil, nil)
	descParked = prometheus.NewDesc("mallpoints_outbox_parked",
		"Syncs parked: refused by WeChat Pay with a 4xx or out of retries, waiting for a person to retry them.", nil, nil)
	descEntries = prometheus.NewDesc("mallpoints_ledger_entries_total",
		"Ledger entries ever written (payments, refunds, adjustments), by every replica.", nil, nil)
	descSilence = prometheus.NewDesc("mallpoints_seconds_since_last_notification",
		"Seconds since the mall's last notification arrived; +Inf for a mall the rules or merchants file names that has never sent one. Every mall notified or named has a series. WeChat Pay stops retrying a notification after 24h4m and has no call to ask for a lost one, so a long silence must page.", []string{"mall"}, nil)
	descSilenceThreshold = prometheus.NewDesc("mallpoints_silence_threshold_seconds",
		"How long the mall may be silent before the silence alert pages: the rules file's silence_alert for it; +Inf for never (a mall being onboarded). One series per series of mallpoints_seconds_since_last_notification.", []string{"mall"}, nil)
	descDecisions = prometheus.NewDesc("mallpoints_decisions",
		"Payments and refunds waiting for their mall's CRM to decide their points (rules key decide), by state: pending (being asked) or parked (a day of failed calls: a person retries or has the rules file decide).", []string{"state"}, nil)
	descDecisionOldest = prometheus.NewDesc("mallpoints_decision_oldest_age_seconds",
		"Age of the oldest payment or refund whose mall's CRM is still being asked; 0 when none waits.", nil, nil)
	descDeliveries = prometheus.NewDesc("mallpoints_webhook_deliveries",
		"Webhook events not yet delivered to a mall's CRM, by state: pending (waiting for their turn or being retried) or parked (a day of failed attempts: each holds its member's later events to that webhook until redelivered).", []string{"state"}, nil)
	descOldestCheck = prometheus.NewDesc("mallpoints_member_authorization_oldest_check_age_seconds",
		"Age of the oldest authorisation check among the members active in the last 30 days (a member never checked counts from when it was first seen); the re-check asks each every recheck interval, so past it the re-check is falling behind; 0 when no member is active.", nil, nil)
	descRules = prometheus.NewDesc("mallpoints_rules_info",
		"The version (content hash) of the points rules in force in this process; always 1.", []string{"version"}, nil)
)

// stateCollector reads the database when scraped.
type stateCollector struct {
	src   StateSource
	rules *rules.Current
	malls func() []string // the merchants file's malls; nil: none
	now   func() time.Time
	log   *slog.Logger
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDatabaseUp, descOutboxDepth, descOutboxOldest, descParked, descEntries, descSilence, descSilenceThreshold, descDecisions, descDecisionOldest, descDeliveries, descOldestCheck, descRules} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descRules, prometheus.GaugeValue, 1, c.rules.Load().Version())
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	st, err := c.src.State(ctx)
	if err != nil {
		c.log.Warn("metrics: database state not read", "error", err)
		ch <- prometheus.MustNewConstMetric(descDatabaseUp, prometheus.GaugeValue, 0)
		return
	}
	now := c.now()
	ch <- prometheus.MustNewConstMetric(descDatabaseUp, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(descOutboxDepth, prometheus.GaugeValue, float64(st.Pending))
	var oldest float64
	if !st.OldestPending.IsZero() {
		oldest = max(now.Sub(st.OldestPending).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(descOutboxOldest, prometheus.GaugeValue, oldest)
	ch <- prometheus.MustNewConstMetric(descParked, prometheus.GaugeValue, float64(st.Parked))
	ch <- prometheus.MustNewConstMetric(descEntries, prometheus.CounterValue, float64(st.LedgerEntries))
	for _, state := range []string{storage.DecisionPending, storage.DecisionParked} {
		ch <- prometheus.MustNewConstMetric(descDecisions, prometheus.GaugeValue, float64(st.Decisions[state]), state)
	}
	var decisionAge float64
	if !st.OldestDecision.IsZero() {
		decisionAge = max(now.Sub(st.OldestDecision).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(descDecisionOldest, prometheus.GaugeValue, decisionAge)
	for _, state := range []string{storage.DeliveryPending, storage.DeliveryParked} {
		ch <- prometheus.MustNewConstMetric(descDeliveries, prometheus.GaugeValue, float64(st.Deliveries[state]), state)
	}
	var checkAge float64
	if !st.OldestAuthorizationCheck.IsZero() {
		checkAge = max(now.Sub(st.OldestAuthorizationCheck).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(descOldestCheck, prometheus.GaugeValue, checkAge)
	c.collectSilence(ch, st.LastNotification, now)
}

// collectSilence sends the silence of every mall notified or named by the
// files, with its threshold. A mall named but never notified is silent for
// +Inf seconds: the alert fires for it as for one gone quiet, unless its
// threshold is never (+Inf too).
func (c *stateCollector) collectSilence(ch chan<- prometheus.Metric, last map[string]time.Time, now time.Time) {
	set := c.rules.Load()
	silence := make(map[string]float64, len(last))
	for mall, at := range last {
		silence[mall] = max(now.Sub(at).Seconds(), 0)
	}
	named := []string{}
	for _, m := range set.Malls() {
		named = append(named, m.MchID)
	}
	if c.malls != nil {
		named = append(named, c.malls()...)
	}
	for _, mall := range named {
		if _, ok := silence[mall]; !ok {
			silence[mall] = math.Inf(1)
		}
	}
	for mall, s := range silence {
		threshold := math.Inf(1)
		if d := set.Mall(mall).SilenceAlert; d > 0 {
			threshold = d.Seconds()
		}
		ch <- prometheus.MustNewConstMetric(descSilence, prometheus.GaugeValue, s, mall)
		ch <- prometheus.MustNewConstMetric(descSilenceThreshold, prometheus.GaugeValue, threshold, mall)
	}
}

package metrics

import (
	"context"
	"log/slog"
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
		"Seconds since the mall's last notification arrived. WeChat Pay stops retrying a notification after 24h4m and has no call to ask for a lost one, so a long silence must page.", []string{"mall"}, nil)
	descDecisions = prometheus.NewDesc("mallpoints_decisions",
		"Payments and refunds waiting for their mall's CRM to decide their points (rules key decide), by state: pending (being asked) or parked (a day of failed calls: a person retries or has the rules file decide).", []string{"state"}, nil)
	descDecisionOldest = prometheus.NewDesc("mallpoints_decision_oldest_age_seconds",
		"Age of the oldest payment or refund whose mall's CRM is still being asked; 0 when none waits.", nil, nil)
	descOldestCheck = prometheus.NewDesc("mallpoints_member_authorization_oldest_check_age_seconds",
		"Age of the oldest authorisation check among the members active in the last 30 days (a member never checked counts from when it was first seen); the re-check asks each every recheck interval, so past it the re-check is falling behind; 0 when no member is active.", nil, nil)
	descRules = prometheus.NewDesc("mallpoints_rules_info",
		"The version (content hash) of the points rules in force in this process; always 1.", []string{"version"}, nil)
)

// stateCollector reads the database when scraped.
type stateCollector struct {
	src   StateSource
	rules *rules.Current
	now   func() time.Time
	log   *slog.Logger
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDatabaseUp, descOutboxDepth, descOutboxOldest, descParked, descEntries, descSilence, descDecisions, descDecisionOldest, descOldestCheck, descRules} {
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
	var checkAge float64
	if !st.OldestAuthorizationCheck.IsZero() {
		checkAge = max(now.Sub(st.OldestAuthorizationCheck).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(descOldestCheck, prometheus.GaugeValue, checkAge)
	for mall, at := range st.LastNotification {
		ch <- prometheus.MustNewConstMetric(descSilence, prometheus.GaugeValue, max(now.Sub(at).Seconds(), 0), mall)
	}
}

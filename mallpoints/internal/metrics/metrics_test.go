package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/notify"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/metrics"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

func TestNotifyCountsEachNotificationByEventTypeAndOutcome(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	ok := m.Notify(func(context.Context, *notify.Notification) (ledger.Outcome, error) { return ledger.OutcomeApplied, nil })
	duplicate := m.Notify(func(context.Context, *notify.Notification) (ledger.Outcome, error) {
		return ledger.OutcomeDuplicateID, nil
	})
	bad := m.Notify(func(context.Context, *notify.Notification) (ledger.Outcome, error) {
		return "", errors.New("database down")
	})
	ctx := context.Background()
	ok(ctx, &notify.Notification{EventType: "MALL_TRANSACTION.SUCCESS"})
	ok(ctx, &notify.Notification{EventType: "MALL_TRANSACTION.SUCCESS"})
	bad(ctx, &notify.Notification{EventType: "MALL_REFUND.SUCCESS"})
	ok(ctx, &notify.Notification{EventType: "<script>"})
	duplicate(ctx, &notify.Notification{EventType: "MALL_REFUND.SUCCESS"})
	refused := m.Notify(func(context.Context, *notify.Notification) (ledger.Outcome, error) {
		return "", &notify.RefusedError{Status: 400, Err: &ledger.Refusal{Field: "openid", Rule: ledger.RuleTooLong}}
	})
	refused(ctx, &notify.Notification{EventType: "MALL_TRANSACTION.SUCCESS"})
	refused(ctx, &notify.Notification{EventType: "MALL_TRANSACTION.SUCCESS"})
	want := `
# HELP mallpoints_notifications_total WeChat Pay notifications received, by event type and outcome (applied, duplicate_id, duplicate_key, failed, refused, rejected).
# TYPE mallpoints_notifications_total counter
mallpoints_notifications_total{event_type="MALL_REFUND.SUCCESS",outcome="duplicate_id"} 1
mallpoints_notifications_total{event_type="MALL_REFUND.SUCCESS",outcome="failed"} 1
mallpoints_notifications_total{event_type="MALL_TRANSACTION.SUCCESS",outcome="applied"} 2
mallpoints_notifications_total{event_type="MALL_TRANSACTION.SUCCESS",outcome="refused"} 2
mallpoints_notifications_total{event_type="other",outcome="applied"} 1
# HELP mallpoints_notifications_refused_total Deliveries of notifications refused at intake (answered 422), by the field and the rule it broke; WeChat Pay drops a notification after a day of retries, so each is listed in GET /api/refusals.
# TYPE mallpoints_notifications_refused_total counter
mallpoints_notifications_refused_total{field="openid",rule="too_long"} 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "mallpoints_notifications_total", "mallpoints_notifications_refused_total"); err != nil {
		t.Error(err)
	}
}

func TestNotifyTimesTheHandlingByEventTypeAgainstWeChatPaysFiveSeconds(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	slow := m.Notify(func(context.Context, *notify.Notification) (ledger.Outcome, error) {
		time.Sleep(30 * time.Millisecond)
		return ledger.OutcomeApplied, nil
	})
	failed := m.Notify(func(context.Context, *notify.Notification) (ledger.Outcome, error) {
		return "", errors.New("database down")
	})
	ctx := context.Background()
	slow(ctx, &notify.Notification{EventType: "MALL_TRANSACTION.SUCCESS"})
	failed(ctx, &notify.Notification{EventType: "MALL_REFUND.SUCCESS"})
	failed(ctx, &notify.Notification{EventType: "MALL_REFUND.SUCCESS"})
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, f := range fams {
		if f.GetName() != "mallpoints_notification_handling_seconds" {
			continue
		}
		for _, s := range f.GetMetric() {
			if len(s.GetLabel()) != 1 || s.GetLabel()[0].GetName() != "event_type" {
				t.Errorf("labels %v, want event_type only", s.GetLabel())
			}
			h := s.GetHistogram()
			counts[s.GetLabel()[0].GetValue()] = h.GetSampleCount()
			var bounds []float64
			for _, b := range h.GetBucket() {
				bounds = append(bounds, b.GetUpperBound())
				// The 30 ms one is in no bucket under 25 ms.
				if s.GetLabel()[0].GetValue() == "MALL_TRANSACTION.SUCCESS" && b.GetUpperBound() <= .025 && b.GetCumulativeCount() != 0 {
					t.Errorf("a 30 ms handling counted under %v s", b.GetUpperBound())
				}
			}
			if !slices.Contains(bounds, 5) || !slices.Contains(bounds, 4) {
				t.Errorf("buckets %v: none at WeChat Pay's 5 s or the handler's 4 s", bounds)
			}
		}
	}
	if counts["MALL_TRANSACTION.SUCCESS"] != 1 || counts["MALL_REFUND.SUCCESS"] != 2 || len(counts) != 2 {
		t.Errorf("handling times counted %v; want one payment and two refunds, failures included", counts)
	}
}

func TestRejectedCountsAVerificationFailureAsASignatureFailure(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	r := httptest.NewRequest(http.MethodPost, "/wechatpay/notify", nil)
	for _, rejection := range []struct {
		status int
		err    error
	}{
		{http.StatusUnauthorized, &wxpay.VerificationError{Err: wxpay.ErrBadSignature}},
		{http.StatusUnauthorized, &wxpay.VerificationError{Err: wxpay.ErrClockSkew}},
		{http.StatusBadRequest, fmt.Errorf("%w: not JSON", notify.ErrMalformed)},
		{http.StatusBadRequest, fmt.Errorf("%w: tag", wxpay.ErrDecrypt)},
	} {
		m.Rejected(r, rejection.status, rejection.err)
	}
	want := `
# HELP mallpoints_signature_verification_failures_total Notifications refused because their signature, timestamp or key did not verify (answered 401).
# TYPE mallpoints_signature_verification_failures_total counter
mallpoints_signature_verification_failures_total 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "mallpoints_signature_verification_failures_total"); err != nil {
		t.Error(err)
	}
	rejected := `
# HELP mallpoints_notifications_total WeChat Pay notifications received, by event type and outcome (applied, duplicate_id, duplicate_key, failed, refused, rejected).
# TYPE mallpoints_notifications_total counter
mallpoints_notifications_total{event_type="unknown",outcome="rejected"} 4
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(rejected), "mallpoints_notifications_total"); err != nil {
		t.Errorf("every rejection is a rejected notification: %v", err)
	}
}

func TestSyncAttemptsCountOutcomeAndBoundedCodeAndA401AsRefusedSignatures(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	m.ObserveAttempt(storage.Attempt{Outcome: storage.AttemptOK, Elapsed: 30 * time.Millisecond})
	m.ObserveAttempt(storage.Attempt{Outcome: storage.AttemptParked, Code: "PARAM_ERROR", Elapsed: 20 * time.Millisecond})
	m.ObserveAttempt(storage.Attempt{Outcome: storage.AttemptRetry, Code: "some text\nfrom afar", Elapsed: time.Second})
	m.ObserveAttempt(storage.Attempt{Outcome: storage.AttemptRetry, Status: 401, Code: "SIGN_ERROR", Elapsed: time.Millisecond})
	want := `
# HELP mallpoints_sync_attempts_total Calls to WeChat Pay made by the outbox, by outcome (ok, retry, unknown, parked, unconfirmed) and WeChat Pay code (empty for ok).
# TYPE mallpoints_sync_attempts_total counter
mallpoints_sync_attempts_total{code="",outcome="ok"} 1
mallpoints_sync_attempts_total{code="OTHER",outcome="retry"} 1
mallpoints_sync_attempts_total{code="PARAM_ERROR",outcome="parked"} 1
mallpoints_sync_attempts_total{code="SIGN_ERROR",outcome="retry"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "mallpoints_sync_attempts_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.Registry(), "mallpoints_sync_attempt_duration_seconds"); n != 3 {
		t.Errorf("duration series: %d, want one per outcome", n)
	}
	refused := `
# HELP mallpoints_sync_signature_refused_total Calls to WeChat Pay by the outbox answered 401: WeChat Pay refuses the service's signatures (a clock over 5 minutes off, a wrong merchant key or serial). They are retried.
# TYPE mallpoints_sync_signature_refused_total counter
mallpoints_sync_signature_refused_total 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(refused), "mallpoints_sync_signature_refused_total"); err != nil {
		t.Errorf("the one 401: %v", err)
	}
}

type failingState struct{}

func (failingState) State(context.Context) (storage.State, error) {
	return storage.State{}, errors.New("connection refused")
}

func TestADatabaseThatCannotBeReadLeavesItsGaugesOutAndSaysSo(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	current := rules.NewCurrent(rules.Default())
	m.WatchState(failingState{}, current, nil, time.Now)
	want := `
# HELP mallpoints_database_up 1 when the scrape-time database reads succeeded, else 0 (and the gauges read from it are left out).
# TYPE mallpoints_database_up gauge
mallpoints_database_up 0
# HELP mallpoints_rules_info The version (content hash) of the points rules in force in this process; always 1.
# TYPE mallpoints_rules_info gauge
mallpoints_rules_info{version="` + current.Load().Version() + `"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "mallpoints_database_up", "mallpoints_rules_info", "mallpoints_outbox_depth"); err != nil {
		t.Error(err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "go_goroutines") {
		t.Errorf("/metrics with the database down: status %d; the rest must still be served", rec.Code)
	}
}

func TestSilenceAndOldestAgeAreSecondsSince(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	m := metrics.New(nil)
	m.WatchState(stateAt{now}, rules.NewCurrent(rules.Default()), nil, func() time.Time { return now })
	want := `
# HELP mallpoints_outbox_oldest_age_seconds Age of the oldest sync waiting to be sent or retried; 0 when none waits.
# TYPE mallpoints_outbox_oldest_age_seconds gauge
mallpoints_outbox_oldest_age_seconds 90
# HELP mallpoints_seconds_since_last_notification Seconds since the mall's last notification arrived; +Inf for a mall the rules or merchants file names that has never sent one. Every mall notified or named has a series. WeChat Pay stops retrying a notification after 24h4m and has no call to ask for a lost one, so a long silence must page.
# TYPE mallpoints_seconds_since_last_notification gauge
mallpoints_seconds_since_last_notification{mall="1900000109"} 3600
mallpoints_seconds_since_last_notification{mall="1900000110"} 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "mallpoints_outbox_oldest_age_seconds", "mallpoints_seconds_since_last_notification"); err != nil {
		t.Error(err)
	}
}

// A mall the rules file or the merchants file names has a silence series
// before its first notification, +Inf, so that the alert fires for it too;
// each silence has its threshold beside it, the mall's silence_alert, +Inf
// for never.
func TestEveryNamedMallHasASilenceFromTheStartAndAThreshold(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	set, err := rules.Parse([]byte(`default: {silence_alert: 3h}
malls:
  - {mchid: "1900000110", silence_alert: 30m}
  - {mchid: "1900000201", silence_alert: never}
  - {mchid: "1900000202"}
`))
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(nil)
	m.WatchState(stateAt{now}, rules.NewCurrent(set), func() []string { return []string{"1900000202", "1900000301"} },
		func() time.Time { return now })
	want := `
# HELP mallpoints_seconds_since_last_notification Seconds since the mall's last notification arrived; +Inf for a mall the rules or merchants file names that has never sent one. Every mall notified or named has a series. WeChat Pay stops retrying a notification after 24h4m and has no call to ask for a lost one, so a long silence must page.
# TYPE mallpoints_seconds_since_last_notification gauge
mallpoints_seconds_since_last_notification{mall="1900000109"} 3600
mallpoints_seconds_since_last_notification{mall="1900000110"} 0
mallpoints_seconds_since_last_notification{mall="1900000201"} +Inf
mallpoints_seconds_since_last_notification{mall="1900000202"} +Inf
mallpoints_seconds_since_last_notification{mall="1900000301"} +Inf
# HELP mallpoints_silence_threshold_seconds How long the mall may be silent before the silence alert pages: the rules file's silence_alert for it; +Inf for never (a mall being onboarded). One series per series of mallpoints_seconds_since_last_notification.
# TYPE mallpoints_silence_threshold_seconds gauge
mallpoints_silence_threshold_seconds{mall="1900000109"} 10800
mallpoints_silence_threshold_seconds{mall="1900000110"} 1800
mallpoints_silence_threshold_seconds{mall="1900000201"} +Inf
mallpoints_silence_threshold_seconds{mall="1900000202"} 10800
mallpoints_silence_threshold_seconds{mall="1900000301"} 10800
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "mallpoints_seconds_since_last_notification", "mallpoints_silence_threshold_seconds"); err != nil {
		t.Error(err)
	}
}

type stateAt struct{ now time.Time }

func (s stateAt) State(context.Context) (storage.State, error) {
	return storage.State{Pending: 2, OldestPending: s.now.Add(-90 * time.Second), LastNotification: map[string]time.Time{
		"1900000109": s.now.Add(-time.Hour), "1900000110": s.now,
	}}, nil
}

type decisionsWaiting struct{ now time.Time }

func (s decisionsWaiting) State(context.Context) (storage.State, error) {
	return storage.State{Decisions: map[string]int64{storage.DecisionPending: 3, storage.DecisionParked: 1},
		OldestDecision: s.now.Add(-20 * time.Minute), Deliveries: map[string]int64{storage.DeliveryPending: 5, storage.DeliveryParked: 2}}, nil
}

func TestDecisionsWaitingForACRMAreCountedByStateWithTheOldestAge(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	m := metrics.New(nil)
	m.WatchState(decisionsWaiting{now}, rules.NewCurrent(rules.Default()), nil, func() time.Time { return now })
	want := `
# HELP mallpoints_decision_oldest_age_seconds Age of the oldest payment or refund whose mall's CRM is still being asked; 0 when none waits.
# TYPE mallpoints_decision_oldest_age_seconds gauge
mallpoints_decision_oldest_age_seconds 1200
# HELP mallpoints_decisions Payments and refunds waiting for their mall's CRM to decide their points (rules key decide), by state: pending (being asked) or parked (a day of failed calls: a person retries or has the rules file decide).
# TYPE mallpoints_decisions gauge
mallpoints_decisions{state="parked"} 1
mallpoints_decisions{state="pending"} 3
# HELP mallpoints_webhook_deliveries Webhook events not yet delivered to a mall's CRM, by state: pending (waiting for their turn or being retried) or parked (a day of failed attempts: each holds its member's later events to that webhook until redelivered).
# TYPE mallpoints_webhook_deliveries gauge
mallpoints_webhook_deliveries{state="parked"} 2
mallpoints_webhook_deliveries{state="pending"} 5
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "mallpoints_decisions", "mallpoints_decision_oldest_age_seconds",
		"mallpoints_webhook_deliveries"); err != nil {
		t.Error(err)
	}
}

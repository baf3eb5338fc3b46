package loadgen

import (
	"strings"
	"testing"
	"time"
)

func TestPercentilesAreNearestRank(t *testing.T) {
	t.Parallel()
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // unsorted on purpose
	}
	for _, c := range []struct {
		name           string
		in             []time.Duration
		p50, p99, most time.Duration
	}{
		{"none", nil, 0, 0, 0},
		{"one", ms(7), 7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond},
		{"two", ms(9, 1), time.Millisecond, 9 * time.Millisecond, 9 * time.Millisecond},
		{"a hundred", ms(hundred...), 50 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p50, p99, most := percentiles(c.in)
			if p50 != c.p50 || p99 != c.p99 || most != c.most {
				t.Errorf("got p50 %v p99 %v max %v; want %v %v %v", p50, p99, most, c.p50, c.p99, c.most)
			}
		})
	}
}

func TestSummarizeCountsThisRunsSyncsAndNotificationAnswersOnly(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)
	run := &Run{Start: t0, End: t0.Add(2 * time.Second), Payments: []*Payment{
		{Paid: Paid{TransactionID: "a", NotificationID: "n1"}, PaidAt: t0, SyncedAt: t0.Add(100 * time.Millisecond)},
		{Paid: Paid{TransactionID: "b", NotificationID: "n2"}, PaidAt: t0.Add(time.Second), SyncedAt: t0.Add(2 * time.Second)},
		{Paid: Paid{TransactionID: "c", NotificationID: "n3"}, PaidAt: t0.Add(time.Second)}, // never synced
	}}
	deliveries := []Delivery{
		{ID: "n1", Attempts: []Attempt{{Status: 204, Duration: 5 * time.Millisecond}}},
		{ID: "n2", Attempts: []Attempt{{Status: 502, Duration: time.Millisecond}, {Status: 204, Duration: 7 * time.Millisecond}}},
		{ID: "other run", Attempts: []Attempt{{Status: 204, Duration: time.Hour}}},
	}
	s := run.Summarize(deliveries)
	if s.Payments != 3 || s.Synced != 2 || s.Throughput != 1 {
		t.Errorf("payments %d, synced %d, throughput %v; want 3, 2, 1/s", s.Payments, s.Synced, s.Throughput)
	}
	if s.LatencyP50 != 100*time.Millisecond || s.LatencyMax != time.Second {
		t.Errorf("latency p50 %v max %v; want 100ms, 1s", s.LatencyP50, s.LatencyMax)
	}
	if s.Answers != 3 || s.Failed != 1 || s.AnswerMax != 7*time.Millisecond {
		t.Errorf("answers %d, failed %d, max %v; want 3, 1, 7ms", s.Answers, s.Failed, s.AnswerMax)
	}
	var b strings.Builder
	s.Write(&b)
	for _, want := range []string{"synced 2", "1.0 syncs/s", "p50 100.0 ms", "over 3 attempts, 1 not 2xx"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

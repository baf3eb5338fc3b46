package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// ServiceTransaction is the part of the service's view of a transaction
// (GET /api/transactions/{mall}/{transaction_id}) that a run reads.
type ServiceTransaction struct {
	Transaction struct {
		TransactionID string `json:"transaction_id"`
		OpenID        string `json:"openid"`
		Amount        int64  `json:"amount"`
		Points        int64  `json:"points"`
		EarnPoints    bool   `json:"earn_points"`
		TotalPoints   int64  `json:"total_points"`
		Sync          struct {
			State    string    `json:"state"`
			Attempts int       `json:"attempts"`
			SyncedAt time.Time `json:"synced_at"`
		} `json:"sync"`
	} `json:"transaction"`
}

// Transaction reads the service's view of one transaction of mall from its
// admin API at adminURL.
func Transaction(ctx context.Context, hc *http.Client, adminURL, mall, id string) (ServiceTransaction, error) {
	var out ServiceTransaction
	u := strings.TrimSuffix(adminURL, "/") + "/api/transactions/" + url.PathEscape(mall) + "/" + url.PathEscape(id)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return out, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return out, err
	}
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	return out, json.Unmarshal(raw, &out)
}

// UseServiceTimes replaces each payment's SyncedAt, known from polling only
// to within the poll interval, by the time the service recorded the sync's
// 204 answer, read from its admin API after the run; mall is the mchid of
// the sandbox's first merchant, whose own mall the zero Mall is. The service runs on the same
// machine, so its clock is the run's.
func (r *Run) UseServiceTimes(ctx context.Context, hc *http.Client, adminURL, mall string) error {
	if hc == nil {
		hc = http.DefaultClient
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan *Payment)
	)
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				m := p.Mall.ID()
				if m == "" {
					m = mall
				}
				t, err := Transaction(ctx, hc, adminURL, m, p.TransactionID)
				if err == nil && t.Transaction.Sync.SyncedAt.IsZero() {
					err = fmt.Errorf("transaction %s: the service has no sync time (state %q)", p.TransactionID, t.Transaction.Sync.State)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					continue
				}
				p.SyncedAt = t.Transaction.Sync.SyncedAt
			}
		}()
	}
	for _, p := range r.Payments {
		next <- p
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("loadgen: %d transactions without a service sync time, first: %w", len(errs), errs[0])
	}
	r.End = r.Start
	for _, p := range r.Payments {
		if p.SyncedAt.After(r.End) {
			r.End = p.SyncedAt
		}
	}
	return nil
}

// Summary is what a run measured.
type Summary struct {
	Payments, Synced int
	Elapsed          time.Duration // first payment to last sync
	Throughput       float64       // syncs per second over Elapsed
	// Latency is from the payment to its points sync (end to end: the
	// sandbox notifies, the service records and answers, its outbox syncs).
	LatencyP50, LatencyP99, LatencyMax time.Duration
	// Answer is how long the service took to answer a notification, as the
	// sandbox measured it, over every attempt of this run's payment
	// notifications; Answers counts them and Failed those not answered 2xx.
	AnswerP50, AnswerP99, AnswerMax time.Duration
	Answers, Failed                 int
}

// Summarize computes the run's figures; deliveries is the sandbox's list
// after the run (nil leaves the answer figures out).
func (r *Run) Summarize(deliveries []Delivery) Summary {
	s := Summary{Payments: len(r.Payments), Elapsed: r.End.Sub(r.Start)}
	var lat []time.Duration
	ids := make(map[string]bool, len(r.Payments))
	for _, p := range r.Payments {
		ids[p.NotificationID] = true
		if p.SyncedAt.IsZero() {
			continue
		}
		s.Synced++
		lat = append(lat, p.SyncedAt.Sub(p.PaidAt))
	}
	if s.Elapsed > 0 {
		s.Throughput = float64(s.Synced) / s.Elapsed.Seconds()
	}
	s.LatencyP50, s.LatencyP99, s.LatencyMax = percentiles(lat)
	var ans []time.Duration
	for _, d := range deliveries {
		if !ids[d.ID] {
			continue
		}
		for _, a := range d.Attempts {
			s.Answers++
			if a.Status/100 != 2 {
				s.Failed++
				continue
			}
			ans = append(ans, a.Duration)
		}
	}
	s.AnswerP50, s.AnswerP99, s.AnswerMax = percentiles(ans)
	return s
}

// percentiles returns the nearest-rank p50 and p99 and the maximum.
func percentiles(d []time.Duration) (p50, p99, most time.Duration) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(d)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(d))+0.999999) - 1
		return d[min(max(i, 0), len(d)-1)]
	}
	return rank(0.50), rank(0.99), d[len(d)-1]
}

// Write prints the summary as a short report.
func (s Summary) Write(w io.Writer) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(w, "payments %d, synced %d in %.2f s: %.1f syncs/s\n", s.Payments, s.Synced, s.Elapsed.Seconds(), s.Throughput)
	fmt.Fprintf(w, "payment → points synced: p50 %s, p99 %s, max %s\n", ms(s.LatencyP50), ms(s.LatencyP99), ms(s.LatencyMax))
	if s.Answers > 0 {
		fmt.Fprintf(w, "notification answered (as the sandbox saw it): p50 %s, p99 %s, max %s over %d attempts, %d not 2xx\n",
			ms(s.AnswerP50), ms(s.AnswerP99), ms(s.AnswerMax), s.Answers, s.Failed)
	}
}

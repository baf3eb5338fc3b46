package delivery

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
)

// The states of a Record.
const (
	StatePending   = "pending"   // an attempt is in flight or a retry is scheduled
	StateDelivered = "delivered" // the receiver answered 200 or 204
	StateFailed    = "failed"    // every attempt of the schedule failed
	StateCancelled = "cancelled" // the queue was closed before the message was delivered
)

// DefaultTimeout is how long a receiver has to answer one attempt: WeChat Pay
// expects an answer within 5 s ("需在5秒内完成对报文的验签，并应答回调通知").
const DefaultTimeout = 5 * time.Second

// ErrClosed is returned by Wait when the queue is closed and the awaited
// record can no longer change (or was never enqueued).
var ErrClosed = errors.New("delivery: queue closed")

// Message is one notification to deliver.
type Message struct {
	ID        string // the notification id (the envelope's id)
	EventType string
	URL       string
	Owner     string // who the message is for, kept in the record for filtering (the sandbox's mchid)

	// Build is called for every attempt (attempt counts from 1) and returns
	// the headers and body to send. The sandbox signs each attempt afresh with
	// a new timestamp and nonce, and may inject a probe signature or clock skew
	// into some of them. An error fails the attempt, which is retried.
	Build func(attempt int) (http.Header, []byte, error)
}

// Attempt is one try, as recorded.
type Attempt struct {
	N        int           `json:"attempt"`
	At       time.Time     `json:"at"`
	Status   int           `json:"status,omitempty"` // 0 when there was no HTTP answer
	Error    string        `json:"error,omitempty"`  // transport error, timeout, build error, or "answered 500: FAIL: …"
	Duration time.Duration `json:"duration_ns"`
}

// Record is the delivery state of one message.
type Record struct {
	ID        string    `json:"id"`
	EventType string    `json:"event_type"`
	URL       string    `json:"url"`
	State     string    `json:"state"` // StatePending, StateDelivered, StateFailed or StateCancelled
	Attempts  []Attempt `json:"attempts"`
	NextAt    time.Time `json:"next_at,omitzero"` // when the next retry is due; zero while an attempt is in flight and once final
	Owner     string    `json:"-"`                // Message.Owner
}

// Final reports whether the record can no longer change.
func (r Record) Final() bool { return r.State != StatePending }

func (r Record) clone() Record {
	r.Attempts = slices.Clone(r.Attempts)
	return r
}

// Config configures a Queue. The zero value is WeChat Pay's behaviour.
type Config struct {
	Schedule []time.Duration // waits before each retry; nil => DefaultSchedule(), empty => no retries; waits < 0 count as 0
	Timeout  time.Duration   // per attempt, including reading the answer; <= 0 => DefaultTimeout
	Client   *http.Client    // nil => a client of its own that follows no redirects
	Logger   *slog.Logger    // nil => discard; one record per attempt, never the body
	// MaxRecords bounds the records kept: beyond it the oldest final ones
	// (delivered, failed, cancelled) are forgotten; pending ones never are.
	// <= 0 => DefaultMaxRecords.
	MaxRecords int
}

// DefaultMaxRecords is how many records a queue keeps by default: far more
// than a test sends, few enough that a long-running sandbox stays small.
const DefaultMaxRecords = 100_000

// Queue delivers messages and keeps their records. Its methods are safe for
// concurrent use. Messages are independent of each other, also when they go
// to the same URL.
type Queue struct {
	schedule []time.Duration
	timeout  time.Duration
	client   *http.Client
	ownTrans *http.Transport // the default client's transport, whose idle connections Close closes
	log      *slog.Logger
	maxRecs  int

	ctx    context.Context // cancelled by Close: ends in-flight attempts
	cancel context.CancelFunc
	wg     sync.WaitGroup // one per attempt that is running or scheduled

	mu      sync.Mutex
	closed  bool
	entries []*entry          // in enqueue order
	byID    map[string]*entry // the latest entry with each id
	changed chan struct{}     // closed and replaced on every change, to wake Wait
}

// entry is one message and its record; guarded by Queue.mu.
type entry struct {
	msg   Message
	rec   Record
	timer *time.Timer // the scheduled retry, nil when none
}

// New returns a running queue. Close it to stop its retries.
func New(cfg Config) *Queue {
	q := &Queue{
		schedule: slices.Clone(cfg.Schedule),
		timeout:  cfg.Timeout,
		client:   cfg.Client,
		log:      cfg.Logger,
		maxRecs:  cfg.MaxRecords,
		byID:     make(map[string]*entry),
		changed:  make(chan struct{}),
	}
	if cfg.Schedule == nil {
		q.schedule = DefaultSchedule()
	}
	for i, d := range q.schedule {
		q.schedule[i] = max(d, 0)
	}
	if q.timeout <= 0 {
		q.timeout = DefaultTimeout
	}
	if q.maxRecs <= 0 {
		q.maxRecs = DefaultMaxRecords
	}
	if q.client == nil {
		// A transport of our own, so that Close can drop its idle
		// connections without touching http.DefaultTransport.
		q.ownTrans = http.DefaultTransport.(*http.Transport).Clone()
		q.client = &http.Client{
			Transport: q.ownTrans,
			// WeChat Pay wants 200 or 204 from the notify URL itself; a
			// redirect is an answer like any other, and a failure.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	return q
}

// Enqueue adds m and starts its first attempt right away, in the background.
// After Close, m is recorded as cancelled and never sent. A message with the
// id of an earlier one is delivered independently; Record and Wait then see
// the later one.
func (q *Queue) Enqueue(m Message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e := &entry{msg: m, rec: Record{ID: m.ID, EventType: m.EventType, URL: m.URL, Owner: m.Owner, State: StatePending, Attempts: []Attempt{}}}
	q.entries = append(q.entries, e)
	q.byID[m.ID] = e
	if len(q.entries) > q.maxRecs+q.maxRecs/8 {
		q.forgetLocked()
	}
	if q.closed {
		e.rec.State = StateCancelled
	} else {
		q.wg.Add(1)
		go q.attempt(e, 1)
	}
	q.notifyLocked()
}

// forgetLocked drops the oldest final records until at most maxRecs remain
// (pending ones are always kept). It runs once every maxRecs/8 enqueues, so
// its cost per message is constant. q.mu must be held.
func (q *Queue) forgetLocked() {
	excess := len(q.entries) - q.maxRecs
	kept := q.entries[:0]
	for _, e := range q.entries {
		if excess > 0 && e.rec.Final() {
			excess--
			if q.byID[e.rec.ID] == e {
				delete(q.byID, e.rec.ID)
			}
			continue
		}
		kept = append(kept, e)
	}
	clear(q.entries[len(kept):])
	q.entries = kept
}

// Records returns a copy of every record, in enqueue order.
func (q *Queue) Records() []Record {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]Record, len(q.entries))
	for i, e := range q.entries {
		out[i] = e.rec.clone()
	}
	return out
}

// Record returns a copy of the record of the message last enqueued with id.
func (q *Queue) Record(id string) (Record, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.byID[id]
	if !ok {
		return Record{}, false
	}
	return e.rec.clone(), true
}

// Wait blocks until the record of id satisfies until and returns it. A nil
// until waits for a final state (delivered, failed or cancelled). An id not
// enqueued yet is waited for. Wait returns early with ctx's error when ctx
// ends, and with ErrClosed when the queue is closed and the record cannot
// change any more; the record returned with an error is the latest seen.
func (q *Queue) Wait(ctx context.Context, id string, until func(Record) bool) (Record, error) {
	if until == nil {
		until = Record.Final
	}
	for {
		q.mu.Lock()
		e, ok := q.byID[id]
		var rec Record
		if ok {
			rec = e.rec.clone()
		}
		changed, closed := q.changed, q.closed
		q.mu.Unlock()
		if ok && until(rec) {
			return rec, nil
		}
		if closed && (!ok || rec.Final()) {
			return rec, ErrClosed
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return rec, ctx.Err()
		}
	}
}

// Close stops every scheduled retry (those records become "cancelled"),
// cancels attempts in flight and waits for them to end, then returns. It is
// safe to call more than once.
func (q *Queue) Close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		q.cancel()
		for _, e := range q.entries {
			if e.timer != nil && e.timer.Stop() {
				// The retry will never run: account for it here.
				e.timer = nil
				q.wg.Done()
				e.rec.State, e.rec.NextAt = StateCancelled, time.Time{}
			}
			// Otherwise the attempt is running (or just starting) and
			// records the cancellation itself.
		}
		q.notifyLocked()
	}
	q.mu.Unlock()
	q.wg.Wait()
	if q.ownTrans != nil {
		q.ownTrans.CloseIdleConnections()
	}
}

// attempt makes attempt number n of e and then schedules the next one or
// settles the record. Each call owns one count of q.wg.
func (q *Queue) attempt(e *entry, n int) {
	defer q.wg.Done()

	q.mu.Lock()
	e.timer = nil
	if q.closed {
		e.rec.State, e.rec.NextAt = StateCancelled, time.Time{}
		q.notifyLocked()
		q.mu.Unlock()
		return
	}
	e.rec.NextAt = time.Time{}
	q.notifyLocked()
	q.mu.Unlock()

	a := q.send(e.msg, n)

	q.mu.Lock()
	e.rec.Attempts = append(e.rec.Attempts, a)
	var wait time.Duration
	switch {
	case a.Status == http.StatusOK || a.Status == http.StatusNoContent:
		e.rec.State = StateDelivered
	case q.closed:
		e.rec.State = StateCancelled
	case n > len(q.schedule):
		e.rec.State = StateFailed
	default:
		wait = q.schedule[n-1]
		e.rec.NextAt = time.Now().Add(wait)
		q.wg.Add(1)
		e.timer = time.AfterFunc(wait, func() { q.attempt(e, n+1) })
	}
	if e.rec.Final() {
		e.msg.Build = nil // the body is not needed any more
	}
	// Logged before the lock is released: a retry due in a millisecond could
	// otherwise run and log first, and the log would tell the attempts out
	// of order.
	q.logAttempt(e.rec, a, wait)
	q.notifyLocked()
	q.mu.Unlock()
}

// notifyLocked wakes every Wait. q.mu must be held.
func (q *Queue) notifyLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// logAttempt writes the one log record of attempt a, with q.mu held; rec is
// the record after it. Bodies and headers are never logged: they carry signatures and, once
// decrypted, personal data.
func (q *Queue) logAttempt(rec Record, a Attempt, wait time.Duration) {
	level, msg := slog.LevelInfo, "notification delivered"
	switch rec.State {
	case StatePending:
		level, msg = slog.LevelWarn, "notification attempt failed, will retry"
	case StateFailed:
		level, msg = slog.LevelError, "notification failed, retry schedule exhausted"
	case StateCancelled:
		level, msg = slog.LevelWarn, "notification cancelled, queue closed"
	}
	attrs := []slog.Attr{
		slog.String("id", rec.ID),
		slog.String("event_type", rec.EventType),
		slog.String("url", rec.URL),
		slog.Int("attempt", a.N),
		slog.Int("status", a.Status),
		slog.String("error", a.Error),
		slog.Duration("duration", a.Duration),
		slog.String("state", rec.State),
	}
	if rec.State == StatePending {
		attrs = append(attrs, slog.Duration("retry_in", wait))
	}
	q.log.LogAttrs(context.Background(), level, msg, attrs...)
}

package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Config is one load run.
type Config struct {
	AppID   string // the mall's AppID the members use
	Members int    // how many members pay, authorized before the run; 0 means 100
	// Malls, if set, are the malls the members belong to: member i joins
	// Malls[i mod len(Malls)] and pays there. Empty: the sandbox's first
	// merchant's own mall.
	Malls []Mall
	// OpenIDs, if set, are members already authorized (see Authorize) who
	// pay instead: the run then makes no activation notifications.
	OpenIDs  []string
	Payments int // how many payments the run makes
	// Rate is payments per second (open loop: payments go out on time
	// whether or not the service keeps up). 0 means closed loop.
	Rate float64
	// InFlight is, in a closed loop, how many payments are between payment
	// and observed sync at once; 0 means 16.
	InFlight int
	// Amount gives the amount in fen of payment i; nil means 100 + 37·i mod
	// 100000, a spread of yuan and fen.
	Amount func(i int) int64
	// Poll is how often outstanding payments are checked for their sync;
	// 0 means 50 ms.
	Poll time.Duration
	// Settle bounds the wait for the syncs after the last payment; 0 means
	// two minutes.
	Settle time.Duration
	// Progress, if set, is called about once a second.
	Progress func(paid, synced int)
}

// Payment is one payment of a run and what became of it.
type Payment struct {
	Paid
	Mall   Mall
	OpenID string
	Amount int64
	PaidAt time.Time // just before the sandbox was asked to pay
	// SeenSyncedAt is when the poll first saw the sync; SyncedAt is when
	// the sync happened, as exact as the run knows it (see
	// Run.UseServiceTimes).
	SeenSyncedAt, SyncedAt time.Time
	Sync                   PointsSync // the sandbox's record when the sync was seen
}

// Run is a finished load run.
type Run struct {
	Payments   []*Payment
	Start, End time.Time // first payment, last sync seen
	PayErrors  int       // payments the sandbox refused (they are not in Payments)
}

// Drive authorizes cfg.Members members, then makes cfg.Payments payments and
// waits until the sandbox has received a points sync of each. It returns the
// run, also when some syncs did not arrive within cfg.Settle (then with an
// error naming how many).
func Drive(ctx context.Context, a *Admin, cfg Config) (*Run, error) {
	if cfg.Members <= 0 {
		cfg.Members = 100
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = 16
	}
	if cfg.Amount == nil {
		cfg.Amount = func(i int) int64 { return 100 + int64(i)*37%100000 }
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 50 * time.Millisecond
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 2 * time.Minute
	}
	members := cfg.OpenIDs
	if len(members) == 0 {
		var err error
		if members, err = Authorize(ctx, a, cfg.AppID, cfg.Members, cfg.Malls); err != nil {
			return nil, err
		}
	}

	t := newTracker()
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		slot = make(chan struct{}, max(cfg.InFlight, 64)) // bounds admin calls in flight
	)
	if cfg.Rate == 0 {
		slot = make(chan struct{}, cfg.InFlight)
		t.release = func() { <-slot }
	}
	run := &Run{Start: time.Now()}
	pollCtx, stopPoll := context.WithCancel(ctx)
	pollDone := make(chan struct{})
	go func() { defer close(pollDone); t.poll(pollCtx, a, cfg.Poll) }()
	var tick *time.Ticker
	if cfg.Rate > 0 {
		tick = time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
		defer tick.Stop()
	}
	lastProgress := time.Now()
payments:
	for i := 0; i < cfg.Payments; i++ {
		if tick != nil {
			select {
			case <-tick.C:
			case <-ctx.Done():
				break payments
			}
		}
		select {
		case slot <- struct{}{}:
		case <-ctx.Done():
			break payments
		}
		if cfg.Progress != nil && time.Since(lastProgress) >= time.Second {
			lastProgress = time.Now()
			cfg.Progress(i, t.synced())
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p := &Payment{Mall: mallOf(cfg.Malls, i%len(members)), OpenID: members[i%len(members)], Amount: cfg.Amount(i),
				PaidAt: time.Now()}
			paid, err := a.Pay(ctx, PaymentRequest{Mall: p.Mall, AppID: cfg.AppID, OpenID: p.OpenID, Amount: p.Amount})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				run.PayErrors++
				if cfg.Rate == 0 {
					<-slot
				}
				return
			}
			if cfg.Rate > 0 {
				<-slot
			}
			p.Paid = paid
			run.Payments = append(run.Payments, p)
			t.add(p)
		}(i)
	}
	wg.Wait()
	settle := time.NewTimer(cfg.Settle)
	defer settle.Stop()
	progress := time.NewTicker(time.Second)
	defer progress.Stop()
	for wait := true; wait; {
		select {
		case <-t.empty():
			wait = false
		case <-settle.C:
			wait = false
		case <-ctx.Done():
			wait = false
		case <-progress.C:
			if cfg.Progress != nil {
				cfg.Progress(len(run.Payments), t.synced())
			}
		}
	}
	stopPoll()
	<-pollDone
	run.End = t.lastSeen()
	if n := t.outstanding(); n > 0 {
		return run, fmt.Errorf("loadgen: %d of %d payments not synced within %v after the last payment", n, len(run.Payments), cfg.Settle)
	}
	if run.PayErrors > 0 {
		return run, fmt.Errorf("loadgen: the sandbox refused %d payments", run.PayErrors)
	}
	return run, ctx.Err()
}

// Authorize makes n new members of appid, eight at a time, and returns their
// openids; member i joins mallOf(malls, i).
func Authorize(ctx context.Context, a *Admin, appid string, n int, malls []Mall) ([]string, error) {
	members := make([]string, n)
	stamp := time.Now().UnixNano()
	errs := make([]error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range members {
		members[i] = fmt.Sprintf("oLoad%x_%d", stamp, i)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = a.Authorize(ctx, appid, members[i], mallOf(malls, i))
		}()
	}
	wg.Wait()
	return members, errors.Join(errs...)
}

// mallOf is the mall of member i: one of malls in turn, or the sandbox's
// first merchant's own when there are none.
func mallOf(malls []Mall, i int) Mall {
	if len(malls) == 0 {
		return Mall{}
	}
	return malls[i%len(malls)]
}

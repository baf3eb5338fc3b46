package loadgen

import (
	"context"
	"sync"
	"time"
)

// tracker keeps the payments whose sync has not been seen yet and polls the
// sandbox for them.
type tracker struct {
	mu      sync.Mutex
	open    []*Payment // in payment order
	cursor  int        // where the next poll round starts
	nSynced int
	last    time.Time
	drained chan struct{} // closed and replaced as open empties
	release func()        // called once per sync seen (closed loop)
}

// batch is how many outstanding payments one poll round checks, and
// parallel how many requests it has open at once: enough to follow a few
// thousand syncs per second without the poll itself loading the machine.
const (
	batch    = 64
	parallel = 4
)

func newTracker() *tracker { return &tracker{drained: make(chan struct{})} }

func (t *tracker) add(p *Payment) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.open) == 0 {
		t.drained = make(chan struct{})
	}
	t.open = append(t.open, p)
}

// empty is closed when nothing is outstanding.
func (t *tracker) empty() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.open) == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	return t.drained
}

func (t *tracker) outstanding() int { t.mu.Lock(); defer t.mu.Unlock(); return len(t.open) }
func (t *tracker) synced() int      { t.mu.Lock(); defer t.mu.Unlock(); return t.nSynced }
func (t *tracker) lastSeen() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// round picks the next batch of outstanding payments, going round the list
// so that a payment whose sync is late (retried under faults) does not hide
// the ones after it.
func (t *tracker) round() []*Payment {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := min(batch, len(t.open))
	out := make([]*Payment, 0, n)
	if t.cursor >= len(t.open) {
		t.cursor = 0
	}
	for i := 0; i < n; i++ {
		out = append(out, t.open[(t.cursor+i)%len(t.open)])
	}
	t.cursor += n
	return out
}

// seen removes the payments whose sync arrived.
func (t *tracker) seen(done map[*Payment]bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	keep := t.open[:0]
	for _, p := range t.open {
		if done[p] {
			t.nSynced++
			if p.SeenSyncedAt.After(t.last) {
				t.last = p.SeenSyncedAt
			}
			if t.release != nil {
				t.release()
			}
			continue
		}
		keep = append(keep, p)
	}
	clear(t.open[len(keep):])
	t.open = keep
	if len(t.open) == 0 && len(done) > 0 {
		close(t.drained)
	}
}

// poll checks outstanding payments every interval until ctx ends.
func (t *tracker) poll(ctx context.Context, a *Admin, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ps := t.round()
		if len(ps) == 0 {
			continue
		}
		var (
			mu   sync.Mutex
			wg   sync.WaitGroup
			done = map[*Payment]bool{}
			next = make(chan *Payment)
		)
		for range parallel {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for p := range next {
					s, err := a.Points(ctx, p.TransactionID)
					if err != nil || s.SyncCount == 0 {
						continue
					}
					p.SeenSyncedAt, p.SyncedAt, p.Sync = time.Now(), time.Now(), s
					mu.Lock()
					done[p] = true
					mu.Unlock()
				}
			}()
		}
		for _, p := range ps {
			next <- p
		}
		close(next)
		wg.Wait()
		t.seen(done)
	}
}

package notify_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/seed2ac2593f/wxpay/notify"
)

func TestMemoryStoreRemembersDoneIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := notify.NewMemoryStore()
	if seen, err := s.Seen(ctx, "EV-1"); seen || err != nil {
		t.Fatalf("new store: Seen = %v, %v", seen, err)
	}
	for range 2 { // Done is idempotent
		if err := s.Done(ctx, "EV-1"); err != nil {
			t.Fatal(err)
		}
	}
	if seen, err := s.Seen(ctx, "EV-1"); !seen || err != nil {
		t.Fatalf("after Done: Seen = %v, %v", seen, err)
	}
	if seen, _ := s.Seen(ctx, "EV-2"); seen {
		t.Fatal("another id is seen")
	}
}

func TestMemoryStoreForgetsTheOldestBeyondItsSize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := notify.NewMemoryStore()
	for i := range notify.MemoryStoreSize + 1 {
		s.Done(ctx, "EV-"+strconv.Itoa(i))
	}
	for id, want := range map[string]bool{
		"EV-0": false, // the oldest, forgotten
		"EV-1": true,
		"EV-" + strconv.Itoa(notify.MemoryStoreSize): true,
	} {
		if seen, _ := s.Seen(ctx, id); seen != want {
			t.Errorf("Seen(%s) = %v, want %v", id, seen, want)
		}
	}
}

func TestMemoryStoreIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := notify.NewMemoryStore()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				id := "EV-" + strconv.Itoa(i%50)
				if g%2 == 0 {
					s.Done(ctx, id)
				} else {
					s.Seen(ctx, id)
				}
			}
		})
	}
	wg.Wait()
	if seen, _ := s.Seen(ctx, "EV-49"); !seen {
		t.Error("EV-49 not seen")
	}
}

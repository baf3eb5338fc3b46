package notify

import (
	"context"
	"sync"
)

// Store records the ids of notifications already processed, so that a
// duplicate delivery is acknowledged without running the callback twice.
// WeChat Pay re-sends a notification until it gets 200 or 204, for about 24
// hours, and may deliver one twice even after a success.
//
// Implementations must be safe for concurrent use. A store shared by every
// instance of a service (a database table keyed by id) is what makes
// duplicates harmless across processes; see NewMemoryStore for one process.
type Store interface {
	// Seen reports whether Done was called for id.
	Seen(ctx context.Context, id string) (bool, error)
	// Done records that id was processed successfully.
	Done(ctx context.Context, id string) error
}

// MemoryStoreSize is how many ids the store of NewMemoryStore remembers.
// Ids are at most 36 bytes, so a full store takes a few megabytes.
const MemoryStoreSize = 100_000

// NewMemoryStore returns an in-memory Store for one process, safe for
// concurrent use. It remembers the MemoryStoreSize most recent ids and
// forgets the oldest first; everything is lost on restart, so the callback
// must still be idempotent.
func NewMemoryStore() Store {
	return &memoryStore{ids: make(map[string]struct{})}
}

type memoryStore struct {
	mu   sync.Mutex
	ids  map[string]struct{}
	ring []string // ids in insertion order; circular once full
	next int      // index of the oldest id once ring is full
}

func (s *memoryStore) Seen(_ context.Context, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ids[id]
	return ok, nil
}

func (s *memoryStore) Done(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[id]; ok {
		return nil
	}
	if len(s.ring) < MemoryStoreSize {
		s.ring = append(s.ring, id)
	} else {
		delete(s.ids, s.ring[s.next])
		s.ring[s.next] = id
		s.next = (s.next + 1) % len(s.ring)
	}
	s.ids[id] = struct{}{}
	return nil
}

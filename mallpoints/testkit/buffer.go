package testkit

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sync"
)

// Buffer is a bytes.Buffer that a test reads while a service or a process
// writes to it, and that signals every write, so that a test waits for a
// line instead of polling for it.
type Buffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{} // closed, and replaced, by the next write
}

// Write appends p and wakes the waiters.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if b.written != nil {
		close(b.written)
		b.written = nil
	}
	return n, err
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// next is the text so far and a channel closed at the next write.
func (b *Buffer) next() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.written == nil {
		b.written = make(chan struct{})
	}
	return b.buf.String(), b.written
}

// Match waits until the text matches re and returns the submatches of the
// first match; it fails when ctx ends first.
func (b *Buffer) Match(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	for {
		s, written := b.next()
		if m := re.FindStringSubmatch(s); m != nil {
			return m, nil
		}
		select {
		case <-written:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %q: %w", re, context.Cause(ctx))
		}
	}
}

package rules

import "sync/atomic"

// Current holds the rules in force. One is made at start and handed to
// everyone who reads the rules (the ledger, the outbox, the dashboard, the
// API, the metrics); a reload stores a new Set into it, and each reader sees
// the new rules at its next Load.
type Current struct{ p atomic.Pointer[Set] }

// NewCurrent returns a holder with set in force.
func NewCurrent(set *Set) *Current {
	c := &Current{}
	c.Store(set)
	return c
}

// Load returns the rules in force.
func (c *Current) Load() *Set { return c.p.Load() }

// Store puts set in force; set must not be nil.
func (c *Current) Store(set *Set) {
	if set == nil {
		panic("rules: Current.Store(nil)")
	}
	c.p.Store(set)
}

package sandbox

import (
	"fmt"
	"testing"
	"time"
)

// commit_status reads an index that payments, syncs and forgetting keep
// right: pending while a notified payment of today is unsynced, and only for
// that member and day.
func TestStatePendingIndex(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 5, 19, 12, 0, 0, 0, cst)
	st := newState(defaultLimits)
	alice, bob := memberKey{"m", "wx", "alice"}, memberKey{"m", "wx", "bob"}
	pay := func(id string, k memberKey, at time.Time, notified bool) {
		st.mu.Lock()
		st.addTransaction(&transaction{id: id, account: "m", key: k, timeEnd: at, notified: notified}, now)
		st.mu.Unlock()
	}
	pay("1", alice, now, true)
	pay("2", alice, now, true)
	pay("3", bob, now, false)                   // not a member: never pending
	pay("4", bob, now.Add(-24*time.Hour), true) // yesterday
	for _, tt := range []struct {
		name string
		k    memberKey
		want bool
	}{{"alice, two unsynced", alice, true}, {"bob", bob, false}} {
		if got := st.pending(tt.k, now); got != tt.want {
			t.Errorf("%s: pending = %v, want %v", tt.name, got, tt.want)
		}
	}
	st.sync("m", alice, "1", nil, now, false)
	if !st.pending(alice, now) {
		t.Error("one of two synced: want still pending")
	}
	st.sync("m", alice, "2", nil, now, false)
	st.sync("m", alice, "2", nil, now, false) // a repeated sync changes nothing
	if st.pending(alice, now) {
		t.Error("both synced: want not pending")
	}
	if !st.pending(bob, now.Add(-24*time.Hour)) {
		t.Error("bob's payment of yesterday is pending on yesterday")
	}
	if len(st.pendingDay) != 1 {
		t.Errorf("index holds %d keys, want only bob's yesterday", len(st.pendingDay))
	}
}

// What the sandbox remembers is bounded: the oldest transactions beyond the
// limit and those past the retention are forgotten with their refunds and
// index entries; members and cars beyond their limits likewise.
func TestStateIsBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 5, 19, 12, 0, 0, 0, cst)
	st := newState(limits{transactions: 3, members: 2, parkings: 2, retention: 90 * 24 * time.Hour})
	k := memberKey{"m", "wx", "o"}
	st.mu.Lock()
	for i := range 5 {
		st.addTransaction(&transaction{id: fmt.Sprint(i), key: k, timeEnd: now, notified: true, refundIDs: []string{fmt.Sprint("r", i)}}, now)
		st.refunds[fmt.Sprint("r", i)] = true
	}
	st.mu.Unlock()
	if len(st.txs) != 3 || st.txs["0"] != nil || st.txs["4"] == nil || st.refunds["r1"] || !st.refunds["r2"] {
		t.Errorf("after 5 payments with a limit of 3: %d kept (0: %v, 4: %v), refunds %v", len(st.txs), st.txs["0"] != nil, st.txs["4"] != nil, st.refunds)
	}
	if n := st.pendingDay[pendingKey{k, "2025-05-19"}]; n != 3 {
		t.Errorf("pending count = %d, want 3: forgotten payments leave the index", n)
	}
	// 91 days later the old ones are past the retention.
	later := now.Add(91 * 24 * time.Hour)
	st.mu.Lock()
	st.addTransaction(&transaction{id: "new", key: k, timeEnd: later}, later)
	st.mu.Unlock()
	if len(st.txs) != 1 || len(st.pendingDay) != 0 {
		t.Errorf("after the retention: %d transactions, index %v; want only the new one", len(st.txs), st.pendingDay)
	}

	st.mu.Lock()
	for _, o := range []string{"a", "b", "c"} {
		st.addMember(&member{key: memberKey{"m", "wx", o}})
	}
	st.mu.Unlock()
	if len(st.members) != 2 || st.members[memberKey{"m", "wx", "a"}] != nil {
		t.Errorf("members kept %d, want the last 2", len(st.members))
	}
	for _, plate := range []string{"粤B1", "粤B2", "粤B3", "粤B2"} {
		st.park(Parking{MchID: "m", AppID: "wx", OpenID: "o", PlateNumber: plate, State: "IN"})
	}
	if got := st.parkings(); len(got) != 2 || got[0].PlateNumber != "粤B2" || got[1].PlateNumber != "粤B3" {
		t.Errorf("parkings = %+v, want 粤B2 and 粤B3", got)
	}
}

// The held payments of a member are an index too: a lapsed one leaves it when
// next looked at, a forgotten one when forgotten, and a submitted one moves
// to the index of notified, unsynced payments.
func TestStateHeldIndex(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 5, 19, 12, 0, 0, 0, cst)
	st := newState(limits{transactions: 3, members: 2, parkings: 2, retention: 90 * 24 * time.Hour})
	alice, bob := memberKey{"m", "wx", "alice"}, memberKey{"m", "wx", "bob"}
	hold := func(id string, k memberKey, until time.Time) {
		st.mu.Lock()
		st.addTransaction(&transaction{id: id, account: "m", key: k, timeEnd: now, heldUntil: until}, now)
		st.mu.Unlock()
	}
	hold("a1", alice, now.Add(time.Hour))
	hold("a2", alice, now.Add(2*time.Hour))
	hold("b1", bob, now) // lapses as it is made: never indexed
	if !st.pending(alice, now) || st.pending(bob, now) || len(st.held) != 1 {
		t.Fatalf("held %v: want alice's two only", st.held)
	}
	if !st.pending(alice, now.Add(90*time.Minute)) || len(st.held[alice]) != 1 {
		t.Errorf("after the first lapsed: held %v, want a2 left", st.held[alice])
	}
	if got := st.commit(alice, "tag", now.Add(3*time.Hour)); len(got) != 0 || len(st.held) != 0 {
		t.Errorf("commit after both lapsed = %d payments, held %v", len(got), st.held)
	}

	for _, id := range []string{"a3", "a4", "a5", "a6"} { // the limit of 3 forgets a1, a2, b1, then a3
		hold(id, alice, now.Add(time.Hour))
	}
	if h := st.held[alice]; len(h) != 3 || h[0].id != "a4" || h[2].id != "a6" {
		t.Fatalf("held %d payments: want a4 to a6, a3 forgotten", len(h))
	}
	got := st.commit(alice, "tag", now)
	if len(got) != 3 || got[0].commitTag != "tag" || !got[0].notified || len(st.held) != 0 {
		t.Errorf("commit = %+v, held %v", got, st.held)
	}
	if n := st.pendingDay[pendingKey{alice, "2025-05-19"}]; n != 3 {
		t.Errorf("submitted payments pending a sync: %d, want 3", n)
	}
}

// A fifo drains in order and stays compact.
func TestFIFO(t *testing.T) {
	t.Parallel()
	var f fifo[int]
	for i := range 100 {
		f.push(i)
	}
	for i := range 90 {
		if got := f.pop(); got != i {
			t.Fatalf("pop %d = %d", i, got)
		}
	}
	if f.len() != 10 || f.front() != 90 || len(f.items) > 20 {
		t.Errorf("len %d, front %d, backing %d; want 10, 90 and a compacted slice", f.len(), f.front(), len(f.items))
	}
}

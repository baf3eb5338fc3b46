package sandbox

import (
	"bytes"
	"sync"
	"time"
)

// The authorisation states of a member (docs/protocol.md §6.2).
const (
	stateUnauthorized = "UNAUTHORIZED"
	stateAuthorized   = "AUTHORIZED"
	stateDeauthorized = "DEAUTHORIZED"
)

// The auth_type values of MALL_AUTH.ACTIVATE_CARD (docs/protocol.md §7.1).
const (
	authRegistered              = "REGISTERED_MODE"
	authRegisteredAndAuthorized = "REGISTERED_AND_AUTHORIZATION_MODE"
)

// refundWindow is how long after a payment refunds of a synced transaction
// are notified ("监控30天内的退款情况" in the older documents).
const refundWindow = 30 * 24 * time.Hour

// memberKey names a member: the mall (the merchant, or the sub-merchant in
// partner mode), the app id and the openid under it.
type memberKey struct{ mall, appid, openid string }

type member struct {
	key            memberKey
	code           string // member-card code
	state          string
	authorizedAt   time.Time
	deauthorizedAt time.Time
}

type transaction struct {
	id         string
	account    string // the merchant notified and allowed to sync: the mall or its provider
	key        memberKey
	shopNumber string
	shopName   string
	commitTag  string
	amount     int64
	refunded   int64
	refundIDs  []string
	timeEnd    time.Time
	addedAt    time.Time // when the sandbox recorded it; timeEnd may be backdated
	day        string    // timeEnd's date in Beijing, the "today" of commit_status
	notified   bool      // MALL_TRANSACTION.SUCCESS was sent: the member was authorised, or submitted it
	// heldUntil is set for a payment of a member in REGISTERED_MODE: it waits
	// for the member's submission until then, and lapses after. Zero once
	// submitted, and for every other payment.
	heldUntil  time.Time
	syncCount  int
	lastSync   []byte // the body of the latest points sync, as received
	lastSyncAt time.Time
}

// pendingKey counts a member's payments of one Beijing day that were
// notified and not yet synced: what commit_status looks up.
type pendingKey struct {
	memberKey
	day string
}

// Limits of what the sandbox remembers, so that a long-running sandbox
// stays small; each is far beyond what a test makes. They are documented in
// the package doc.
const (
	// maxTransactions bounds the transactions kept; beyond it the oldest go.
	maxTransactions = 1_000_000
	// transactionRetention is how long a transaction is kept after it was
	// paid: well past the 31 days in which its refunds are notified.
	transactionRetention = 90 * 24 * time.Hour
	// maxMembers and maxParkings bound members and cars; beyond them the
	// first made (or first seen) go.
	maxMembers  = 1_000_000
	maxParkings = 1_000_000
)

// limits are the bounds of one state; tests make them small.
type limits struct {
	transactions, members, parkings int
	retention                       time.Duration
}

var defaultLimits = limits{maxTransactions, maxMembers, maxParkings, transactionRetention}

// state is everything the sandbox remembers, behind one lock, indexed by
// what the endpoints look up.
type state struct {
	mu          sync.Mutex
	limits      limits
	members     map[memberKey]*member
	memberOrder fifo[memberKey]
	txs         map[string]*transaction
	txOrder     fifo[*transaction]
	pendingDay  map[pendingKey]int           // notified, unsynced payments per member and day
	held        map[memberKey][]*transaction // payments waiting for the member's submission, oldest first
	refunds     map[string]bool
	parkedAt    map[parkingKey]*Parking
	parkOrder   fifo[parkingKey]
}

type parkingKey struct {
	memberKey
	plate string
}

func newState(l limits) *state {
	return &state{
		limits:     l,
		members:    map[memberKey]*member{},
		txs:        map[string]*transaction{},
		pendingDay: map[pendingKey]int{},
		held:       map[memberKey][]*transaction{},
		refunds:    map[string]bool{},
		parkedAt:   map[parkingKey]*Parking{},
	}
}

// addMember keeps a new member, forgetting the first made beyond the limit.
// Called with the lock held.
func (st *state) addMember(mb *member) {
	st.members[mb.key] = mb
	st.memberOrder.push(mb.key)
	for st.memberOrder.len() > st.limits.members {
		delete(st.members, st.memberOrder.pop())
	}
}

// addTransaction keeps a new transaction and indexes it, then forgets those
// recorded longer ago than the retention (a backdated payment is kept as long
// as any other), and the oldest beyond the limit.
// Called with the lock held.
func (st *state) addTransaction(tx *transaction, now time.Time) {
	tx.day = tx.timeEnd.In(cst).Format(time.DateOnly)
	tx.addedAt = now
	st.txs[tx.id] = tx
	st.txOrder.push(tx)
	if tx.notified {
		st.pendingDay[pendingKey{tx.key, tx.day}]++
	}
	if tx.heldUntil.After(now) {
		st.held[tx.key] = append(st.held[tx.key], tx)
	}
	for st.txOrder.len() > 0 {
		old := st.txOrder.front()
		if st.txOrder.len() <= st.limits.transactions && now.Sub(old.addedAt) <= st.limits.retention {
			break
		}
		st.txOrder.pop()
		st.forget(old)
	}
}

// forget removes a transaction and what indexes it. Called with the lock
// held.
func (st *state) forget(tx *transaction) {
	if st.txs[tx.id] == tx {
		delete(st.txs, tx.id)
	}
	for _, id := range tx.refundIDs {
		delete(st.refunds, id)
	}
	if tx.notified && tx.syncCount == 0 {
		st.unpend(tx)
	}
	if !tx.heldUntil.IsZero() {
		st.unhold(tx)
	}
}

// unpend takes a notified transaction out of its member's pending count.
func (st *state) unpend(tx *transaction) {
	k := pendingKey{tx.key, tx.day}
	if st.pendingDay[k]--; st.pendingDay[k] <= 0 {
		delete(st.pendingDay, k)
	}
}

// parkings returns the latest state of every car, in the order first seen.
func (st *state) parkings() []Parking {
	st.mu.Lock()
	defer st.mu.Unlock()
	keys := st.parkOrder.all()
	out := make([]Parking, len(keys))
	for i, k := range keys {
		out[i] = *st.parkedAt[k]
	}
	return out
}

// newID makes a 28-digit id like WeChat Pay's order and refund numbers:
// prefix, six random digits, the Beijing date and ten random digits.
// Called with the lock held.
func (st *state) newID(now time.Time, prefix string) string {
	for {
		id := prefix + randomString(6, digits) + now.In(cst).Format("20060102") + randomString(10, digits)
		if st.txs[id] == nil && !st.refunds[id] {
			return id
		}
	}
}

// syncOutcome is what became of a points sync.
type syncOutcome int

const (
	synced           syncOutcome = iota
	syncNoSuchTx                 // no transaction of the caller with this id, mall, app id and openid
	syncDeauthorized             // the member withdrew the authorisation
	syncRepeated                 // already synced, and repeats are refused
)

// sync records a points sync for the transaction, which must belong to
// account and mall and match the app id and openid, of a member who has not
// withdrawn the authorisation.
func (st *state) sync(account string, key memberKey, txID string, body []byte, now time.Time, rejectRepeated bool) syncOutcome {
	st.mu.Lock()
	defer st.mu.Unlock()
	tx := st.txs[txID]
	switch {
	case tx == nil || tx.account != account || tx.key != key:
		return syncNoSuchTx
	case st.members[key] != nil && st.members[key].state == stateDeauthorized:
		return syncDeauthorized
	case tx.syncCount > 0 && rejectRepeated:
		return syncRepeated
	}
	if tx.syncCount == 0 && tx.notified {
		st.unpend(tx)
	}
	tx.syncCount++
	tx.lastSync = bytes.Clone(body)
	tx.lastSyncAt = now
	return synced
}

// account is the merchant of a transaction, "" if there is none.
func (st *state) account(txID string) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	if tx := st.txs[txID]; tx != nil {
		return tx.account
	}
	return ""
}

// member returns a member's state; an unknown one is UNAUTHORIZED.
func (st *state) member(key memberKey) Member {
	st.mu.Lock()
	defer st.mu.Unlock()
	if mb := st.members[key]; mb != nil {
		return mb.view()
	}
	return Member{MchID: key.mall, AppID: key.appid, OpenID: key.openid, AuthorizeState: stateUnauthorized}
}

// pending reports whether the member has a payment waiting for points: one
// of today (in Beijing) that was notified and not yet synced, or one held for
// the member's submission that has not lapsed. A lookup in each index,
// however many transactions there are.
func (st *state) pending(key memberKey, now time.Time) bool {
	k := pendingKey{key, now.In(cst).Format(time.DateOnly)}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.pendingDay[k] > 0 || len(st.stillHeld(key, now)) > 0
}

// park records a parking state, forgetting the first car seen beyond the
// limit.
func (st *state) park(p Parking) {
	st.mu.Lock()
	defer st.mu.Unlock()
	k := parkingKey{memberKey{p.MchID, p.AppID, p.OpenID}, p.PlateNumber}
	if cur := st.parkedAt[k]; cur != nil {
		*cur = p
		return
	}
	st.parkedAt[k] = &p
	st.parkOrder.push(k)
	for st.parkOrder.len() > st.limits.parkings {
		delete(st.parkedAt, st.parkOrder.pop())
	}
}

// fifo is a queue on a slice, compacted as it drains.
type fifo[T any] struct {
	items []T
	head  int
}

func (f *fifo[T]) push(v T) { f.items = append(f.items, v) }
func (f *fifo[T]) len() int { return len(f.items) - f.head }
func (f *fifo[T]) front() T { return f.items[f.head] }
func (f *fifo[T]) all() []T { return f.items[f.head:] }

func (f *fifo[T]) pop() T {
	v := f.items[f.head]
	var zero T
	f.items[f.head] = zero
	f.head++
	if f.head > len(f.items)/2 { // copy the live half down: amortised constant
		n := copy(f.items, f.items[f.head:])
		clear(f.items[n:])
		f.items, f.head = f.items[:n], 0
	}
	return v
}

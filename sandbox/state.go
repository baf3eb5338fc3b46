package sandbox

import (
	"bytes"
	"sync"
	"time"
)

// The authorisation states of a member (spec §6.2).
const (
	stateUnauthorized = "UNAUTHORIZED"
	stateAuthorized   = "AUTHORIZED"
	stateDeauthorized = "DEAUTHORIZED"
)

// The auth_type values of MALL_AUTH.ACTIVATE_CARD (spec §7.1).
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
	timeEnd    time.Time
	notified   bool // MALL_TRANSACTION.SUCCESS was sent: the member was authorised
	syncCount  int
	lastSync   []byte // the body of the latest points sync, as received
	lastSyncAt time.Time
}

// state is everything the sandbox remembers, behind one lock.
type state struct {
	mu       sync.Mutex
	members  map[memberKey]*member
	txs      map[string]*transaction
	refunds  map[string]bool
	parkings []*Parking
	parkedAt map[parkingKey]int // index in parkings
}

type parkingKey struct {
	memberKey
	plate string
}

func newState() *state {
	return &state{
		members:  map[memberKey]*member{},
		txs:      map[string]*transaction{},
		refunds:  map[string]bool{},
		parkedAt: map[parkingKey]int{},
	}
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

// sync records a points sync for the transaction, which must belong to
// account and mall and match the app id and openid.
func (st *state) sync(account string, key memberKey, txID string, body []byte, now time.Time, rejectRepeated bool) (ok, repeated bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	tx := st.txs[txID]
	if tx == nil || tx.account != account || tx.key != key {
		return false, false
	}
	if tx.syncCount > 0 && rejectRepeated {
		return true, true
	}
	tx.syncCount++
	tx.lastSync = bytes.Clone(body)
	tx.lastSyncAt = now
	return true, false
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

// pending reports whether the member paid today (in Beijing) in a way that
// was notified and not yet synced.
func (st *state) pending(key memberKey, now time.Time) bool {
	today := now.In(cst).Format(time.DateOnly)
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, tx := range st.txs {
		if tx.key == key && tx.notified && tx.syncCount == 0 && tx.timeEnd.In(cst).Format(time.DateOnly) == today {
			return true
		}
	}
	return false
}

// park records a parking state.
func (st *state) park(p Parking) {
	st.mu.Lock()
	defer st.mu.Unlock()
	k := parkingKey{memberKey{p.MchID, p.AppID, p.OpenID}, p.PlateNumber}
	if i, ok := st.parkedAt[k]; ok {
		*st.parkings[i] = p
		return
	}
	st.parkedAt[k] = len(st.parkings)
	st.parkings = append(st.parkings, &p)
}

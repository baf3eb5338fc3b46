package sandbox

import (
	"slices"
	"time"
)

// This file holds the payments of members without automatic points. A
// member who opened the card in REGISTERED_MODE (card only, 未授权会员积分服务)
// earns no points automatically: WeChat Pay holds each payment, the
// pending-points query answers PENDING, and the member submits the payments
// in the 商圈会员快速积分 plugin, after which each is notified with a
// commit_tag. Unsubmitted, a payment lapses at the end of its day
// (docs/protocol.md §9.3 says which of this is documented).

// holdUntil is when a payment made at timeEnd by a member in REGISTERED_MODE
// lapses: Config.HoldPaymentsFor after it, else the end of its day in Beijing.
func (s *Sandbox) holdUntil(timeEnd time.Time) time.Time {
	if s.cfg.HoldPaymentsFor > 0 {
		return timeEnd.Add(s.cfg.HoldPaymentsFor)
	}
	y, m, d := timeEnd.In(cst).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, cst)
}

// Submission is the answer to Commit: the payments submitted, each notified
// with CommitTag, oldest first.
type Submission struct {
	// CommitTag (手动提交积分标记) is the submission's mark, the commit_tag
	// of each payment's MALL_TRANSACTION.SUCCESS.
	CommitTag string    `json:"commit_tag"`
	Payments  []Payment `json:"payments"`
}

// Commit is the member's submission in the plugin (POST
// /sandbox/members/{openid}/commit): each of the member's held payments that
// has not lapsed is sent as MALL_TRANSACTION.SUCCESS with a new commit_tag,
// the same for all of them. It is an *InputError naming openid when there is
// none. req.AuthType is not used.
func (s *Sandbox) Commit(req MemberRequest) (Submission, error) {
	m, mall, err := s.adminMember(req.MchID, req.SubMchID, req.AppID, req.OpenID)
	if err != nil {
		return Submission{}, err
	}
	sub := Submission{CommitTag: randomString(32, alnum)}
	txs := s.state.commit(memberKey{mall, req.AppID, req.OpenID}, sub.CommitTag, s.now())
	if len(txs) == 0 {
		return Submission{}, &InputError{Field: "openid", Message: "has no held payment to submit: none was made in " +
			authRegistered + ", or each was submitted or has lapsed"}
	}
	for _, tx := range txs {
		p := Payment{TransactionID: tx.id}
		if p.NotificationID, err = s.notifyPayment(m, &tx); err != nil {
			return sub, err
		}
		sub.Payments = append(sub.Payments, p)
	}
	return sub, nil
}

// stillHeld returns the member's held payments that have not lapsed at now,
// forgetting those that have. Called with the lock held.
func (st *state) stillHeld(key memberKey, now time.Time) []*transaction {
	txs := slices.DeleteFunc(st.held[key], func(tx *transaction) bool { return !tx.heldUntil.After(now) })
	if len(txs) == 0 {
		delete(st.held, key)
		return nil
	}
	st.held[key] = txs
	return txs
}

// commit submits the member's held payments that have not lapsed: each is
// notified from now on, with tag, and waits for its points sync like any
// notified payment. They are returned as they are now, copied.
func (st *state) commit(key memberKey, tag string, now time.Time) []transaction {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []transaction
	for _, tx := range st.stillHeld(key, now) {
		tx.heldUntil, tx.notified, tx.commitTag = time.Time{}, true, tag
		st.pendingDay[pendingKey{tx.key, tx.day}]++
		out = append(out, *tx)
	}
	delete(st.held, key)
	return out
}

// unhold takes a forgotten transaction out of its member's held payments.
// Called with the lock held.
func (st *state) unhold(tx *transaction) {
	txs := slices.DeleteFunc(st.held[tx.key], func(h *transaction) bool { return h == tx })
	if len(txs) == 0 {
		delete(st.held, tx.key)
		return
	}
	st.held[tx.key] = txs
}

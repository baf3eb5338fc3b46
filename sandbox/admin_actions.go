package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// This file holds the admin API's Go side: what a test or the admin routes
// make happen in the mall (members authorise, pay, are refunded) and what
// they read back, with the request and answer types of each.

// InputError is bad input to the admin API or to the Go methods behind it.
// The admin API answers it with 400 {"error": Message, "field": Field}.
type InputError struct {
	Field   string // the JSON name of the field, such as "amount"
	Message string
}

// Error returns "sandbox: <field>: <message>".
func (e *InputError) Error() string { return "sandbox: " + e.Field + ": " + e.Message }

// MemberRequest names a member of a mall and says what the member does in
// the 商圈会员快速积分 plugin: opens the member card (Authorize, the body of
// POST /sandbox/authorizations), withdraws the authorisation (Deauthorize)
// or submits held payments (Commit); the last two take openid from their
// paths.
type MemberRequest struct {
	// MchID is the merchant or service provider; empty means the provider
	// of SubMchID, else the first merchant configured.
	MchID string `json:"mchid,omitempty"`
	// SubMchID is the mall when MchID is a service provider.
	SubMchID string `json:"sub_mchid,omitempty"`
	AppID    string `json:"appid"`
	OpenID   string `json:"openid"`
	// AuthType, for Authorize only, is REGISTERED_AND_AUTHORIZATION_MODE
	// (the default: card and automatic points authorised) or REGISTERED_MODE
	// (card only: not AUTHORIZED, and each payment held for the member to
	// submit, see Commit).
	AuthType string `json:"auth_type,omitempty"`
}

// Member is a member as the sandbox keeps it.
type Member struct {
	MchID           string `json:"mchid"` // the mall
	AppID           string `json:"appid"`
	OpenID          string `json:"openid"`
	Code            string `json:"code"` // member-card code
	AuthorizeState  string `json:"authorize_state"`
	AuthorizeTime   string `json:"authorize_time,omitempty"`
	DeauthorizeTime string `json:"deauthorize_time,omitempty"`
	// NotificationID is the MALL_AUTH.ACTIVATE_CARD sent, if any.
	NotificationID string `json:"notification_id,omitempty"`
}

func (mb *member) view() Member {
	v := Member{MchID: mb.key.mall, AppID: mb.key.appid, OpenID: mb.key.openid, Code: mb.code, AuthorizeState: mb.state}
	if !mb.authorizedAt.IsZero() {
		v.AuthorizeTime = formatTime(mb.authorizedAt)
	}
	if !mb.deauthorizedAt.IsZero() {
		v.DeauthorizeTime = formatTime(mb.deauthorizedAt)
	}
	return v
}

// Authorize makes the customer a member: AUTHORIZED (or only registered,
// with AuthType REGISTERED_MODE), and sends MALL_AUTH.ACTIVATE_CARD to the
// merchant's AuthNotifyURL. created is false when the member existed; the
// card code stays the same.
func (s *Sandbox) Authorize(req MemberRequest) (mb Member, created bool, err error) {
	m, mall, err := s.adminMember(req.MchID, req.SubMchID, req.AppID, req.OpenID)
	if err != nil {
		return Member{}, false, err
	}
	switch req.AuthType {
	case "":
		req.AuthType = authRegisteredAndAuthorized
	case authRegisteredAndAuthorized, authRegistered:
	default:
		return Member{}, false, &InputError{Field: "auth_type", Message: "must be " + authRegisteredAndAuthorized + " or " + authRegistered}
	}
	key := memberKey{mall, req.AppID, req.OpenID}
	now := s.now()
	s.state.mu.Lock()
	cur := s.state.members[key]
	if cur == nil {
		created = true
		cur = &member{key: key, code: randomString(12, digits), state: stateUnauthorized}
		s.state.addMember(cur)
	}
	if req.AuthType == authRegisteredAndAuthorized && cur.state != stateAuthorized {
		cur.state, cur.authorizedAt, cur.deauthorizedAt = stateAuthorized, now, time.Time{}
	}
	mb = cur.view()
	s.state.mu.Unlock()

	mb.NotificationID, err = s.notify(m, m.authURL(), eventAuth, authPlaintext{
		OpenID: req.OpenID, Code: mb.Code, MchID: mall, AuthType: req.AuthType,
	})
	return mb, created, err
}

// Deauthorize withdraws an AUTHORIZED member's authorisation (POST
// /sandbox/authorizations/{openid}/revoke): the authorisation query then
// answers DEAUTHORIZED, a points sync for the member gets
// Config.DeauthorizedSyncAnswer, and its later payments are neither notified
// nor held. WeChat Pay documents no notification for it, so none is sent.
// req.AuthType is not used.
func (s *Sandbox) Deauthorize(req MemberRequest) (Member, error) {
	_, mall, err := s.adminMember(req.MchID, req.SubMchID, req.AppID, req.OpenID)
	if err != nil {
		return Member{}, err
	}
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	cur := s.state.members[memberKey{mall, req.AppID, req.OpenID}]
	if cur == nil || cur.state != stateAuthorized {
		return Member{}, &InputError{Field: "openid", Message: "is not an AUTHORIZED member of this mall and app id"}
	}
	cur.state, cur.deauthorizedAt = stateDeauthorized, s.now()
	return cur.view(), nil
}

// PaymentRequest is the body of POST /sandbox/transactions: a customer pays
// with WeChat Pay in a mall shop.
type PaymentRequest struct {
	MchID      string `json:"mchid,omitempty"`     // as in MemberRequest
	SubMchID   string `json:"sub_mchid,omitempty"` // the mall, in partner mode
	AppID      string `json:"appid"`
	OpenID     string `json:"openid"`
	Amount     int64  `json:"amount"`                // fen, positive
	ShopNumber string `json:"shop_number,omitempty"` // default "SANDBOX-001"
	ShopName   string `json:"shop_name,omitempty"`   // default "沙盒门店"
	// TransactionID chooses the 微信支付订单号, 1 to 32 digits, for tests
	// and examples that want a known id; empty makes a new one.
	TransactionID string `json:"transaction_id,omitempty"`
	// TimeEnd backdates the payment (RFC 3339, not after the sandbox clock)
	// so tests and demos can make old payments whose points are due to
	// expire; empty means now.
	TimeEnd string `json:"time_end,omitempty"`
}

// Payment is the answer to a PaymentRequest. NotificationID is empty when
// the customer is not an AUTHORIZED member: WeChat Pay tells the mall only
// about its members' payments, and about those of members without automatic
// points once they submit them.
type Payment struct {
	TransactionID  string `json:"transaction_id"`
	NotificationID string `json:"notification_id,omitempty"`
	// HeldUntil is set for the payment of a member in REGISTERED_MODE: it is
	// held for the member to submit (Commit) until then, and lapses after
	// (already, for a payment backdated past it).
	HeldUntil string `json:"held_until,omitempty"`
}

// Pay records a payment at the sandbox clock's time, or at req.TimeEnd. For
// an AUTHORIZED member it sends MALL_TRANSACTION.SUCCESS to the merchant's
// NotifyURL; for a member in REGISTERED_MODE it holds the payment until the
// member submits it (Commit) or it lapses (Config.HoldPaymentsFor).
func (s *Sandbox) Pay(req PaymentRequest) (Payment, error) {
	m, mall, err := s.adminMember(req.MchID, req.SubMchID, req.AppID, req.OpenID)
	if err != nil {
		return Payment{}, err
	}
	if req.Amount <= 0 {
		return Payment{}, &InputError{Field: "amount", Message: "must be a positive amount in fen"}
	}
	if req.ShopNumber == "" {
		req.ShopNumber = "SANDBOX-001"
	}
	if req.ShopName == "" {
		req.ShopName = "沙盒门店"
	}
	for _, f := range []struct{ name, v string }{{"shop_number", req.ShopNumber}, {"shop_name", req.ShopName}} {
		if len(f.v) > 128 {
			return Payment{}, &InputError{Field: f.name, Message: "must be at most 128 bytes"}
		}
	}
	if id := req.TransactionID; id != "" && (len(id) > 32 || strings.Trim(id, "0123456789") != "") {
		return Payment{}, &InputError{Field: "transaction_id", Message: "must be 1 to 32 digits"}
	}
	now := s.now()
	timeEnd := now
	if req.TimeEnd != "" {
		t, err := time.Parse(time.RFC3339, req.TimeEnd)
		if err != nil {
			return Payment{}, &InputError{Field: "time_end", Message: "must be an RFC 3339 time such as 2024-05-19T12:00:00+08:00"}
		}
		if t.After(now) {
			return Payment{}, &InputError{Field: "time_end", Message: "must not be in the future"}
		}
		timeEnd = t
	}
	key := memberKey{mall, req.AppID, req.OpenID}
	s.state.mu.Lock()
	id := req.TransactionID
	if id == "" {
		id = s.state.newID(timeEnd, "4200")
	} else if s.state.txs[id] != nil {
		s.state.mu.Unlock()
		return Payment{}, &InputError{Field: "transaction_id", Message: "is already a transaction"}
	}
	tx := &transaction{
		id: id, account: m.MchID, key: key,
		shopNumber: req.ShopNumber, shopName: req.ShopName,
		amount: req.Amount, timeEnd: timeEnd,
	}
	p := Payment{TransactionID: tx.id}
	switch mb := s.state.members[key]; {
	case mb == nil: // not a member: recorded only
	case mb.state == stateAuthorized:
		tx.notified = true
	case mb.state == stateUnauthorized: // card only (REGISTERED_MODE)
		tx.heldUntil = s.holdUntil(timeEnd)
		p.HeldUntil = formatTime(tx.heldUntil)
	}
	notified := tx.notified // a held payment's changes when submitted
	s.state.addTransaction(tx, now)
	s.state.mu.Unlock()

	if notified {
		p.NotificationID, err = s.notifyPayment(m, tx)
	}
	return p, err
}

// notifyPayment sends MALL_TRANSACTION.SUCCESS for a payment to the
// merchant's NotifyURL.
func (s *Sandbox) notifyPayment(m *merchant, tx *transaction) (id string, err error) {
	return s.notify(m, m.NotifyURL, eventTransaction, transactionPlaintext{
		MchID: tx.key.mall, MerchantName: m.mallName(tx.key.mall), ShopName: tx.shopName, ShopNumber: tx.shopNumber,
		AppID: tx.key.appid, OpenID: tx.key.openid, TimeEnd: formatTime(tx.timeEnd), Amount: tx.amount,
		TransactionID: tx.id, CommitTag: tx.commitTag,
	})
}

// RefundRequest is the body of POST /sandbox/refunds.
type RefundRequest struct {
	MchID         string `json:"mchid,omitempty"` // optional; must be the transaction's merchant
	TransactionID string `json:"transaction_id"`
	RefundAmount  int64  `json:"refund_amount"` // fen, positive, at most what is left to refund
}

// Refund is the answer to a RefundRequest. NotificationID is empty unless
// MALL_REFUND.SUCCESS was sent.
type Refund struct {
	RefundID       string `json:"refund_id"`
	NotificationID string `json:"notification_id,omitempty"`
}

// Refund refunds part or all of a transaction. MALL_REFUND.SUCCESS goes to
// the merchant's NotifyURL only when the transaction's points were synced
// ("只有接入该接口，才会获取到退款信息") and it was paid within 30 days.
func (s *Sandbox) Refund(req RefundRequest) (Refund, error) {
	now := s.now()
	s.state.mu.Lock()
	tx := s.state.txs[req.TransactionID]
	var err error
	switch {
	case req.TransactionID == "":
		err = &InputError{Field: "transaction_id", Message: "is required"}
	case tx == nil:
		err = &InputError{Field: "transaction_id", Message: "no such transaction"}
	case req.MchID != "" && req.MchID != tx.account:
		err = &InputError{Field: "mchid", Message: "is not the merchant of this transaction"}
	case req.RefundAmount <= 0:
		err = &InputError{Field: "refund_amount", Message: "must be a positive amount in fen"}
	case req.RefundAmount > tx.amount-tx.refunded:
		err = &InputError{Field: "refund_amount", Message: fmt.Sprintf("exceeds the %d fen left to refund", tx.amount-tx.refunded)}
	}
	if err != nil {
		s.state.mu.Unlock()
		return Refund{}, err
	}
	tx.refunded += req.RefundAmount
	r := Refund{RefundID: s.state.newID(now, "5030")}
	s.state.refunds[r.RefundID] = true
	tx.refundIDs = append(tx.refundIDs, r.RefundID)
	notified := tx.syncCount > 0 && now.Sub(tx.timeEnd) <= refundWindow
	pt := refundPlaintext{
		MchID: tx.key.mall, ShopName: tx.shopName, ShopNumber: tx.shopNumber,
		AppID: tx.key.appid, OpenID: tx.key.openid, RefundTime: formatTime(now),
		PayAmount: tx.amount, RefundAmount: req.RefundAmount, TransactionID: tx.id, RefundID: r.RefundID,
	}
	account := tx.account
	s.state.mu.Unlock()

	if notified {
		m := s.merchants[account]
		pt.MerchantName = m.mallName(pt.MchID)
		r.NotificationID, err = s.notify(m, m.NotifyURL, eventRefund, pt)
	}
	return r, err
}

// PointsSync is what the sandbox received as points syncs of one
// transaction (GET /sandbox/points/{transaction_id}).
type PointsSync struct {
	TransactionID string `json:"transaction_id"`
	SyncCount     int    `json:"sync_count"`
	// LastSync is the body of the latest sync, as received.
	LastSync   json.RawMessage `json:"last_sync,omitempty"`
	LastSyncAt string          `json:"last_sync_at,omitempty"`
}

// Points returns the points syncs of a transaction; false when there is no
// such transaction. A transaction never synced has SyncCount 0.
func (s *Sandbox) Points(transactionID string) (PointsSync, bool) {
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	tx := s.state.txs[transactionID]
	if tx == nil {
		return PointsSync{}, false
	}
	p := PointsSync{TransactionID: tx.id, SyncCount: tx.syncCount, LastSync: bytes.Clone(tx.lastSync)}
	if tx.syncCount > 0 {
		p.LastSyncAt = formatTime(tx.lastSyncAt)
	}
	return p, true
}

// Parking is the latest parking state received for a member's car
// (GET /sandbox/parkings).
type Parking struct {
	MchID       string `json:"mchid"` // the mall
	BrandID     int64  `json:"brandid"`
	AppID       string `json:"appid"`
	OpenID      string `json:"openid"`
	PlateNumber string `json:"plate_number"`
	State       string `json:"state"` // IN or OUT
	Time        string `json:"time"`
	ReceivedAt  string `json:"received_at"`
}

// Parkings returns the latest state of every car, in the order first seen.
func (s *Sandbox) Parkings() []Parking { return s.state.parkings() }

// adminMember checks the merchant, mall, app id and openid of an admin
// request and returns the merchant and the mall.
func (s *Sandbox) adminMember(mchid, subMchID, appid, openid string) (*merchant, string, error) {
	m, err := s.merchantFor(mchid, subMchID)
	if err != nil {
		return nil, "", err
	}
	mall := m.MchID
	switch {
	case m.isPartner() && subMchID == "":
		return nil, "", &InputError{Field: "sub_mchid", Message: "is required: " + m.MchID + " is a service provider"}
	case m.isPartner():
		if _, ok := m.subs[subMchID]; !ok {
			return nil, "", &InputError{Field: "sub_mchid", Message: "is not a sub-merchant of " + m.MchID}
		}
		mall = subMchID
	case subMchID != "" && subMchID != m.MchID:
		return nil, "", &InputError{Field: "sub_mchid", Message: m.MchID + " has no sub-merchants"}
	}
	switch {
	case appid == "" || len(appid) > 128:
		return nil, "", &InputError{Field: "appid", Message: "is required, at most 128 bytes"}
	case len(m.appIDs) > 0 && !m.appIDs[appid]:
		return nil, "", &InputError{Field: "appid", Message: "is not an app id of " + m.MchID}
	case openid == "" || len(openid) > 64:
		return nil, "", &InputError{Field: "openid", Message: "is required, at most 64 bytes"}
	}
	return m, mall, nil
}

package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Webhook events: what the malls' CRMs are told (docs/webhooks.md). Every
// ledger entry writes its event with it, numbered with its seq (AppendEntry);
// a member event takes its own seq from the same feed, under the same turn
// of its mall (AppendEvent). The deliveries of an event to the webhooks that
// want it are rows of webhook_deliveries, written in the same transaction by
// package outbox.

// The event types. The entry kinds map to the first four (EntryEventType).
const (
	EventEntryEarn           = "entry.earn"
	EventEntryDeduct         = "entry.deduct"
	EventEntryAdjust         = "entry.adjust"
	EventEntryExpire         = "entry.expire"
	EventMemberActivated     = "member.activated"
	EventMemberAuthorization = "member.authorization_changed"
	EventMemberErased        = "member.erased"
)

// EventTypes are every event type, in the order docs/webhooks.md lists them.
var EventTypes = []string{EventEntryEarn, EventEntryDeduct, EventEntryAdjust, EventEntryExpire,
	EventMemberActivated, EventMemberAuthorization, EventMemberErased}

// EntryEventType is the event type of an entry kind: a payment earns, a
// refund deducts, an adjustment adjusts (either way), an expiry expires.
func EntryEventType(kind string) string {
	switch kind {
	case EntryEarn:
		return EventEntryEarn
	case EntryRefund:
		return EventEntryDeduct
	case EntryExpire:
		return EventEntryExpire
	}
	return EventEntryAdjust
}

// Event is one webhook event, as its body carries it.
type Event struct {
	ID     string          `json:"id"` // "evt_" and Seq: the same in every delivery of the event
	Seq    int64           `json:"seq"`
	Type   string          `json:"type"`
	Mall   string          `json:"mall"`
	OpenID string          `json:"openid"`
	Data   json.RawMessage `json:"data"`
	// CreatedAt is when the event was written; not sent.
	CreatedAt time.Time `json:"-"`
}

// EventID is the id of the event numbered seq.
func EventID(seq int64) string { return "evt_" + strconv.FormatInt(seq, 10) }

// entryData is an entry event's data. It never holds a phone number or a
// birthday: only what the feed shows.
type entryData struct {
	Kind          string `json:"kind"`
	Points        int64  `json:"points"`
	BalanceAfter  int64  `json:"balance_after"`
	TransactionID string `json:"transaction_id,omitempty"`
	RefundID      string `json:"refund_id,omitempty"`
	ShopNumber    string `json:"shop_number,omitempty"`
	// Amount is the payment's amount for an earning, the refund's for a
	// deduction, in fen.
	Amount int64  `json:"amount,omitempty"`
	Reason string `json:"reason,omitempty"`
	// MemberID and UnionID are the member's CRM ids when the entry was
	// written (PUT /api/members); empty when unknown.
	MemberID string `json:"member_id,omitempty"`
	UnionID  string `json:"unionid,omitempty"`
}

// appendEntryEvent writes the event of entry e, just numbered, with its
// payment's shop and amount (a refund's amount).
func (tx *Tx) appendEntryEvent(ctx context.Context, e *Entry) error {
	d := entryData{Kind: e.Kind, Points: e.Points, BalanceAfter: e.BalanceAfter, TransactionID: e.TransactionID,
		RefundID: e.RefundID, Reason: e.Reason}
	if e.TransactionID != "" {
		var amount int64
		err := noRows(tx.queryRow(ctx, `SELECT shop_number, amount FROM transactions WHERE mall = $1 AND transaction_id = $2`,
			e.Mall, e.TransactionID).Scan(&d.ShopNumber, &amount))
		if err != nil && err != ErrNotFound {
			return fmt.Errorf("storage: entry event: %w", err)
		}
		if e.Kind == EntryEarn {
			d.Amount = amount
		}
	}
	if e.RefundID != "" {
		err := noRows(tx.queryRow(ctx, `SELECT refund_amount FROM refunds WHERE mall = $1 AND refund_id = $2`,
			e.Mall, e.RefundID).Scan(&d.Amount))
		if err != nil && err != ErrNotFound {
			return fmt.Errorf("storage: entry event: %w", err)
		}
	}
	if err := noRows(tx.queryRow(ctx, `SELECT member_id, unionid FROM members WHERE mall = $1 AND openid = $2`,
		e.Mall, e.OpenID).Scan(&d.MemberID, &d.UnionID)); err != nil && err != ErrNotFound {
		return fmt.Errorf("storage: entry event: %w", err)
	}
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO webhook_events (seq, mall, openid, type, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, e.Seq, e.Mall, e.OpenID, EntryEventType(e.Kind), string(data), micros(e.CreatedAt))
	if err != nil {
		return fmt.Errorf("storage: entry event: %w", err)
	}
	return nil
}

// AppendEvent numbers and writes a member event (ev's Mall, OpenID, Type
// and Data), and sets its Seq and ID. Like AppendEntry it takes its mall's
// turn until the commit: call it as the last write of the transaction.
func (tx *Tx) AppendEvent(ctx context.Context, ev *Event) error {
	ev.CreatedAt = time.Now().UTC()
	if len(ev.Data) == 0 {
		ev.Data = json.RawMessage(`{}`)
	}
	err := tx.queryRow(ctx, tx.db.dialect.appendEvent, ev.Mall, ev.OpenID, ev.Type, string(ev.Data),
		micros(ev.CreatedAt)).Scan(&ev.Seq)
	if err != nil {
		return fmt.Errorf("storage: write event: %w", err)
	}
	ev.ID = EventID(ev.Seq)
	return nil
}

// EventOf is the event of entry e, as AppendEntry wrote it, without its data.
func EventOf(e Entry) Event {
	return Event{ID: EventID(e.Seq), Seq: e.Seq, Type: EntryEventType(e.Kind), Mall: e.Mall, OpenID: e.OpenID}
}

const qEvent = `SELECT seq, mall, openid, type, data, created_at FROM webhook_events WHERE seq = $1`

func scanEvent(r row) (Event, error) {
	var ev Event
	var data string
	var at int64
	err := r.Scan(&ev.Seq, &ev.Mall, &ev.OpenID, &ev.Type, &data, &at)
	ev.ID, ev.Data, ev.CreatedAt = EventID(ev.Seq), json.RawMessage(data), fromMicros(at)
	return ev, noRows(err)
}

// Event reads the event numbered seq.
func (db *DB) Event(ctx context.Context, seq int64) (Event, error) {
	return scanEvent(db.queryRow(ctx, qEvent, seq))
}

// EventsAfter lists mall's events numbered above after, oldest first, at
// most limit.
func (db *DB) EventsAfter(ctx context.Context, mall string, after int64, limit int) ([]Event, error) {
	rs, err := db.query(ctx, `SELECT seq, mall, openid, type, data, created_at FROM webhook_events
		WHERE mall = $1 AND seq > $2 ORDER BY seq LIMIT $3`, mall, after, limit)
	if err != nil {
		return nil, fmt.Errorf("storage: events: %w", err)
	}
	return collect(rs, scanEvent)
}

// The states of a delivery.
const (
	DeliveryPending   = "pending"   // waiting for its turn or being tried
	DeliveryDelivered = "delivered" // answered 2xx
	DeliveryParked    = "parked"    // failed for a day: holds the member's later events until redelivered
)

// Delivery is one event's delivery to one webhook.
type Delivery struct {
	Webhook    string    `json:"webhook"`
	Seq        int64     `json:"seq"`
	EventID    string    `json:"event_id"`
	Mall       string    `json:"mall"`
	OpenID     string    `json:"openid"`
	State      string    `json:"state"`
	Round      int       `json:"round"`
	Attempts   int       `json:"attempts"`
	LastStatus int       `json:"last_status,omitempty"`
	LastError  string    `json:"last_error,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

const deliveryColumns = `webhook, seq, mall, openid, state, round, attempts, last_status, last_error, created_at, updated_at`

func scanDelivery(r row) (Delivery, error) {
	var d Delivery
	var created, updated int64
	err := r.Scan(&d.Webhook, &d.Seq, &d.Mall, &d.OpenID, &d.State, &d.Round, &d.Attempts, &d.LastStatus, &d.LastError,
		&created, &updated)
	d.EventID, d.CreatedAt, d.UpdatedAt = EventID(d.Seq), fromMicros(created), fromMicros(updated)
	return d, noRows(err)
}

// AddDelivery writes the pending delivery of ev to webhook, and reports
// whether it heads its member's queue: no earlier event of the member waits
// for this webhook. Write it in ev's transaction, which holds the mall's
// turn: MarkDelivered takes the same turn, so of the two the later sees the
// other's write.
func (tx *Tx) AddDelivery(ctx context.Context, webhook string, ev Event) (head bool, err error) {
	now := micros(time.Now())
	if _, err := tx.exec(ctx, `INSERT INTO webhook_deliveries (webhook, seq, mall, openid, state, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)`, webhook, ev.Seq, ev.Mall, ev.OpenID, DeliveryPending, now); err != nil {
		return false, fmt.Errorf("storage: add delivery: %w", err)
	}
	first, err := tx.QueueHead(ctx, webhook, ev.Mall, ev.OpenID)
	if err != nil {
		return false, err
	}
	return first.Seq == ev.Seq, nil
}

const qQueueHead = `SELECT ` + deliveryColumns + ` FROM webhook_deliveries
	WHERE webhook = $1 AND mall = $2 AND openid = $3 AND state <> 'delivered' ORDER BY seq LIMIT 1`

// QueueHead is the oldest undelivered delivery of a member's events to
// webhook, pending or parked; ErrNotFound when none is left.
func (tx *Tx) QueueHead(ctx context.Context, webhook, mall, openid string) (Delivery, error) {
	return scanDelivery(tx.queryRow(ctx, qQueueHead, webhook, mall, openid))
}

// QueueHead is Tx.QueueHead outside a transaction.
func (db *DB) QueueHead(ctx context.Context, webhook, mall, openid string) (Delivery, error) {
	return scanDelivery(db.queryRow(ctx, qQueueHead, webhook, mall, openid))
}

// Delivery reads the delivery of event seq to webhook.
func (db *DB) Delivery(ctx context.Context, webhook string, seq int64) (Delivery, error) {
	return scanDelivery(db.queryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE webhook = $1 AND seq = $2`,
		webhook, seq))
}

// TakeTurn locks mall's turn until the transaction ends, as an entry or an
// event of the mall does (dialect.appendEntry). SQLite's one writer needs
// no lock.
func (tx *Tx) TakeTurn(ctx context.Context, mall string) error {
	if tx.db.engine != Postgres {
		return nil
	}
	_, err := tx.exec(ctx, `SELECT 1 FROM ledger_malls WHERE mall = $1 FOR UPDATE`, mall)
	if err != nil {
		return fmt.Errorf("storage: take turn: %w", err)
	}
	return nil
}

// RecordDelivery records an attempt of the delivery (webhook, seq) of round
// round: its answer's status (0: none), its error ("" on success) and the
// delivery's new state. It returns the delivery's openid now (an erasure
// may have rewritten it), or ErrNotFound when the delivery is no longer
// pending in that round (a redelivery started another).
func (tx *Tx) RecordDelivery(ctx context.Context, webhook string, seq int64, round, status int, problem, state string) (string, error) {
	var openid string
	err := noRows(tx.queryRow(ctx, `UPDATE webhook_deliveries SET state = $5, attempts = attempts + 1, last_status = $6,
		last_error = $7, updated_at = $8 WHERE webhook = $1 AND seq = $2 AND round = $3 AND state = $4 RETURNING openid`,
		webhook, seq, round, DeliveryPending, state, status, problem, micros(time.Now())).Scan(&openid))
	if err != nil && err != ErrNotFound {
		return "", fmt.Errorf("storage: record delivery: %w", err)
	}
	return openid, err
}

// Redeliver makes webhook's deliveries of mall's events numbered above
// after pending again in a new round, attempts cleared, and returns how
// many it started and the head of each of the mall's queues. An event of
// one of types (nil: any) without a delivery to webhook (purged, or
// written before the webhook was configured) gets one. Deliveries already
// pending are left as they are.
func (tx *Tx) Redeliver(ctx context.Context, webhook, mall string, after int64, types []string) (n int64, heads []Delivery, err error) {
	now := micros(time.Now())
	cond := ""
	args := []any{webhook, mall, after, DeliveryPending, now}
	for i, t := range types {
		if i > 0 {
			cond += ", "
		}
		cond += fmt.Sprintf("$%d", len(args)+1)
		args = append(args, t)
	}
	if cond != "" {
		cond = " AND type IN (" + cond + ")"
	}
	added, err := tx.exec(ctx, `INSERT INTO webhook_deliveries (webhook, seq, mall, openid, state, created_at, updated_at)
		SELECT $1, seq, mall, openid, $4, $5, $5 FROM webhook_events WHERE mall = $2 AND seq > $3`+cond+`
		ON CONFLICT (webhook, seq) DO NOTHING`, args...)
	if err != nil {
		return 0, nil, fmt.Errorf("storage: redeliver: %w", err)
	}
	n, err = tx.exec(ctx, `UPDATE webhook_deliveries SET state = $4, round = round + 1, attempts = 0, last_status = 0,
		last_error = '', updated_at = $5 WHERE webhook = $1 AND mall = $2 AND seq > $3 AND state <> $4`,
		webhook, mall, after, DeliveryPending, now)
	if err != nil {
		return 0, nil, fmt.Errorf("storage: redeliver: %w", err)
	}
	rs, err := tx.query(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d
		WHERE webhook = $1 AND mall = $2 AND state = $3 AND seq = (SELECT MIN(seq) FROM webhook_deliveries h
		WHERE h.webhook = d.webhook AND h.mall = d.mall AND h.openid = d.openid AND h.state <> 'delivered')`,
		webhook, mall, DeliveryPending)
	if err != nil {
		return 0, nil, fmt.Errorf("storage: redeliver: %w", err)
	}
	heads, err = collect(rs, scanDelivery)
	return n + added, heads, err
}

// EventMalls lists the malls that have webhook events.
func (db *DB) EventMalls(ctx context.Context) ([]string, error) {
	rs, err := db.query(ctx, `SELECT DISTINCT mall FROM webhook_events ORDER BY mall`)
	if err != nil {
		return nil, fmt.Errorf("storage: event malls: %w", err)
	}
	return collect(rs, func(r row) (string, error) {
		var m string
		return m, r.Scan(&m)
	})
}

// Deliveries lists the undelivered deliveries of scope's malls in state
// (DeliveryPending or DeliveryParked), oldest first, at most limit.
func (db *DB) Deliveries(ctx context.Context, scope Malls, state string, limit int) ([]Delivery, error) {
	in, args := scope.and("mall", 3)
	rs, err := db.query(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE state = $1 AND state <> 'delivered'`+
		in+` ORDER BY seq LIMIT $2`, append([]any{state, limit}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("storage: deliveries: %w", err)
	}
	return collect(rs, scanDelivery)
}

// DeliveryCounts counts the deliveries waiting and parked.
func (db *DB) DeliveryCounts(ctx context.Context) (map[string]int64, error) {
	rs, err := db.query(ctx, `SELECT state, COUNT(*) FROM webhook_deliveries WHERE state <> 'delivered' GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("storage: delivery counts: %w", err)
	}
	defer rs.Close()
	out := map[string]int64{DeliveryPending: 0, DeliveryParked: 0}
	for rs.Next() {
		var state string
		var n int64
		if err := rs.Scan(&state, &n); err != nil {
			return nil, err
		}
		out[state] = n
	}
	return out, rs.Err()
}

// eraseEvents rewrites a member's stored events and deliveries to its
// pseudonym: an erased member's events, redelivered, carry the pseudonym.
// Their data never holds the openid.
// It takes the mall's turn first, as a delivery's record does, so that the
// two lock in one order.
func (tx *Tx) eraseEvents(ctx context.Context, mall, openid, pseudonym string) error {
	if err := tx.TakeTurn(ctx, mall); err != nil {
		return err
	}
	for _, q := range []string{
		`UPDATE webhook_events SET openid = $3 WHERE mall = $1 AND openid = $2`,
		`UPDATE webhook_deliveries SET openid = $3 WHERE mall = $1 AND openid = $2`,
	} {
		if _, err := tx.exec(ctx, q, mall, openid, pseudonym); err != nil {
			return fmt.Errorf("storage: erase events: %w", err)
		}
	}
	return nil
}

package interop

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// observed is a scenario's result for one call of a peer.
type observed struct {
	call string // which call: "points sync (204)", "authorization query (200)", "notification"
	outcome
	// downloads: the peer fetched GET /v3/certificates during the scenario
	// (gopay's fallback on an unknown Wechatpay-Serial).
	downloads bool
	// redelivered: after the peer refused a notification, WeChat Pay's
	// re-delivery was accepted.
	redelivered bool
}

// scenario is a row of the README's table.
type scenario struct {
	name  string
	about string // what happens, for the README
	via   string // how the sandbox is made to do it
	// sandboxMode, when set, replaces the column's key mode.
	sandboxMode *sandbox.KeyMode
	run         func(t *testing.T, e *env, c peerClient) []observed
}

var platformMode = sandbox.PlatformCertificateMode

var scenarios = []scenario{
	{
		name:  "points",
		about: "sync points (`POST /v3/businesscircle/points/notify`, 204) for a transaction the sandbox created; `GET /sandbox/points/{id}` shows it",
		via:   "admin API",
		run: func(t *testing.T, e *env, c peerClient) []observed {
			e.authorize()
			p := e.pay(8800)
			body := pointsBody(p.TransactionID)
			o := c.pointsSync(t, body, 0)
			if o.Accepted {
				got := e.points(p.TransactionID)
				var last map[string]any
				if err := json.Unmarshal(got.LastSync, &last); err != nil {
					t.Fatalf("last_sync %s: %v", got.LastSync, err)
				}
				if got.SyncCount != 1 || !reflect.DeepEqual(last, roundTrip(body)) {
					t.Errorf("GET /sandbox/points/%s = %d syncs, last %s; want 1 sync of %s", p.TransactionID, got.SyncCount, got.LastSync, mustJSON(body))
				}
			}
			return []observed{{call: "points sync (204)", outcome: o}}
		},
	},
	{
		name:  "authorization",
		about: "query the member's authorization (`GET /v3/businesscircle/user-authorizations/{openid}?appid=…`, 200)",
		via:   "admin API",
		run: func(t *testing.T, e *env, c peerClient) []observed {
			e.authorize()
			o := c.authorization(t, openID, appID, 0)
			if o.Accepted && (o.Data["authorize_state"] != "AUTHORIZED" || o.Data["openid"] != openID) {
				t.Errorf("authorization answer %v; want openid %s AUTHORIZED", o.Data, openID)
			}
			return []observed{{call: "authorization query (200)", outcome: o}}
		},
	},
	{
		name:  "parking",
		about: "sync a car entering (`POST /v3/businesscircle/parkings`, 204); `GET /sandbox/parkings` shows it",
		via:   "admin API",
		run: func(t *testing.T, e *env, c peerClient) []observed {
			e.authorize()
			body := map[string]any{
				"brandid": 1234, "appid": appID, "openid": openID, "plate_number": "粤B888888",
				"state": "IN", "time": time.Now().In(beijing).Format(time.RFC3339),
			}
			o := c.parking(t, body, 0)
			if o.Accepted {
				var got struct{ Parkings []sandbox.Parking }
				e.admin(http.MethodGet, "/sandbox/parkings", nil, &got)
				if len(got.Parkings) != 1 || got.Parkings[0].PlateNumber != "粤B888888" || got.Parkings[0].State != "IN" {
					t.Errorf("GET /sandbox/parkings = %+v; want 粤B888888 IN", got.Parkings)
				}
			}
			return []observed{{call: "parking sync (204)", outcome: o}}
		},
	},
	{
		name:  "notification",
		about: "parse the `MALL_AUTH.ACTIVATE_CARD`, `MALL_TRANSACTION.SUCCESS` and (after a points sync and `POST /sandbox/refunds`) `MALL_REFUND.SUCCESS` the sandbox sent, with the peer's own notification code",
		via:   "admin API",
		run: func(t *testing.T, e *env, c peerClient) []observed {
			var m sandbox.Member
			e.admin(http.MethodPost, "/sandbox/authorizations", sandbox.MemberRequest{AppID: appID, OpenID: openID}, &m)
			e.waitDelivery(m.NotificationID)
			auth := e.notices()
			p := e.pay(8800)
			d := e.waitDelivery(p.NotificationID)
			paid := e.notices()
			if len(auth) == 0 || len(paid) == 0 {
				t.Fatalf("receiver saw %d MALL_AUTH and %d MALL_TRANSACTION attempts", len(auth), len(paid))
			}
			// Refunds are notified only for synced transactions.
			if o := c.pointsSync(t, pointsBody(p.TransactionID), 0); !o.Accepted {
				t.Fatalf("points sync before the refund: %s %s", o, o.Detail)
			}
			var rf sandbox.Refund
			e.admin(http.MethodPost, "/sandbox/refunds", sandbox.RefundRequest{TransactionID: p.TransactionID, RefundAmount: 2000}, &rf)
			if rf.NotificationID == "" {
				t.Fatalf("POST /sandbox/refunds sent no MALL_REFUND.SUCCESS: %+v", rf)
			}
			e.waitDelivery(rf.NotificationID)
			refunded := e.notices()
			if len(refunded) == 0 {
				t.Fatal("receiver saw no MALL_REFUND.SUCCESS attempt")
			}
			out := []observed{
				{call: "MALL_AUTH.ACTIVATE_CARD", outcome: auth[0].outcome},
				{call: "MALL_TRANSACTION.SUCCESS", outcome: paid[0].outcome},
				{call: "MALL_REFUND.SUCCESS", outcome: refunded[0].outcome},
			}
			if n := refunded[0]; n.Accepted && (n.EventType != "MALL_REFUND.SUCCESS" || n.Resource["refund_id"] != rf.RefundID ||
				n.Resource["refund_amount"] != 2000.0 || n.Resource["transaction_id"] != p.TransactionID) {
				t.Errorf("MALL_REFUND.SUCCESS parsed as %s %v; want refund %s of 2000", n.EventType, n.Resource, rf.RefundID)
			}
			if n := auth[0]; n.Accepted && (n.EventType != "MALL_AUTH.ACTIVATE_CARD" || n.Resource["openid"] != openID) {
				t.Errorf("MALL_AUTH.ACTIVATE_CARD parsed as %s %v", n.EventType, n.Resource)
			}
			if n := paid[0]; n.Accepted {
				if n.EventType != "MALL_TRANSACTION.SUCCESS" || n.Resource["transaction_id"] != p.TransactionID || n.Resource["amount"] != 8800.0 {
					t.Errorf("MALL_TRANSACTION.SUCCESS parsed as %s %v; want transaction %s of 8800", n.EventType, n.Resource, p.TransactionID)
				}
				if d.State != "delivered" || len(d.Attempts) != 1 || d.Attempts[0].Status != http.StatusNoContent {
					t.Errorf("delivery %+v; want delivered at the first attempt", d)
				}
			}
			return out
		},
	},
	answerFaultScenario("bad-signature", "answers signed over the right message by a key that is not WeChat Pay's",
		"bad_signature_rate", sandbox.EndpointFaults{BadSignatureRate: 1}),
	staleScenario(600),
	staleScenario(300),
	staleScenario(301),
	answerFaultScenario("unknown-serial", "answers whose `Wechatpay-Serial` names no key the peer has (the signature is WeChat Pay's)",
		"unknown_serial_rate", sandbox.EndpointFaults{UnknownSerialRate: 1}),
	{
		name:  "probe",
		about: "answers carrying a `WECHATPAY/SIGNTEST/` probe signature",
		via:   "`PUT /sandbox/faults` `{\"endpoints\":{\"*\":{\"probe_rate\":1}}}`",
		run: func(t *testing.T, e *env, c peerClient) []observed {
			e.authorize()
			p := e.pay(8800)
			e.setFaults(sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{"*": {ProbeRate: 1}}})
			return faultCalls(t, e, c, p.TransactionID, 0)
		},
	},
	{
		name:  "param-error",
		about: "a points sync with `points_update_time` `2024-01-06 14:06:00` (not RFC 3339): `400 PARAM_ERROR`, unsigned, which must reach the caller as an API error and not as a signature failure",
		via:   "a bad request",
		run: func(t *testing.T, e *env, c peerClient) []observed {
			e.authorize()
			p := e.pay(8800)
			body := pointsBody(p.TransactionID)
			body["points_update_time"] = "2024-01-06 14:06:00"
			o := c.pointsSync(t, body, 0)
			if !o.Accepted && !strings.Contains(o.Detail, "PARAM_ERROR") {
				t.Errorf("the peer's error does not show PARAM_ERROR: %s", o.Detail)
			}
			return []observed{{call: "points sync (400)", outcome: o}}
		},
	},
	{
		name:  "system-error",
		about: "`500 SYSTEM_ERROR`, unsigned, on every call",
		via:   "`PUT /sandbox/faults` `{\"endpoints\":{\"*\":{\"error_rate\":1}}}`",
		run: func(t *testing.T, e *env, c peerClient) []observed {
			e.authorize()
			p := e.pay(8800)
			e.setFaults(sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{"*": {ErrorRate: 1}}})
			out := faultCalls(t, e, c, p.TransactionID, 0)
			for _, o := range out {
				if !o.Accepted && !strings.Contains(o.Detail, "SYSTEM_ERROR") {
					t.Errorf("%s: the peer's error does not show SYSTEM_ERROR: %s", o.call, o.Detail)
				}
			}
			return out
		},
	},
	{
		name:        "platform-cert-answer",
		about:       "the sandbox in platform-certificate mode, whatever the peer was set up with: answers signed by the platform certificate `GET /v3/certificates` lists",
		via:         "`sandbox.PlatformCertificateMode`",
		sandboxMode: &platformMode,
		run: func(t *testing.T, e *env, c peerClient) []observed {
			e.authorize()
			p := e.pay(8800)
			return faultCalls(t, e, c, p.TransactionID, 0)
		},
	},
	{
		name:  "notification-probe",
		about: "a notification whose first attempt carries a `WECHATPAY/SIGNTEST/` probe signature; WeChat Pay sends it again",
		via:   "`PUT /sandbox/faults` `{\"notifications\":{\"probe_rate\":1}}`",
		run: func(t *testing.T, e *env, c peerClient) []observed {
			e.authorize()
			e.setFaults(sandbox.Faults{Notifications: sandbox.NotificationFaults{ProbeRate: 1}})
			p := e.pay(8800)
			d := e.waitDelivery(p.NotificationID)
			ns := e.notices()
			if len(ns) == 0 {
				t.Fatal("the receiver saw no attempt")
			}
			o := observed{call: "MALL_TRANSACTION.SUCCESS", outcome: ns[0].outcome}
			o.redelivered = len(ns) == 2 && ns[1].Accepted && d.State == "delivered"
			if len(ns) != len(d.Attempts) {
				t.Errorf("receiver saw %d attempts, the sandbox made %+v", len(ns), d.Attempts)
			}
			return []observed{o}
		},
	},
	{
		name:  "notification-stale",
		about: "notifications stamped 10 minutes in the past (`Wechatpay-Timestamp`), correctly signed",
		via:   "`PUT /sandbox/faults` `{\"notifications\":{\"clock_skew\":\"-10m\"}}`",
		run: func(t *testing.T, e *env, c peerClient) []observed {
			e.authorize()
			e.setFaults(sandbox.Faults{Notifications: sandbox.NotificationFaults{ClockSkew: sandbox.Duration(-10 * time.Minute)}})
			p := e.pay(8800)
			e.waitDelivery(p.NotificationID)
			ns := e.notices()
			if len(ns) == 0 {
				t.Fatal("the receiver saw no attempt")
			}
			return []observed{{call: "MALL_TRANSACTION.SUCCESS", outcome: ns[0].outcome}}
		},
	},
}

// answerFaultScenario is a row whose 2xx answers the sandbox signs wrongly:
// field is f's one setting, rate 1, as the README shows it.
func answerFaultScenario(name, about, field string, f sandbox.EndpointFaults) scenario {
	return scenario{
		name: name, about: about,
		via: "`PUT /sandbox/faults` `{\"endpoints\":{\"*\":{\"" + field + "\":1}}}`",
		run: func(t *testing.T, e *env, c peerClient) []observed {
			e.authorize()
			p := e.pay(8800)
			e.setFaults(sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{"*": f}})
			return faultCalls(t, e, c, p.TransactionID, 0)
		},
	}
}

// staleScenario signs answers correctly, stamped seconds before the peer's
// clock: the sandbox clock is pinned to a whole second and its answers
// shifted back by a clock-skew fault. The Node.js peer's clock is pinned to
// the same second, so that it sees exactly that age; the Go peers read the
// real clock a moment later, so they see at least that age.
func staleScenario(seconds int64) scenario {
	s := scenario{
		name:  "stale-" + itoa(seconds),
		about: "answers correctly signed with a `Wechatpay-Timestamp` " + itoa(seconds) + " s old",
		via:   "`PUT /sandbox/faults` `{\"endpoints\":{\"*\":{\"clock_skew\":\"-" + itoa(seconds) + "s\"}}}`",
		run: func(t *testing.T, e *env, c peerClient) []observed {
			e.authorize()
			p := e.pay(8800)
			now := time.Now().Unix()
			e.pinClock(now)
			e.setFaults(sandbox.Faults{Endpoints: map[string]sandbox.EndpointFaults{
				"*": {ClockSkew: sandbox.Duration(-time.Duration(seconds) * time.Second)},
			}})
			return faultCalls(t, e, c, p.TransactionID, now)
		},
	}
	if seconds == 300 || seconds == 301 {
		s.about += " (the boundary: the Node.js peer's clock pinned)"
	}
	return s
}

// faultCalls makes the two kinds of call a fault is tried on: the
// authorization query (200 with a body) and a points sync (204, empty body).
func faultCalls(t *testing.T, e *env, c peerClient, txID string, now int64) []observed {
	return []observed{
		{call: "authorization query", outcome: c.authorization(t, openID, appID, now)},
		{call: "points sync", outcome: c.pointsSync(t, pointsBody(txID), now)},
	}
}

var beijing = time.FixedZone("CST", 8*3600)

// pointsBody is a points sync of the member's transaction; the remark has
// characters Go's encoding/json escapes (<, &, >) and non-ASCII text.
func pointsBody(txID string) map[string]any {
	return map[string]any{
		"transaction_id":     txID,
		"appid":              appID,
		"openid":             openID,
		"earn_points":        true,
		"increased_points":   88,
		"points_update_time": time.Now().In(beijing).Format("2006-01-02T15:04:05.000Z07:00"),
		"no_points_remarks":  "商品不属于积分商品 <&>",
		"total_points":       888,
	}
}

// roundTrip is v as JSON decodes it (numbers as float64).
func roundTrip(v any) map[string]any {
	var m map[string]any
	if err := json.NewDecoder(bytes.NewReader(mustJSON(v))).Decode(&m); err != nil {
		panic(err)
	}
	return m
}

func itoa(n int64) string { return string(mustJSON(n)) }

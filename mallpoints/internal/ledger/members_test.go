package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/notify"
)

const memberMall = "1900000109"

// memberEvents lists the member events written to the audit log, oldest
// first.
func memberEvents(t *testing.T, db *storage.DB) []storage.AuditEntry {
	t.Helper()
	list, err := db.AuditLog(context.Background(), storage.AuditFilter{Actor: EventActor, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list
}

// pay notifies a payment of amount fen by openid now, and returns it as
// recorded.
func pay(t *testing.T, s *Service, openid, txid string, amount int64) storage.Transaction {
	t.Helper()
	ctx := context.Background()
	n := &notify.Notification{ID: "n-" + txid, EventType: businesscircle.EventTypeTransactionSuccess}
	if _, err := s.Transaction(ctx, n, &businesscircle.TransactionEvent{MchID: memberMall, AppID: "wxapp", OpenID: openid,
		TransactionID: txid, Amount: amount, TimeEnd: time.Now().Format(time.RFC3339)}); err != nil {
		t.Fatal(err)
	}
	tr, err := s.db.Transaction(ctx, memberMall, txid)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// activate notifies MALL_AUTH.ACTIVATE_CARD for openid.
func activate(t *testing.T, s *Service, id, openid string, auth businesscircle.AuthType) {
	t.Helper()
	n := &notify.Notification{ID: id, EventType: businesscircle.EventTypeAuthActivateCard}
	if _, err := s.Authorization(context.Background(), n, &businesscircle.AuthorizationEvent{MchID: memberMall, OpenID: openid,
		AuthType: auth}); err != nil {
		t.Fatal(err)
	}
}

// A withdrawn member's payment is recorded and earns 0 with reason
// not_authorized, synced as earn_points=false with the remark; an
// activation or an AUTHORIZED answer ends the withdrawal. Each change of a
// known state is a member event.
func TestAWithdrawnMembersPaymentEarnsNothingUntilItAuthorisesAgain(t *testing.T) {
	t.Parallel()
	for _, dsn := range testDatabases(t) {
		t.Run(dsn.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openDB(t, dsn.dsn(t))
			set := mustRules(t, "default:\n  remarks: {not_authorized: 请重新授权}\n")
			s := New(db, noQueue{}, rules.NewCurrent(set), nil)
			activate(t, s, "n-act-1", "oW", businesscircle.AuthTypeRegisteredAndAuthorizationMode)
			if tr := pay(t, s, "oW", "4200000000000000000000000001", 1000); tr.Points != 10 {
				t.Fatalf("an authorised member's payment earned %d", tr.Points)
			}
			for i, step := range []struct {
				name   string
				do     func()
				points int64
				events []string // from→to of the events written by the step
			}{
				{"withdrawn: the query answers DEAUTHORIZED", func() {
					if changed, err := s.NoteAuthorization(ctx, memberMall, "oW", storage.AuthorizeDeauthorized, time.Now()); err != nil || !changed {
						t.Fatal(changed, err)
					}
				}, 0, []string{"AUTHORIZED→DEAUTHORIZED query"}},
				{"an older answer changes nothing", func() {
					if changed, err := s.NoteAuthorization(ctx, memberMall, "oW", storage.AuthorizeAuthorized, time.Now().Add(-time.Hour)); err != nil || changed {
						t.Fatal(changed, err)
					}
				}, 0, nil},
				{"a later activation ends it", func() {
					activate(t, s, "n-act-2", "oW", businesscircle.AuthTypeRegisteredMode)
				}, 10, []string{"DEAUTHORIZED→UNAUTHORIZED activation"}},
				{"withdrawn again", func() {
					s.NoteAuthorization(ctx, memberMall, "oW", storage.AuthorizeDeauthorized, time.Now())
				}, 0, []string{"UNAUTHORIZED→DEAUTHORIZED query"}},
				{"an AUTHORIZED answer ends it", func() {
					s.NoteAuthorization(ctx, memberMall, "oW", storage.AuthorizeAuthorized, time.Now())
				}, 10, []string{"DEAUTHORIZED→AUTHORIZED query"}},
				{"the same answer again is no event", func() {
					s.NoteAuthorization(ctx, memberMall, "oW", storage.AuthorizeAuthorized, time.Now())
				}, 10, nil},
			} {
				before := len(memberEvents(t, db))
				step.do()
				txid := fmt.Sprintf("42000000000000000000000010%02d", i)
				tr := pay(t, s, "oW", txid, 1000)
				if tr.Points != step.points {
					t.Errorf("%s: the payment earned %d, want %d", step.name, tr.Points, step.points)
				}
				if step.points == 0 && (tr.EarnPoints || tr.NoPointsRemarks != "请重新授权" || !json.Valid(tr.Steps) ||
					string(tr.Steps) != `[{"step":"not_authorized","points":0}]`) {
					t.Errorf("%s: the payment %+v; want earn_points false with the not_authorized remark and step", step.name, tr)
				}
				var got []string
				for _, e := range memberEvents(t, db)[before:] {
					var d struct{ From, To, Source string }
					json.Unmarshal(e.After, &d)
					if e.Action != EventAuthorizationChanged || e.Subject != "oW" || e.Mall != memberMall {
						t.Errorf("%s: event %+v", step.name, e)
					}
					got = append(got, d.From+"→"+d.To+" "+d.Source)
				}
				if len(got) != len(step.events) || (len(got) > 0 && got[0] != step.events[0]) {
					t.Errorf("%s: events %q, want %q", step.name, got, step.events)
				}
			}
		})
	}
}

// The first answer about a member is an event only when it is a
// withdrawal; an activation says what the query would.
func TestAuthorizationEventsOnFirstAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t, testDatabases(t)[0].dsn(t))
	s := New(db, noQueue{}, rules.NewCurrent(rules.Default()), nil)
	for _, tt := range []struct {
		openid, state string
		event         bool
	}{
		{"oA", storage.AuthorizeAuthorized, false},
		{"oU", storage.AuthorizeUnauthorized, false},
		{"oD", storage.AuthorizeDeauthorized, true},
	} {
		pay(t, s, tt.openid, "42000000000000000000000"+tt.openid+"01", 100)
		before := len(memberEvents(t, db))
		if changed, err := s.NoteAuthorization(ctx, memberMall, tt.openid, tt.state, time.Now()); err != nil || !changed {
			t.Fatal(changed, err)
		}
		if got := len(memberEvents(t, db)) - before; (got == 1) != tt.event {
			t.Errorf("first answer %s: %d events", tt.state, got)
		}
	}
	if _, err := s.NoteAuthorization(ctx, memberMall, "oNobody", storage.AuthorizeAuthorized, time.Now()); err != ErrUnknownMember {
		t.Errorf("an unknown member: %v", err)
	}
	activate(t, s, "n-act-x", "oX", businesscircle.AuthTypeRegisteredAndAuthorizationMode)
	if m, _ := db.Member(ctx, memberMall, "oX"); m.AuthorizeState != storage.AuthorizeAuthorized || m.AuthorizeCheckedAt.IsZero() || m.ActiveAt.IsZero() {
		t.Errorf("after an activation with automatic points: %+v", m)
	}
}

// The birthday the CRM gives counts in the rules' birthday_month
// promotions, at intake and in the preview; erasure clears it and is a
// member event naming the pseudonym.
func TestTheCRMsBirthdayMeetsBirthdayMonthPromotions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, dsn := range testDatabases(t) {
		t.Run(dsn.name, func(t *testing.T) {
			t.Parallel()
			db := openDB(t, dsn.dsn(t))
			set := mustRules(t, "default:\n  promotions:\n    - {name: 生日月, multiplier: 2, birthday_month: true}\n")
			s := New(db, noQueue{}, rules.NewCurrent(set), nil)
			month := time.Now().In(beijing).Format("01")
			other := time.Now().In(beijing).AddDate(0, 1, 0).Format("01")
			for i, tt := range []struct {
				birthday string
				points   int64
			}{
				{"", 10},
				{"1990-" + month + "-01", 20},
				{other + "-01", 10},
				{month + "-28", 20},
			} {
				openid := "oB" + string(rune('a'+i))
				if tt.birthday != "" {
					b := tt.birthday
					if _, _, err := s.SetCRMFields(ctx, memberMall, openid, storage.CRMFields{Birthday: &b}); err != nil {
						t.Fatal(err)
					}
				}
				// The preview reads the birthday as intake does.
				out, err := Preview(ctx, db, set, []PreviewPayment{{Payment: rules.Payment{MchID: memberMall, Amount: 1000,
					TimeEnd: time.Now()}, OpenID: openid}}, nil)
				if err != nil || out[0].Points != tt.points {
					t.Errorf("birthday %q: preview %+v, %v; want %d", tt.birthday, out, err, tt.points)
				}
				tr := pay(t, s, openid, "4200000000000000000000000"+string(rune('a'+i))+"01", 1000)
				if tr.Points != tt.points {
					t.Errorf("birthday %q: %d points, want %d", tt.birthday, tr.Points, tt.points)
				}
				if ok, err := db.RecordAttempt(ctx, storage.Attempt{SyncID: tr.SyncID, Attempt: 1, Outcome: storage.AttemptOK,
					Status: 204, At: time.Now()}, storage.SyncSynced); err != nil || !ok {
					t.Fatal(ok, err)
				}
			}
			// A month given to the preview replaces the member's.
			m := 0
			out, _ := Preview(ctx, db, set, []PreviewPayment{{Payment: rules.Payment{MchID: memberMall, Amount: 1000,
				TimeEnd: time.Now()}, OpenID: "oBb", BirthdayMonth: &m}}, nil)
			if out[0].Points != 10 {
				t.Errorf("preview with birthday_month 0: %d", out[0].Points)
			}
			// A withdrawn member previews as it would earn: nothing.
			s.NoteAuthorization(ctx, memberMall, "oBb", storage.AuthorizeDeauthorized, time.Now())
			out, _ = Preview(ctx, db, set, []PreviewPayment{{Payment: rules.Payment{MchID: memberMall, Amount: 1000,
				TimeEnd: time.Now()}, OpenID: "oBb"}}, nil)
			if out[0].Points != 0 || out[0].Reason != rules.ReasonNotAuthorized {
				t.Errorf("preview of a withdrawn member: %+v", out[0])
			}

			before := len(memberEvents(t, db))
			pseudonym, err := s.Erase(ctx, memberMall, "oBb")
			if err != nil {
				t.Fatal(err)
			}
			events := memberEvents(t, db)[before:]
			if len(events) != 1 || events[0].Action != EventErased || events[0].Subject != pseudonym {
				t.Errorf("erasure's events: %+v", events)
			}
			for _, e := range memberEvents(t, db) {
				if e.Subject == "oBb" {
					t.Errorf("an event still names the erased openid: %+v", e)
				}
			}
			if m, err := db.Member(ctx, memberMall, pseudonym); err != nil || m.Birthday != "" || m.BirthdayMonth() != 0 {
				t.Errorf("the erased member %+v, %v", m, err)
			}
		})
	}
}

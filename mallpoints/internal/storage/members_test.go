package storage

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func ptr(s string) *string { return &s }

func testMemberCRMFields(t *testing.T, ctx context.Context, db *DB) {
	payment(t, db, "oA", "4200000001", 10, time.Now())
	payment(t, db, "oB", "4200000002", 10, time.Now())
	for _, c := range []struct {
		openid string
		f      CRMFields
		want   [4]string // member_id, unionid, phone, birthday
	}{
		{"oA", CRMFields{MemberID: ptr("M001"), Phone: ptr("13812345678")}, [4]string{"M001", "", "13812345678", ""}},
		{"oA", CRMFields{UnionID: ptr("u-1"), Birthday: ptr("1990-05-20")}, [4]string{"M001", "u-1", "13812345678", "1990-05-20"}},
		{"oA", CRMFields{Phone: ptr("")}, [4]string{"M001", "u-1", "", "1990-05-20"}},
		{"oA", CRMFields{Phone: ptr("13812345678")}, [4]string{"M001", "u-1", "13812345678", "1990-05-20"}},
		{"oB", CRMFields{Phone: ptr("13812345679"), Birthday: ptr("12-31")}, [4]string{"", "", "13812345679", "12-31"}},
	} {
		inTx(t, db, func(tx *Tx) error { return tx.SetCRMFields(ctx, mall, c.openid, c.f) })
		m, err := db.Member(ctx, mall, c.openid)
		if got := [4]string{m.MemberID, m.UnionID, m.Phone, m.Birthday}; err != nil || got != c.want {
			t.Errorf("%s after %+v: %q, %v; want %q", c.openid, c.f, got, err, c.want)
		}
	}
	if m, _ := db.Member(ctx, mall, "oA"); m.BirthdayMonth() != 5 {
		t.Errorf("birthday month of %s: %d", m.Birthday, m.BirthdayMonth())
	}
	if m, _ := db.Member(ctx, mall, "oB"); m.BirthdayMonth() != 12 {
		t.Errorf("birthday month of %s: %d", m.Birthday, m.BirthdayMonth())
	}
	for _, c := range []struct {
		phone, mall string
		scope       Malls
		want        []string
	}{
		{"13812345678", "", nil, []string{"oA"}},
		{"13812345678", mall, nil, []string{"oA"}},
		{"13812345678", "1900000999", nil, nil},
		{"13812345678", "", Malls{"1900000999"}, nil},
		{"1381234567", "", nil, nil}, // a prefix finds nothing
		{"138%", "", nil, nil},
		{"", "", nil, nil},
	} {
		list, err := db.MembersByPhone(ctx, c.scope, c.mall, c.phone, 10)
		var got []string
		for _, m := range list {
			got = append(got, m.OpenID)
		}
		if err != nil || strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("phone %q in %q %v: %v, %v; want %v", c.phone, c.mall, c.scope, got, err, c.want)
		}
	}
}

func testErasureRewritesAudit(t *testing.T, ctx context.Context, db *DB) {
	payment(t, db, "oA", "4200000001", 10, time.Now())
	inTx(t, db, func(tx *Tx) error {
		return tx.SetCRMFields(ctx, mall, "oA", CRMFields{MemberID: ptr("M1"), UnionID: ptr("U1"), Phone: ptr("13812345678"), Birthday: ptr("05-20")})
	})
	mine := []AuditEntry{
		{Actor: "token", Action: "tier.set", Mall: mall, Subject: "oA"},
		{Actor: "token", Action: "member.set", Mall: mall, Subject: "oA"},
	}
	others := []AuditEntry{
		{Actor: "token", Action: "tier.set", Mall: "1900000999", Subject: "oA"}, // another mall's member
		{Actor: "token", Action: "sync.retry", Mall: mall, Subject: "7"},
	}
	for _, list := range [][]AuditEntry{mine, others} {
		for i := range list {
			if err := db.AppendAudit(ctx, &list[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	const pseudonym = "erased_0123456789abcdef01234567"
	inTx(t, db, func(tx *Tx) error {
		_, err := tx.EraseMember(ctx, mall, "oA", pseudonym)
		return err
	})
	m, err := db.Member(ctx, mall, pseudonym)
	if err != nil || m.MemberID != "" || m.UnionID != "" || m.Phone != "" || m.Birthday != "" || !m.ActiveAt.IsZero() {
		t.Errorf("the erased member %+v, %v: CRM ids, phone and birthday must be empty", m, err)
	}
	log, err := db.AuditLog(ctx, AuditFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[int64]string{}
	for _, e := range log {
		subjects[e.ID] = e.Subject
	}
	for _, e := range mine {
		if subjects[e.ID] != pseudonym {
			t.Errorf("entry %d of the member reads %q, want the pseudonym", e.ID, subjects[e.ID])
		}
	}
	for _, e := range others {
		if subjects[e.ID] != e.Subject {
			t.Errorf("entry %d of another subject reads %q, want %q", e.ID, subjects[e.ID], e.Subject)
		}
	}
	// Nothing else may change: not another column, not a subject to anything
	// but a pseudonym, not a pseudonym a second time.
	for _, q := range []string{
		`UPDATE audit_log SET subject = 'erased_0123456789abcdef01234567', actor = 'x' WHERE subject = '7'`,
		`UPDATE audit_log SET subject = 'someone' WHERE subject = '7'`,
		`UPDATE audit_log SET subject = 'erased_short' WHERE subject = '7'`,
		`UPDATE audit_log SET subject = 'erased_ffffffffffffffffffffffff' WHERE subject = '` + pseudonym + `'`,
		`UPDATE audit_log SET after_values = '{}' WHERE subject = '` + pseudonym + `'`,
	} {
		if _, err := db.exec(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want it refused as append-only", q, err)
		}
	}
}

func testQueryBudget(t *testing.T, ctx context.Context, db *DB) {
	take := func(mchid, query string, tenth int64, limit int) bool {
		ok, err := db.TakeQuery(ctx, mchid, query, tenth, limit)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	const tenth = 18_000_000_000
	// Half the budget first (a background job), then the whole of it.
	for i := range 3 {
		if !take("m1", "authorization", tenth, 3) {
			t.Fatalf("call %d of a budget of 3 refused", i+1)
		}
	}
	if take("m1", "authorization", tenth, 3) {
		t.Error("a half budget of 3 took a fourth call")
	}
	for i := range 3 {
		if !take("m1", "authorization", tenth, 6) {
			t.Fatalf("call %d beyond the half refused under the whole budget", i+4)
		}
	}
	if take("m1", "authorization", tenth, 6) {
		t.Error("a budget of 6 took a seventh call")
	}
	// Another tenth, merchant or query counts apart; a limit of 0 takes none.
	if !take("m1", "authorization", tenth+1, 6) || !take("m2", "authorization", tenth, 6) || !take("m1", "commit_status", tenth, 6) {
		t.Error("another tenth, merchant or query shares the count")
	}
	if take("m1", "authorization", tenth+2, 0) {
		t.Error("a limit of 0 took a call")
	}
	// A tenth's first call forgets the tenths older than a minute.
	take("m1", "authorization", tenth+budgetKept+5, 6)
	var n int
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM query_budget WHERE mchid = 'm1' AND query = 'authorization'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("rows kept: %d, %v; want the newest tenth's only", n, err)
	}
}

func testDueForRecheck(t *testing.T, ctx context.Context, db *DB) {
	now := time.Now()
	active := func(openid string, at time.Time) {
		inTx(t, db, func(tx *Tx) error {
			m, err := tx.LockMember(ctx, mall, openid, "wxapp")
			if err != nil {
				return err
			}
			m.ActiveAt = at
			return tx.UpdateMember(ctx, m)
		})
	}
	checked := func(openid, state string, at time.Time) {
		inTx(t, db, func(tx *Tx) error { return tx.SetAuthorization(ctx, mall, openid, state, at) })
	}
	active("oNever", now.Add(-time.Hour))
	active("oOld", now.Add(-time.Hour))
	checked("oOld", AuthorizeAuthorized, now.Add(-10*24*time.Hour))
	active("oOlder", now.Add(-time.Hour))
	checked("oOlder", AuthorizeAuthorized, now.Add(-20*24*time.Hour))
	active("oFresh", now.Add(-time.Hour))
	checked("oFresh", AuthorizeAuthorized, now.Add(-time.Hour))
	active("oIdle", now.Add(-40*24*time.Hour))
	inTx(t, db, func(tx *Tx) error { _, err := tx.LockMember(ctx, mall, "oSilent", ""); return err }) // never active
	list, err := db.DueForRecheck(ctx, now.Add(-ActiveWindow), now.Add(-7*24*time.Hour), Member{}, 10)
	var got []string
	for _, m := range list {
		got = append(got, m.OpenID)
	}
	if err != nil || strings.Join(got, ",") != "oNever,oOlder,oOld" {
		t.Errorf("due: %v, %v; want oNever,oOlder,oOld", got, err)
	}
	first, _ := db.DueForRecheck(ctx, now.Add(-ActiveWindow), now.Add(-7*24*time.Hour), Member{}, 1)
	if len(first) != 1 || first[0].OpenID != "oNever" {
		t.Fatalf("a limit of 1: %+v", first)
	}
	if next, _ := db.DueForRecheck(ctx, now.Add(-ActiveWindow), now.Add(-7*24*time.Hour), first[0], 5); len(next) != 2 || next[0].OpenID != "oOlder" {
		t.Errorf("after the first: %+v", next)
	}
	st, err := db.State(ctx)
	if m, _ := db.Member(ctx, mall, "oNever"); err != nil || !st.OldestAuthorizationCheck.Equal(m.CreatedAt) {
		t.Errorf("the oldest check %v, %v: want the never-checked member's creation %v", st.OldestAuthorizationCheck, err, m.CreatedAt)
	}
	checked("oNever", AuthorizeDeauthorized, now)
	if m, _ := db.Member(ctx, mall, "oNever"); !m.Withdrawn() || m.AuthorizeCheckedAt.IsZero() {
		t.Errorf("after a DEAUTHORIZED answer: %+v", m)
	}
	if st, _ := db.State(ctx); !st.OldestAuthorizationCheck.Equal(now.Add(-20 * 24 * time.Hour).UTC().Truncate(time.Microsecond)) {
		t.Errorf("the oldest check %v, want 20 days ago", st.OldestAuthorizationCheck)
	}
	if err := db.SetCommitStatus(ctx, mall, "oOld", "PENDING", now); err != nil {
		t.Fatal(err)
	}
	if err := db.SetCommitStatus(ctx, mall, "oOld", "FINISHED", now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if m, _ := db.Member(ctx, mall, "oOld"); m.CommitStatus != "PENDING" {
		t.Errorf("an older answer replaced a newer one: %q", m.CommitStatus)
	}
	if n, err := db.RetireInactive(ctx, now.Add(-ActiveWindow)); err != nil || n != 1 {
		t.Errorf("retired %d, %v; want oIdle", n, err)
	}
	if m, _ := db.Member(ctx, mall, "oIdle"); !m.ActiveAt.IsZero() {
		t.Errorf("oIdle is still active: %v", m.ActiveAt)
	}
	if _, err := db.LastSync(ctx, mall, "oOld"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the last sync of a member without payments: %v", err)
	}
}

func testFeedColumns(t *testing.T, ctx context.Context, db *DB) {
	payment(t, db, "oA", "4200000001", 10, time.Now().Add(-time.Minute))
	payment(t, db, "oA", "4200000002", 20, time.Now())
	inTx(t, db, func(tx *Tx) error {
		return tx.SetCRMFields(ctx, mall, "oA", CRMFields{MemberID: ptr("M001"), UnionID: ptr("U001"), Phone: ptr("13812345678")})
	})
	list, err := db.EntriesAfter(ctx, nil, "", 0, 10)
	if err != nil || len(list) != 2 {
		t.Fatalf("feed %+v, %v", list, err)
	}
	if f := list[1]; f.Amount != 2000 || f.MemberID != "M001" || f.UnionID != "U001" || f.TransactionID != "4200000002" {
		t.Errorf("feed entry %+v", f)
	}
	l, err := db.LastSync(ctx, mall, "oA")
	if err != nil || l.TransactionID != "4200000002" || l.State != SyncPending {
		t.Errorf("last sync %+v, %v", l, err)
	}
}

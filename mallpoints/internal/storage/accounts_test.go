package storage

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

func testAccountNameTakenOnce(t *testing.T, ctx context.Context, db *DB) {
	if ok, err := db.HasAccounts(ctx); err != nil || ok {
		t.Fatalf("a new database has accounts: %v, %v", ok, err)
	}
	a := Account{Name: "li.na", Role: "operator", Malls: []string{"1900000109", "1900000110"}, PasswordHash: "$argon2id$x", Lang: "zh-CN"}
	if ok, err := db.InsertAccount(ctx, &a); err != nil || !ok {
		t.Fatalf("insert: %v, %v", ok, err)
	}
	got, err := db.Account(ctx, "li.na")
	if err != nil || got.Role != "operator" || !reflect.DeepEqual(got.Malls, a.Malls) || got.PasswordHash != a.PasswordHash ||
		got.Lang != "zh-CN" || got.Disabled || got.CreatedAt.IsZero() {
		t.Errorf("read back: %+v, %v", got, err)
	}
	if ok, err := db.HasAccounts(ctx); err != nil || !ok {
		t.Errorf("accounts exist: %v, %v", ok, err)
	}
	if _, err := db.DisableAccount(ctx, "li.na"); err != nil {
		t.Fatal(err)
	}
	again := Account{Name: "li.na", Role: "admin"}
	if ok, err := db.InsertAccount(ctx, &again); err != nil || ok {
		t.Errorf("a second account of a disabled one's name: inserted %v, %v", ok, err)
	}
	if got, _ := db.Account(ctx, "li.na"); got.Role != "operator" || !got.Disabled {
		t.Errorf("the first account changed: %+v", got)
	}
	unscoped := Account{Name: "ops", Role: "viewer"}
	if _, err := db.InsertAccount(ctx, &unscoped); err != nil {
		t.Fatal(err)
	}
	list, err := db.Accounts(ctx, time.Now())
	if err != nil || len(list) != 2 || list[0].Name != "li.na" || list[1].Name != "ops" || list[1].Malls != nil {
		t.Errorf("list: %+v, %v", list, err)
	}
	if _, err := db.Account(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("an unknown account: %v, want ErrNotFound", err)
	}
	// The console's language, chosen by the account; "" is the browser's.
	if before, ok, err := db.SetAccountLang(ctx, "ops", "zh-CN"); err != nil || !ok || before != "" {
		t.Errorf("set a language: %q, %v, %v", before, ok, err)
	}
	if before, ok, err := db.SetAccountLang(ctx, "ops", ""); err != nil || !ok || before != "zh-CN" {
		t.Errorf("back to the browser's: %q, %v, %v", before, ok, err)
	}
	if _, ok, err := db.SetAccountLang(ctx, "nobody", "en"); err != nil || ok {
		t.Errorf("an unknown account's language: %v, %v", ok, err)
	}
}

func testSessionsAndTokens(t *testing.T, ctx context.Context, db *DB) {
	for _, name := range []string{"a", "b"} {
		if _, err := db.InsertAccount(ctx, &Account{Name: name, Role: "viewer"}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := db.InsertSession(ctx, Session{IDHash: "old", Account: "a", CreatedAt: now.Add(-13 * time.Hour), ExpiresAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := db.InsertSession(ctx, Session{IDHash: "s1", Account: "a", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	s, a, err := db.SessionAccount(ctx, "s1", now)
	if err != nil || s.Account != "a" || a.Name != "a" || !s.ExpiresAt.Equal(now.Add(time.Hour)) || !s.LastSeen.Equal(now) {
		t.Errorf("session: %+v %+v, %v", s, a, err)
	}
	if _, _, err := db.SessionAccount(ctx, "s1", now.Add(time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Errorf("an expired session: %v, want ErrNotFound", err)
	}
	// The expired session was deleted when the new one was made.
	if _, _, err := db.SessionAccount(ctx, "old", now.Add(-2*time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Errorf("an expired session is kept: %v", err)
	}
	if err := db.TouchSession(ctx, "s1", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := db.SessionAccount(ctx, "s1", now); !s.LastSeen.Equal(now.Add(time.Minute)) {
		t.Errorf("last seen %v after the touch", s.LastSeen)
	}
	if err := db.InsertToken(ctx, APIToken{Hash: "t1", Prefix: "mpt_abcd", Account: "b", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	tok, a, err := db.TokenAccount(ctx, "t1")
	if err != nil || tok.Prefix != "mpt_abcd" || a.Name != "b" || !tok.LastUsed.IsZero() {
		t.Errorf("token: %+v %+v, %v", tok, a, err)
	}
	if err := db.TouchToken(ctx, "t1", now); err != nil {
		t.Fatal(err)
	}
	if tok, _, _ := db.TokenAccount(ctx, "t1"); !tok.LastUsed.Equal(now) {
		t.Errorf("last used %v after the touch", tok.LastUsed)
	}
	if _, _, err := db.TokenAccount(ctx, "t2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("an unknown token: %v", err)
	}
	list, err := db.Accounts(ctx, now)
	if err != nil || list[0].Sessions != 1 || list[0].Tokens != 0 || list[1].Tokens != 1 || !list[1].LastSeen.Equal(now) {
		t.Errorf("list: %+v, %v", list, err)
	}
	if err := db.DeleteSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.SessionAccount(ctx, "s1", now); !errors.Is(err, ErrNotFound) {
		t.Errorf("a session signed out: %v", err)
	}
}

func testAccountRevocation(t *testing.T, ctx context.Context, db *DB) {
	now := time.Now()
	for _, name := range []string{"disabled", "reset", "other"} {
		if _, err := db.InsertAccount(ctx, &Account{Name: name, Role: "operator", PasswordHash: "h0"}); err != nil {
			t.Fatal(err)
		}
		if err := db.InsertSession(ctx, Session{IDHash: "s-" + name, Account: name, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := db.InsertToken(ctx, APIToken{Hash: "t-" + name, Prefix: "mpt_", Account: name, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := db.DisableAccount(ctx, "disabled"); err != nil || !ok {
		t.Fatalf("disable: %v, %v", ok, err)
	}
	if ok, err := db.ResetAccount(ctx, "reset", "h1"); err != nil || !ok {
		t.Fatalf("reset: %v, %v", ok, err)
	}
	for _, name := range []string{"disabled", "reset"} {
		if _, _, err := db.SessionAccount(ctx, "s-"+name, now); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: its session still leads to it: %v", name, err)
		}
		if _, _, err := db.TokenAccount(ctx, "t-"+name); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: its token still leads to it: %v", name, err)
		}
	}
	if _, _, err := db.SessionAccount(ctx, "s-other", now); err != nil {
		t.Errorf("another account's session ended too: %v", err)
	}
	if _, _, err := db.TokenAccount(ctx, "t-other"); err != nil {
		t.Errorf("another account's token ended too: %v", err)
	}
	if a, _ := db.Account(ctx, "reset"); a.PasswordHash != "h1" || a.Disabled {
		t.Errorf("after the reset: %+v", a)
	}
	// A reset enables a disabled account again, with its new password.
	if ok, err := db.ResetAccount(ctx, "disabled", "h2"); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if a, _ := db.Account(ctx, "disabled"); a.Disabled || a.PasswordHash != "h2" {
		t.Errorf("a disabled account after a reset: %+v", a)
	}
	if ok, err := db.DisableAccount(ctx, "nobody"); err != nil || ok {
		t.Errorf("disabling an unknown account: %v, %v", ok, err)
	}
	// An account disabled while a session row remains (another replica
	// writing it at that moment) is refused by the join alone.
	if err := db.InsertSession(ctx, Session{IDHash: "s-late", Account: "other", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.exec(ctx, `UPDATE accounts SET disabled = TRUE WHERE name = 'other'`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.SessionAccount(ctx, "s-late", now); !errors.Is(err, ErrNotFound) {
		t.Errorf("a disabled account's session: %v", err)
	}
}

package accounts

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/pgtest"
)

// openDB opens dsn migrated, closed when the test ends.
func openDB(t *testing.T, dsn string) *storage.DB {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// forEachEngine runs fn on SQLite and, when a server is reachable, on
// PostgreSQL, with the dsn of a database of the test's own.
func forEachEngine(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Parallel()
	dsns := map[string]func(t *testing.T) string{"sqlite": func(t *testing.T) string { return filepath.Join(t.TempDir(), "mallpoints.db") }}
	if base, ok := pgtest.Optional(t); ok {
		dsns["postgres"] = func(t *testing.T) string { return pgtest.NewDatabase(t, base, "accounts_test") }
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, dsn(t))
		})
	}
}

const password = "correct horse battery"

func TestAPasswordIsStoredAsArgon2idWithOWASPsParametersAndChecked(t *testing.T) {
	t.Parallel()
	s := New(Config{})
	ctx := context.Background()
	h1, err := s.hashPassword(ctx, password)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := s.hashPassword(ctx, password)
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=19456,t=2,p=1$") || h1 == h2 {
		t.Errorf("hashes %q and %q: want argon2id at m=19456,t=2,p=1, each with its own salt", h1, h2)
	}
	for _, c := range []struct {
		password, hash string
		ok             bool
		err            error
	}{
		{password, h1, true, nil},
		{password, h2, true, nil},
		{password + " ", h1, false, nil},
		{"", h1, false, nil},
		{password, "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA", false, errBadHash},
		{password, "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA", false, errBadHash},
		{password, "plain text", false, errBadHash},
		{password, "", false, errBadHash},
	} {
		ok, err := s.checkPassword(ctx, c.password, c.hash)
		if ok != c.ok || !errors.Is(err, c.err) {
			t.Errorf("check %q against %q: %v, %v; want %v, %v", c.password, c.hash, ok, err, c.ok, c.err)
		}
	}
}

func TestHashingWaitsForAFreeSlotAndGivesUpWithItsContext(t *testing.T) {
	t.Parallel()
	s := New(Config{MaxHashing: 1})
	s.hashing <- struct{}{} // the one slot is taken
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.hashPassword(ctx, password); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hashing with every slot taken: %v, want the context's deadline", err)
	}
	<-s.hashing
	if _, err := s.hashPassword(context.Background(), password); err != nil {
		t.Errorf("hashing once the slot is free: %v", err)
	}
}

func TestNamesMallsAndPasswordsAreChecked(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"li.na", true}, {"ops@mall-1", true}, {"A_1", true},
		{"", false}, {".hidden", false}, {"two words", false}, {"token", false}, {"local", false},
		{strings.Repeat("a", 65), false}, {"名字", false},
	} {
		if err := CheckName(c.name); (err == nil) != c.ok {
			t.Errorf("name %q: %v, want ok %v", c.name, err, c.ok)
		}
	}
	for _, c := range []struct {
		list string
		want []string
		ok   bool
	}{
		{"", nil, true},
		{"1900000110, 1900000109,1900000110", []string{"1900000109", "1900000110"}, true},
		{"1900000109,mall", nil, false},
		{"1900000109;1900000110", nil, false},
	} {
		got, err := ParseMalls(c.list)
		if (err == nil) != c.ok || (c.ok && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("malls %q: %v, %v; want %v (ok %v)", c.list, got, err, c.want, c.ok)
		}
	}
	s := New(Config{DB: openDB(t, filepath.Join(t.TempDir(), "m.db"))})
	ctx := context.Background()
	for i, c := range []struct {
		role     Role
		password string
		ok       bool
	}{
		{Viewer, "short", false},
		{Viewer, "", false},
		{Viewer, strings.Repeat("x", MinPassword), true},
		{App, "", true},
		{App, password, false},
		{"root", password, false},
	} {
		err := s.Add(ctx, fmt.Sprint("user", i), c.role, nil, c.password)
		if (err == nil) != c.ok {
			t.Errorf("a %s with a password of %d bytes: %v, want ok %v", c.role, len(c.password), err, c.ok)
		}
	}
}

func TestSignInChecksThePasswordOfAnEnabledPersonsAccount(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := New(Config{DB: openDB(t, dsn)})
		if ok, _ := s.Exist(ctx); ok {
			t.Fatal("a new database has accounts")
		}
		if err := s.Add(ctx, "li.na", Operator, []string{"1900000109"}, password); err != nil {
			t.Fatal(err)
		}
		if err := s.Add(ctx, "li.na", Viewer, nil, password); !errors.Is(err, ErrNameTaken) {
			t.Errorf("a second li.na: %v, want ErrNameTaken", err)
		}
		for _, name := range []string{"gone", "crm"} {
			role, pw := Viewer, password
			if name == "crm" {
				role, pw = App, ""
			}
			if err := s.Add(ctx, name, role, nil, pw); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Disable(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ why, name, password string }{
			{"a wrong password", "li.na", "correct horse battery!"},
			{"an unknown name", "nobody", password},
			{"a disabled account", "gone", password},
			{"an app account, which has tokens only", "crm", ""},
		} {
			if _, _, err := s.SignIn(ctx, c.name, c.password); !errors.Is(err, ErrSignIn) {
				t.Errorf("%s: %v, want ErrSignIn", c.why, err)
			}
		}
		sess, p, err := s.SignIn(ctx, "li.na", password)
		if err != nil || p.Name != "li.na" || p.Role != Operator || !reflect.DeepEqual(p.Malls, []string{"1900000109"}) {
			t.Fatalf("sign-in: %+v, %v", p, err)
		}
		if got, err := s.Session(ctx, sess.ID); err != nil || !reflect.DeepEqual(got, p) {
			t.Errorf("the session: %+v, %v; want %+v", got, err, p)
		}
		if err := s.SignOut(ctx, sess.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, sess.ID); !errors.Is(err, ErrCredential) {
			t.Errorf("a session signed out: %v", err)
		}
		if ok, _ := s.Exist(ctx); !ok {
			t.Error("accounts exist, but Exist says not")
		}
	})
}

func TestASessionEndsWhenItsLifetimeHasPassed(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	s := New(Config{DB: openDB(t, filepath.Join(t.TempDir(), "m.db")), SessionLifetime: time.Hour, Now: func() time.Time { return now }})
	ctx := context.Background()
	if err := s.Add(ctx, "li.na", Viewer, nil, password); err != nil {
		t.Fatal(err)
	}
	sess, _, err := s.SignIn(ctx, "li.na", password)
	if err != nil || !sess.Expires.Equal(now.Add(time.Hour)) {
		t.Fatalf("sign-in: %+v, %v", sess, err)
	}
	now = now.Add(time.Hour - time.Second)
	if _, err := s.Session(ctx, sess.ID); err != nil {
		t.Errorf("a second before it ends: %v", err)
	}
	now = now.Add(time.Second)
	if _, err := s.Session(ctx, sess.ID); !errors.Is(err, ErrCredential) {
		t.Errorf("at its end: %v, want ErrCredential", err)
	}
}

// Two services on one database are two replicas: what one revokes, the
// other refuses on the next request.
func TestDisablingOrResettingEndsSessionsAndTokensOnEveryReplica(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		one, two := New(Config{DB: openDB(t, dsn)}), New(Config{DB: openDB(t, dsn)})
		for _, c := range []struct {
			name   string
			revoke func() error
		}{
			{"disabled", func() error { return one.Disable(ctx, "disabled") }},
			{"reset", func() error { return one.Reset(ctx, "reset", "a new password of some length") }},
		} {
			if err := one.Add(ctx, c.name, Admin, nil, password); err != nil {
				t.Fatal(err)
			}
			sess, _, err := one.SignIn(ctx, c.name, password)
			if err != nil {
				t.Fatal(err)
			}
			token, err := one.NewToken(ctx, c.name)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(token, TokenPrefix) || len(token) != len(TokenPrefix)+43 {
				t.Errorf("token %q: want %s and 32 bytes of base64url", token, TokenPrefix)
			}
			if p, err := two.Token(ctx, token); err != nil || p.Name != c.name {
				t.Fatalf("the token at the other replica: %+v, %v", p, err)
			}
			if _, err := two.Session(ctx, sess.ID); err != nil {
				t.Fatalf("the session at the other replica: %v", err)
			}
			if err := c.revoke(); err != nil {
				t.Fatal(err)
			}
			if _, err := two.Token(ctx, token); !errors.Is(err, ErrCredential) {
				t.Errorf("%s: its token at the other replica: %v, want ErrCredential", c.name, err)
			}
			if _, err := two.Session(ctx, sess.ID); !errors.Is(err, ErrCredential) {
				t.Errorf("%s: its session at the other replica: %v, want ErrCredential", c.name, err)
			}
		}
		if _, _, err := two.SignIn(ctx, "reset", password); !errors.Is(err, ErrSignIn) {
			t.Errorf("the old password after a reset: %v", err)
		}
		if _, _, err := two.SignIn(ctx, "reset", "a new password of some length"); err != nil {
			t.Errorf("the new password after a reset: %v", err)
		}
		if _, err := one.NewToken(ctx, "disabled"); !errors.Is(err, ErrDisabled) {
			t.Errorf("a token for a disabled account: %v", err)
		}
		if _, err := one.NewToken(ctx, "nobody"); !errors.Is(err, ErrNoAccount) {
			t.Errorf("a token for no account: %v", err)
		}
		for _, tok := range []string{"", "mpt_", "mpt_unknown", "Bearer x", strings.Repeat("m", 4096)} {
			if _, err := two.Token(ctx, tok); !errors.Is(err, ErrCredential) {
				t.Errorf("token %.12q: %v, want ErrCredential", tok, err)
			}
		}
	})
}

func TestAnUnscopedEnabledAdminIsWhatServesWithoutTheAdminToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := New(Config{DB: openDB(t, filepath.Join(t.TempDir(), "m.db"))})
	steps := []struct {
		do   func() error
		want bool
	}{
		{func() error { return s.Add(ctx, "viewer", Viewer, nil, password) }, false},
		{func() error { return s.Add(ctx, "mall-admin", Admin, []string{"1900000109"}, password) }, false},
		{func() error { return s.Add(ctx, "root", Admin, nil, password) }, true},
		{func() error { return s.Disable(ctx, "root") }, false},
		{func() error { return s.Reset(ctx, "root", password) }, true},
	}
	for i, step := range steps {
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		if got, err := s.UnscopedAdmin(ctx); err != nil || got != step.want {
			t.Errorf("step %d: %v, %v; want %v", i, got, err, step.want)
		}
	}
}

func BenchmarkHashPassword(b *testing.B) {
	s := New(Config{})
	for b.Loop() {
		if _, err := s.hashPassword(context.Background(), password); err != nil {
			b.Fatal(err)
		}
	}
}

// An account keeps the console's language it chose, and its sessions and
// tokens carry it from then on.
func TestAnAccountKeepsItsLanguageAndItsSessionsCarryIt(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := New(Config{DB: openDB(t, dsn)})
		if err := s.Add(ctx, "li.na", Viewer, nil, password); err != nil {
			t.Fatal(err)
		}
		sess, p, err := s.SignIn(ctx, "li.na", password)
		if err != nil || p.Lang != "" {
			t.Fatalf("sign-in: %+v, %v", p, err)
		}
		for _, bad := range []string{"中文", "zh_CN", "<script>", strings.Repeat("a", 40)} {
			if _, err := s.SetLang(ctx, "li.na", bad); err == nil {
				t.Errorf("language %q taken", bad)
			}
		}
		if _, err := s.SetLang(ctx, "nobody", "en"); !errors.Is(err, ErrNoAccount) {
			t.Errorf("an unknown account: %v, want ErrNoAccount", err)
		}
		if before, err := s.SetLang(ctx, "li.na", "zh-CN"); err != nil || before != "" {
			t.Fatalf("set zh-CN: %q, %v", before, err)
		}
		if got, err := s.Session(ctx, sess.ID); err != nil || got.Lang != "zh-CN" {
			t.Errorf("the session after the choice: %+v, %v", got, err)
		}
	})
}

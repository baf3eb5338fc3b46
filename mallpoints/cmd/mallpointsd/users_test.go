package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/pgtest"
)

// users runs `mallpointsd users args…` with stdin and returns the exit
// code, stdout and stderr.
func users(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errs testkit.Buffer
	code := usersCommand(context.Background(), args, func(string) string { return "" }, strings.NewReader(stdin), &out, &errs)
	return code, out.String(), errs.String()
}

// migratedDB makes a migrated SQLite database, as a started service leaves it.
func migratedDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mallpoints.db")
	db, err := storage.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUsersCommandsNeverCreateADatabase(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "none.db")
	for _, args := range [][]string{
		{"list", "--db", missing},
		{"add", "li.na", "--role", "viewer", "--db", missing},
		{"token", "crm", "--db", missing},
	} {
		code, _, errs := users(t, "a password of some length\n", args...)
		if code != 1 || !strings.Contains(errs, "no database at "+missing) {
			t.Errorf("%v: exit %d, %q; want 1 naming the missing database", args, code, errs)
		}
		if _, err := os.Stat(missing); err == nil {
			t.Fatalf("%v made a database", args)
		}
	}
	// An empty file, or a PostgreSQL database, without the service's tables.
	empty := filepath.Join(t.TempDir(), "empty.db")
	os.WriteFile(empty, nil, 0o600)
	dsns := []string{empty}
	if base, ok := pgtest.Optional(t); ok {
		dsns = append(dsns, pgtest.NewDatabase(t, base, "users_test"))
	}
	for _, dsn := range dsns {
		code, _, errs := users(t, "", "list", "--db", dsn)
		if code != 1 || !strings.Contains(errs, "start this version of mallpointsd on it once") {
			t.Errorf("%s: exit %d, %q; want 1 saying to start the service on it", dsn, code, errs)
		}
		db, err := storage.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.HasAccounts(context.Background()); err == nil {
			t.Errorf("%s: the accounts table was made", dsn)
		}
		db.Close()
	}
}

func TestUsersAddListDisableResetAndToken(t *testing.T) {
	t.Parallel()
	dsn := migratedDB(t)
	code, out, errs := users(t, "a password of some length\n", "add", "li.na", "--role", "operator", "--malls", "1900000110,1900000109", "--password-stdin", "--db", dsn)
	if code != 0 || !strings.Contains(out, "account li.na added: operator of malls 1900000109, 1900000110") || strings.Contains(out, "password") {
		t.Fatalf("add with a password from stdin: exit %d, %q %q", code, out, errs)
	}
	code, out, _ = users(t, "", "add", "--db", dsn, "--role", "admin", "root")
	made := regexp.MustCompile(`password \(shown once\): (\S+)`).FindStringSubmatch(out)
	if code != 0 || made == nil {
		t.Fatalf("add with a password made: exit %d, %q", code, out)
	}
	if code, out, _ = users(t, "", "add", "crm", "--role", "app", "--db", dsn); code != 0 || !strings.Contains(out, "users token crm") {
		t.Errorf("add an app account: exit %d, %q", code, out)
	}
	code, token, errs := users(t, "", "token", "crm", "--db", dsn)
	token = strings.TrimSpace(token)
	if code != 0 || !strings.HasPrefix(token, accounts.TokenPrefix) || !strings.Contains(errs, "shown once") {
		t.Fatalf("token: exit %d, %q %q", code, token, errs)
	}
	db, err := storage.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := accounts.New(accounts.Config{DB: db})
	ctx := context.Background()
	if p, err := svc.Token(ctx, token); err != nil || p.Name != "crm" || p.Role != accounts.App {
		t.Errorf("the printed token: %+v, %v", p, err)
	}
	if _, p, err := svc.SignIn(ctx, "root", made[1]); err != nil || p.Role != accounts.Admin {
		t.Errorf("the printed password: %+v, %v", p, err)
	}
	if _, _, err := svc.SignIn(ctx, "li.na", "a password of some length"); err != nil {
		t.Errorf("the password from stdin: %v", err)
	}
	code, out, _ = users(t, "", "list", "--db", dsn)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^crm\s+app\s+all\s+enabled\s+1\s+0\s`),
		regexp.MustCompile(`(?m)^li\.na\s+operator\s+1900000109,1900000110\s+enabled\s+0\s+1\s`),
		regexp.MustCompile(`(?m)^root\s+admin\s+all\s+enabled\s+0\s+1\s`),
	} {
		if code != 0 || !want.MatchString(out) {
			t.Errorf("list: exit %d, no line %s in\n%s", code, want, out)
		}
	}
	if code, out, _ = users(t, "", "disable", "crm", "--db", dsn); code != 0 || !strings.Contains(out, "disabled") {
		t.Errorf("disable: exit %d, %q", code, out)
	}
	if _, err := svc.Token(ctx, token); err == nil {
		t.Error("the token of a disabled account still works")
	}
	if code, out, _ = users(t, "another password, long\n", "reset", "li.na", "--password-stdin", "--db", dsn); code != 0 || !strings.Contains(out, "reset") {
		t.Errorf("reset: exit %d, %q", code, out)
	}
	if _, _, err := svc.SignIn(ctx, "li.na", "another password, long"); err != nil {
		t.Errorf("the new password: %v", err)
	}
	for _, c := range []struct {
		args []string
		code int
		errs string
	}{
		{[]string{"add", "li.na", "--role", "viewer", "--db", dsn}, 1, "exists"},
		{[]string{"add", "x", "--role", "root", "--db", dsn}, 1, "no role"},
		{[]string{"add", "x", "--role", "viewer", "--malls", "mall-1", "--db", dsn}, 1, "digits"},
		{[]string{"add", "token", "--role", "viewer", "--db", dsn}, 1, "choose another"},
		{[]string{"add", "x", "--role", "app", "--password-stdin", "--db", dsn}, 1, "no password"},
		{[]string{"add", "x", "--db", dsn}, 2, "usage"},
		{[]string{"disable", "nobody", "--db", dsn}, 1, "no such account"},
		{[]string{"token", "--db", dsn}, 2, "usage"},
		{[]string{"list", "extra", "--db", dsn}, 2, "usage"},
		{[]string{"token", "crm", "--role", "admin", "--db", dsn}, 2, "--role does not go with it"},
		{[]string{"remove", "crm", "--db", dsn}, 2, "usage"},
		{nil, 2, "usage"},
	} {
		code, _, errs := users(t, "short\n", c.args...)
		if code != c.code || !strings.Contains(errs, c.errs) {
			t.Errorf("%v: exit %d, %q; want %d naming %q", c.args, code, errs, c.code, c.errs)
		}
	}
}

func TestUsersReadsTheDatabaseFromTheEnvironmentAsTheServiceDoes(t *testing.T) {
	t.Parallel()
	dsn := migratedDB(t)
	var out, errs testkit.Buffer
	env := map[string]string{"MALLPOINTS_DB": dsn}
	code := run(context.Background(), []string{"users", "list"}, func(k string) string { return env[k] }, nil, &out, &errs)
	if code != 0 || !strings.HasPrefix(out.String(), "name") {
		t.Errorf("exit %d, %q %q", code, out.String(), errs.String())
	}
}

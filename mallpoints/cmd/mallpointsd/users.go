package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// usersUsage is the help of `mallpointsd users`.
const usersUsage = `usage: mallpointsd users COMMAND [--db PATH|URL]

  add NAME --role admin|operator|viewer|app [--malls MCHID,…] [--password-stdin]
                    an account; --malls confines it to those malls. A person's
                    password is read from standard input (one line), or made
                    and printed once. An app account has no password: give it
                    a token.
  list              the accounts, with their tokens and when they were last seen
  disable NAME      the account can do nothing more; its sessions and tokens end
  reset NAME [--password-stdin]
                    a new password (made and printed once without
                    --password-stdin), the account enabled again; its sessions
                    and tokens end
  token NAME        a new personal API token, printed once: send it as
                    Authorization: Bearer <token>

--db is the service's database (MALLPOINTS_DB; default ./mallpoints.db), a
SQLite file or a postgres:// URL. It must exist and be migrated: start
mallpointsd on it once first. No command creates one.
`

// usersCommand runs `mallpointsd users …` and returns the exit code: 0, 1
// for a command that failed, 2 for a wrong command line.
func usersCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usersUsage)
		return 2
	}
	cmd := args[0]
	fs := flag.NewFlagSet("mallpointsd users "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usersUsage) }
	db := fs.String("db", "", "")
	role := fs.String("role", "", "")
	malls := fs.String("malls", "", "")
	fromStdin := fs.Bool("password-stdin", false, "")
	// The name may come before or after the flags.
	var names []string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	wantName := cmd != "list"
	allowed := map[string][]string{"add": {"db", "role", "malls", "password-stdin"}, "list": {"db"},
		"disable": {"db"}, "reset": {"db", "password-stdin"}, "token": {"db"}}
	flags, known := allowed[cmd]
	if !known || (wantName && len(names) != 1) || (!wantName && len(names) != 0) || (cmd == "add" && *role == "") {
		fmt.Fprint(stderr, usersUsage)
		return 2
	}
	for name := range given {
		if !strings.Contains(" "+strings.Join(flags, " ")+" ", " "+name+" ") {
			fmt.Fprintf(stderr, "mallpointsd users %s: --%s does not go with it\n", cmd, name)
			return 2
		}
	}
	if *db == "" {
		*db = getenv("MALLPOINTS_DB")
	}
	if *db == "" {
		*db = "./mallpoints.db"
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "mallpointsd users %s: %v\n", cmd, err)
		return 1
	}
	store, err := openExisting(ctx, *db)
	if err != nil {
		return fail(err)
	}
	defer store.Close()
	svc := accounts.New(accounts.Config{DB: store})
	var name string
	if wantName {
		name = names[0]
	}
	switch cmd {
	case "add":
		r, err := accounts.ParseRole(*role)
		if err != nil {
			return fail(err)
		}
		scope, err := accounts.ParseMalls(*malls)
		if err != nil {
			return fail(err)
		}
		password, made, err := newPassword(r, *fromStdin, stdin)
		if err != nil {
			return fail(err)
		}
		if err := svc.Add(ctx, name, r, scope, password); err != nil {
			return fail(err)
		}
		where := "every mall"
		if len(scope) > 0 {
			where = "malls " + strings.Join(scope, ", ")
		}
		fmt.Fprintf(stdout, "account %s added: %s of %s\n", name, r, where)
		if made {
			fmt.Fprintf(stdout, "password (shown once): %s\n", password)
		}
		if r == accounts.App {
			fmt.Fprintf(stdout, "give it a token: mallpointsd users token %s\n", name)
		}
	case "list":
		list, err := svc.List(ctx)
		if err != nil {
			return fail(err)
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "name\trole\tmalls\tstate\ttokens\tsessions\tlast seen\tcreated")
		for _, a := range list {
			state, where, seen := "enabled", "all", "never"
			if a.Disabled {
				state = "disabled"
			}
			if len(a.Malls) > 0 {
				where = strings.Join(a.Malls, ",")
			}
			if !a.LastSeen.IsZero() {
				seen = a.LastSeen.Local().Format(time.DateTime)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", a.Name, a.Role, where, state, a.Tokens, a.Sessions,
				seen, a.CreatedAt.Local().Format(time.DateTime))
		}
		w.Flush()
	case "disable":
		if err := svc.Disable(ctx, name); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "account %s disabled; its sessions and tokens are ended\n", name)
	case "reset":
		a, err := store.Account(ctx, name)
		if errors.Is(err, storage.ErrNotFound) {
			return fail(accounts.ErrNoAccount)
		}
		if err != nil {
			return fail(err)
		}
		password, made, err := newPassword(accounts.Role(a.Role), *fromStdin, stdin)
		if err != nil {
			return fail(err)
		}
		if err := svc.Reset(ctx, name, password); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "account %s reset and enabled; its sessions and tokens are ended\n", name)
		if made {
			fmt.Fprintf(stdout, "password (shown once): %s\n", password)
		}
	case "token":
		token, err := svc.NewToken(ctx, name)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stderr, "a personal API token of %s, shown once; send it as Authorization: Bearer <token>\n", name)
		fmt.Fprintln(stdout, token)
	}
	return 0
}

// openExisting opens the service's database without creating it: a SQLite
// file must exist, and either engine must hold the service's tables at
// this version.
func openExisting(ctx context.Context, dsn string) (*storage.DB, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		if _, err := os.Stat(dsn); err != nil {
			return nil, fmt.Errorf("no database at %s (give the service's with --db or MALLPOINTS_DB; "+
				"start mallpointsd once to make a new one): %w", dsn, err)
		}
	}
	db, err := storage.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := db.MigrationsCurrent(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("the database at %s does not have this version's tables (accounts among them): "+
			"start this version of mallpointsd on it once, which migrates it (%w)", redactDSN(dsn), err)
	}
	return db, nil
}

// newPassword is an account's new password: none for an app account, one
// line of stdin with --password-stdin, else one made at random (made true).
func newPassword(role accounts.Role, fromStdin bool, stdin io.Reader) (password string, made bool, err error) {
	switch {
	case role == accounts.App && fromStdin:
		return "", false, errors.New("an app account has no password: it uses personal API tokens")
	case role == accounts.App:
		return "", false, nil
	case fromStdin:
		line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, fmt.Errorf("read the password from standard input: %w", err)
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			return "", false, errors.New("standard input holds no password (one line is read)")
		}
		return line, false, nil
	}
	// 26 characters of base32: 130 bits.
	return rand.Text(), true, nil
}

package storage

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Account is a person or a program with access to the admin surface.
type Account struct {
	Name string `json:"name"`
	Role string `json:"role"` // admin, operator, viewer or app
	// Malls are the mchids the account is confined to; empty: every mall.
	Malls []string `json:"malls,omitempty"`
	// PasswordHash is argon2id in the PHC string form; "" for an app
	// account, which has personal API tokens only.
	PasswordHash string    `json:"-"`
	Disabled     bool      `json:"disabled,omitempty"`
	Lang         string    `json:"lang,omitempty"` // the console's language; "": the browser's
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// AccountSummary is an account as the list of accounts shows it.
type AccountSummary struct {
	Account
	Tokens   int       `json:"tokens"`             // its personal API tokens
	Sessions int       `json:"sessions"`           // its sessions not yet expired
	LastSeen time.Time `json:"last_seen,omitzero"` // its newest use of a session or a token
}

// Session is a browser's sign-in. IDHash is the hex SHA-256 of the id the
// cookie carries.
type Session struct {
	IDHash    string
	Account   string
	CreatedAt time.Time
	ExpiresAt time.Time
	LastSeen  time.Time
}

// APIToken is a personal API token. Hash is the hex SHA-256 of the token;
// Prefix its first characters, which tell tokens apart.
type APIToken struct {
	Hash      string
	Prefix    string
	Account   string
	CreatedAt time.Time
	LastUsed  time.Time
}

const (
	accountColumns = `a.name, a.role, a.malls, a.password_hash, a.disabled, a.lang, a.created_at, a.updated_at`
	// liveAccount keeps the sessions and tokens of enabled accounts.
	liveAccount = ` JOIN accounts a ON a.name = x.account AND a.disabled = FALSE`
)

// accountDest returns scan destinations for accountColumns and a function
// that finishes a once scanned.
func accountDest(a *Account) ([]any, func()) {
	var malls string
	var created, updated int64
	return []any{&a.Name, &a.Role, &malls, &a.PasswordHash, &a.Disabled, &a.Lang, &created, &updated}, func() {
		a.Malls = splitMalls(malls)
		a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	}
}

// splitMalls reads the malls column: mchids separated by commas.
func splitMalls(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// InsertAccount writes a new account and reports false, writing nothing,
// when its name is taken (also by a disabled account).
func (db *DB) InsertAccount(ctx context.Context, a *Account) (bool, error) {
	now := time.Now().UTC()
	a.CreatedAt, a.UpdatedAt = now, now
	n, err := db.exec(ctx, `INSERT INTO accounts (name, role, malls, password_hash, disabled, lang, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (name) DO NOTHING`,
		a.Name, a.Role, strings.Join(a.Malls, ","), a.PasswordHash, a.Disabled, a.Lang, micros(now))
	if err != nil {
		return false, fmt.Errorf("storage: insert account: %w", err)
	}
	return n == 1, nil
}

// Account reads one account; ErrNotFound when there is none.
func (db *DB) Account(ctx context.Context, name string) (Account, error) {
	var a Account
	dest, finish := accountDest(&a)
	if err := db.queryRow(ctx, `SELECT `+accountColumns+` FROM accounts a WHERE a.name = $1`, name).Scan(dest...); err != nil {
		return a, noRows(err)
	}
	finish()
	return a, nil
}

// Accounts lists every account by name, with its tokens, its sessions and
// when it was last seen as of now.
func (db *DB) Accounts(ctx context.Context, now time.Time) ([]AccountSummary, error) {
	rs, err := db.query(ctx, `SELECT `+accountColumns+`,
		(SELECT COUNT(*) FROM api_tokens t WHERE t.account = a.name),
		(SELECT COUNT(*) FROM sessions s WHERE s.account = a.name AND s.expires_at > $1),
		(SELECT COALESCE(MAX(t.last_used_at), 0) FROM api_tokens t WHERE t.account = a.name),
		(SELECT COALESCE(MAX(s.last_seen_at), 0) FROM sessions s WHERE s.account = a.name)
		FROM accounts a ORDER BY a.name`, micros(now))
	if err != nil {
		return nil, fmt.Errorf("storage: accounts: %w", err)
	}
	return collect(rs, func(r row) (AccountSummary, error) {
		var s AccountSummary
		var tokenSeen, sessionSeen int64
		dest, finish := accountDest(&s.Account)
		if err := r.Scan(append(dest, &s.Tokens, &s.Sessions, &tokenSeen, &sessionSeen)...); err != nil {
			return s, err
		}
		finish()
		s.LastSeen = fromMicros(max(tokenSeen, sessionSeen))
		return s, nil
	})
}

// HasAccounts reports whether any account exists, disabled ones included.
func (db *DB) HasAccounts(ctx context.Context) (bool, error) {
	var n int
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM accounts LIMIT 1) a`).Scan(&n); err != nil {
		return false, fmt.Errorf("storage: accounts exist: %w", err)
	}
	return n > 0, nil
}

// DisableAccount disables an account and deletes its sessions and tokens,
// in one transaction; it reports false when there is no such account.
func (db *DB) DisableAccount(ctx context.Context, name string) (bool, error) {
	return db.changeAccount(ctx, name, `UPDATE accounts SET disabled = TRUE, updated_at = $2 WHERE name = $1`)
}

// ResetAccount gives an account a new password hash and enables it again,
// deleting its sessions and tokens, in one transaction; it reports false
// when there is no such account.
func (db *DB) ResetAccount(ctx context.Context, name, passwordHash string) (bool, error) {
	return db.changeAccount(ctx, name, `UPDATE accounts SET password_hash = $3, disabled = FALSE, updated_at = $2
		WHERE name = $1`, passwordHash)
}

// SetAccountLang sets an account's console language and returns the one
// it had; it reports false when there is no such account. Its sessions and
// tokens stay.
func (db *DB) SetAccountLang(ctx context.Context, name, lang string) (before string, found bool, err error) {
	err = db.InTx(ctx, func(tx *Tx) error {
		err := tx.queryRow(ctx, `SELECT lang FROM accounts WHERE name = $1`+tx.db.dialect.forUpdate, name).Scan(&before)
		if err = noRows(err); err == ErrNotFound {
			return nil
		} else if err != nil {
			return err
		}
		found = true
		_, err = tx.exec(ctx, `UPDATE accounts SET lang = $2, updated_at = $3 WHERE name = $1`, name, lang, micros(time.Now()))
		return err
	})
	if err != nil {
		return "", false, fmt.Errorf("storage: set account language: %w", err)
	}
	return before, found, nil
}

// changeAccount runs update ($1 the name, $2 the time, then args) and ends
// the account's sessions and tokens.
func (db *DB) changeAccount(ctx context.Context, name, update string, args ...any) (bool, error) {
	found := false
	err := db.InTx(ctx, func(tx *Tx) error {
		n, err := tx.exec(ctx, update, append([]any{name, micros(time.Now())}, args...)...)
		if err != nil || n == 0 {
			return err
		}
		found = true
		if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE account = $1`, name); err != nil {
			return err
		}
		_, err = tx.exec(ctx, `DELETE FROM api_tokens WHERE account = $1`, name)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("storage: change account: %w", err)
	}
	return found, nil
}

// InsertSession writes a new session, and deletes the sessions that expired
// before it was made, which keeps the table to the sessions in use.
func (db *DB) InsertSession(ctx context.Context, s Session) error {
	err := db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, micros(s.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO sessions (id_hash, account, created_at, expires_at, last_seen_at)
			VALUES ($1, $2, $3, $4, $3)`, s.IDHash, s.Account, micros(s.CreatedAt), micros(s.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: insert session: %w", err)
	}
	return nil
}

// SessionAccount reads the session whose id hashes to idHash and its
// account, if the session has not expired at now and the account is
// enabled; ErrNotFound otherwise.
func (db *DB) SessionAccount(ctx context.Context, idHash string, now time.Time) (Session, Account, error) {
	var s Session
	var a Account
	var created, expires, seen int64
	dest, finish := accountDest(&a)
	err := db.queryRow(ctx, `SELECT x.id_hash, x.account, x.created_at, x.expires_at, x.last_seen_at, `+accountColumns+`
		FROM sessions x`+liveAccount+` WHERE x.id_hash = $1 AND x.expires_at > $2`, idHash, micros(now)).
		Scan(append([]any{&s.IDHash, &s.Account, &created, &expires, &seen}, dest...)...)
	if err != nil {
		return s, a, noRows(err)
	}
	finish()
	s.CreatedAt, s.ExpiresAt, s.LastSeen = fromMicros(created), fromMicros(expires), fromMicros(seen)
	return s, a, nil
}

// TouchSession records that a session was used at now.
func (db *DB) TouchSession(ctx context.Context, idHash string, now time.Time) error {
	if _, err := db.exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1`, idHash, micros(now)); err != nil {
		return fmt.Errorf("storage: touch session: %w", err)
	}
	return nil
}

// DeleteSession ends a session (signing out).
func (db *DB) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := db.exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("storage: delete session: %w", err)
	}
	return nil
}

// InsertToken writes a new personal API token.
func (db *DB) InsertToken(ctx context.Context, t APIToken) error {
	_, err := db.exec(ctx, `INSERT INTO api_tokens (token_hash, prefix, account, created_at) VALUES ($1, $2, $3, $4)`,
		t.Hash, t.Prefix, t.Account, micros(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("storage: insert token: %w", err)
	}
	return nil
}

// TokenAccount reads the token whose SHA-256 is hash and its account, if
// the account is enabled; ErrNotFound otherwise.
func (db *DB) TokenAccount(ctx context.Context, hash string) (APIToken, Account, error) {
	var t APIToken
	var a Account
	var created, used int64
	dest, finish := accountDest(&a)
	err := db.queryRow(ctx, `SELECT x.token_hash, x.prefix, x.account, x.created_at, x.last_used_at, `+accountColumns+`
		FROM api_tokens x`+liveAccount+` WHERE x.token_hash = $1`, hash).
		Scan(append([]any{&t.Hash, &t.Prefix, &t.Account, &created, &used}, dest...)...)
	if err != nil {
		return t, a, noRows(err)
	}
	finish()
	t.CreatedAt, t.LastUsed = fromMicros(created), fromMicros(used)
	return t, a, nil
}

// TouchToken records that a token was used at now.
func (db *DB) TouchToken(ctx context.Context, hash string, now time.Time) error {
	if _, err := db.exec(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1`, hash, micros(now)); err != nil {
		return fmt.Errorf("storage: touch token: %w", err)
	}
	return nil
}

// Package accounts is who may use mallpointsd's admin surface: accounts
// with a role and optionally the malls they are confined to, their
// passwords (argon2id), their browser sessions and their personal API
// tokens, and the permission table that says what each role may do.
//
//	svc := accounts.New(accounts.Config{DB: db})
//	err := svc.Add(ctx, "li.na", accounts.Operator, []string{"1900000109"}, password)
//	token, err := svc.NewToken(ctx, "crm")      // shown once: mpt_…
//	p, err := svc.Token(ctx, token)             // on each request
//	if !p.Can(accounts.Adjust) || !p.Sees(mall) { … }
//
// Sessions and tokens are kept as their SHA-256 and read from the database
// on every request, so disabling an account or resetting its password ends
// them on every replica at once.
package accounts

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// Config is what a Service needs; every timing has a default.
type Config struct {
	DB *storage.DB
	// SessionLifetime is how long a sign-in lasts; zero means
	// DefaultSessionLifetime.
	SessionLifetime time.Duration
	// MaxHashing bounds the passwords hashed at once (each takes 19 MiB and
	// a core for tens of milliseconds); zero means as many as the process
	// has cores (GOMAXPROCS), at most MaxHashingDefault.
	MaxHashing int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultSessionLifetime is how long a sign-in lasts.
const DefaultSessionLifetime = 12 * time.Hour

// MaxHashingDefault bounds the passwords hashed at once by default, on
// machines of more cores: 4 × 19 MiB.
const MaxHashingDefault = 4

// touchEvery is how stale a session's last_seen or a token's last_used
// may be before a request writes it again: one write a minute per client,
// not one per request.
const touchEvery = time.Minute

// TokenPrefix starts every personal API token, so that one pasted where it
// should not be is recognised (by secret scanners too).
const TokenPrefix = "mpt_"

// tokenShown is how much of a token the list of accounts shows.
const tokenShown = len(TokenPrefix) + 6

// Service keeps accounts, sessions and tokens in the database.
type Service struct {
	db       *storage.DB
	lifetime time.Duration
	now      func() time.Time
	hashing  chan struct{} // a slot per password being hashed
	// exist latches once an account is seen: accounts are never deleted,
	// so from then on the implicit local administrator is gone for good.
	exist atomic.Bool
	// dummy is a hash checked when a sign-in names no account, so that
	// the answer takes as long as for a wrong password.
	dummy func() (string, error)
}

// New returns the Service cfg describes.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{db: cfg.DB, lifetime: cmp.Or(cfg.SessionLifetime, DefaultSessionLifetime),
		now: cfg.Now, hashing: make(chan struct{}, max(cmp.Or(cfg.MaxHashing, min(runtime.GOMAXPROCS(0), MaxHashingDefault)), 1))}
	s.dummy = sync.OnceValues(func() (string, error) { return s.hashPassword(context.Background(), rand.Text()) })
	return s
}

// Errors the operations return.
var (
	ErrNameTaken  = errors.New("accounts: an account of that name exists (disabled accounts keep their names)")
	ErrNoAccount  = errors.New("accounts: no such account")
	ErrDisabled   = errors.New("accounts: the account is disabled")
	ErrSignIn     = errors.New("accounts: wrong name or password")
	ErrCredential = errors.New("accounts: unknown, expired or revoked credential")
)

// A name is what the audit shows for an account: letters, digits and . _ @ -.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// A mall is an mchid or sub_mchid: digits.
var mallRE = regexp.MustCompile(`^[0-9]{1,32}$`)

// Password bounds: OWASP's minimum for a password that is the only factor
// is 8; 12 leaves guessing far behind argon2id and the sign-in limit.
const (
	MinPassword = 12
	maxPassword = 1024
)

// CheckName reports what is wrong with an account's name, if anything.
func CheckName(name string) error {
	switch {
	case !nameRE.MatchString(name):
		return fmt.Errorf("accounts: name %q: 1 to 64 letters, digits and . _ @ -, starting with a letter or digit", name)
	case name == TokenActor || name == LocalActor:
		return fmt.Errorf("accounts: name %q is how the audit names the %s administrator; choose another", name, name)
	}
	return nil
}

// ParseMalls reads a list of mchids separated by commas, sorted and once
// each; "" is every mall (nil).
func ParseMalls(list string) ([]string, error) {
	var malls []string
	for m := range strings.SplitSeq(list, ",") {
		if m = strings.TrimSpace(m); m == "" {
			continue
		}
		if !mallRE.MatchString(m) {
			return nil, fmt.Errorf("accounts: mall %q: an mchid is 1 to 32 digits", m)
		}
		malls = append(malls, m)
	}
	slices.Sort(malls)
	return slices.Compact(malls), nil
}

func checkPassword(role Role, password string) error {
	switch {
	case role == App && password != "":
		return errors.New("accounts: an app account has no password: it uses personal API tokens (mallpointsd users token NAME)")
	case role == App:
		return nil
	case len(password) < MinPassword || len(password) > maxPassword || !utf8.ValidString(password):
		return fmt.Errorf("accounts: a password is %d to %d bytes of UTF-8", MinPassword, maxPassword)
	}
	return nil
}

// Add makes an account. An app account has no password; any other needs
// one of at least MinPassword bytes.
func (s *Service) Add(ctx context.Context, name string, role Role, malls []string, password string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	if err := checkPassword(role, password); err != nil {
		return err
	}
	a := storage.Account{Name: name, Role: string(role), Malls: malls}
	if password != "" {
		var err error
		if a.PasswordHash, err = s.hashPassword(ctx, password); err != nil {
			return err
		}
	}
	ok, err := s.db.InsertAccount(ctx, &a)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNameTaken
	}
	s.exist.Store(true)
	return nil
}

// List lists the accounts by name.
func (s *Service) List(ctx context.Context) ([]storage.AccountSummary, error) {
	return s.db.Accounts(ctx, s.now())
}

// Disable disables an account and ends its sessions and tokens.
func (s *Service) Disable(ctx context.Context, name string) error {
	ok, err := s.db.DisableAccount(ctx, name)
	if err == nil && !ok {
		err = ErrNoAccount
	}
	return err
}

// Reset gives an account a new password (an app account: none) and
// enables it, ending its sessions and tokens.
func (s *Service) Reset(ctx context.Context, name, password string) error {
	a, err := s.db.Account(ctx, name)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNoAccount
	}
	if err != nil {
		return err
	}
	if err := checkPassword(Role(a.Role), password); err != nil {
		return err
	}
	var hash string
	if password != "" {
		if hash, err = s.hashPassword(ctx, password); err != nil {
			return err
		}
	}
	ok, err := s.db.ResetAccount(ctx, name, hash)
	if err == nil && !ok {
		err = ErrNoAccount
	}
	return err
}

// langRE is what an account's language may be: a language tag such as
// en or zh-CN.
var langRE = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

// SetLang keeps the console's language of an account ("" for the
// browser's) and returns the one it had.
func (s *Service) SetLang(ctx context.Context, name, lang string) (before string, err error) {
	if lang != "" && !langRE.MatchString(lang) {
		return "", fmt.Errorf("accounts: language %q: a language tag such as en or zh-CN", lang)
	}
	before, ok, err := s.db.SetAccountLang(ctx, name, lang)
	if err == nil && !ok {
		err = ErrNoAccount
	}
	return before, err
}

// NewToken makes a personal API token for an enabled account and returns
// it: 32 random bytes, base64url, after TokenPrefix. Only its SHA-256 is
// kept; it cannot be shown again.
func (s *Service) NewToken(ctx context.Context, name string) (string, error) {
	a, err := s.db.Account(ctx, name)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return "", ErrNoAccount
	case err != nil:
		return "", err
	case a.Disabled:
		return "", ErrDisabled
	}
	token := TokenPrefix + newSecret()
	err = s.db.InsertToken(ctx, storage.APIToken{Hash: digest(token), Prefix: token[:tokenShown], Account: name, CreatedAt: s.now()})
	if err != nil {
		return "", err
	}
	return token, nil
}

// Session is a sign-in: ID goes in the cookie, Expires is when it ends.
type Session struct {
	ID      string
	Expires time.Time
}

// SignIn checks an account's password and starts a session. A wrong
// password, an unknown or disabled account and an app account (which has
// no password) all answer ErrSignIn, after the same work.
func (s *Service) SignIn(ctx context.Context, name, password string) (Session, Principal, error) {
	a, err := s.db.Account(ctx, name)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return Session{}, Principal{}, err
	}
	hash := a.PasswordHash
	if hash == "" || a.Disabled || len(password) > maxPassword {
		if hash, err = s.dummy(); err != nil {
			return Session{}, Principal{}, err
		}
		a.Disabled = true // whatever the dummy says, this sign-in fails
	}
	ok, err := s.checkPassword(ctx, password, hash)
	if err != nil {
		return Session{}, Principal{}, err
	}
	if !ok || a.Disabled || Role(a.Role) == App {
		return Session{}, Principal{}, ErrSignIn
	}
	now := s.now()
	sess := Session{ID: newSecret(), Expires: now.Add(s.lifetime)}
	if err := s.db.InsertSession(ctx, storage.Session{IDHash: digest(sess.ID), Account: a.Name, CreatedAt: now, ExpiresAt: sess.Expires}); err != nil {
		return Session{}, Principal{}, err
	}
	return sess, principal(a), nil
}

// Session is the principal of a session id a cookie carries; ErrCredential
// when it is unknown, expired, signed out or its account disabled or reset.
func (s *Service) Session(ctx context.Context, id string) (Principal, error) {
	now := s.now()
	sess, a, err := s.db.SessionAccount(ctx, digest(id), now)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !same(sess.IDHash, digest(id))) {
		return Principal{}, ErrCredential
	}
	if err != nil {
		return Principal{}, err
	}
	if now.Sub(sess.LastSeen) >= touchEvery {
		if err := s.db.TouchSession(ctx, sess.IDHash, now); err != nil {
			return Principal{}, err
		}
	}
	return principal(a), nil
}

// SignOut ends a session.
func (s *Service) SignOut(ctx context.Context, id string) error {
	return s.db.DeleteSession(ctx, digest(id))
}

// Token is the principal of a personal API token; ErrCredential when it is
// unknown or its account disabled or reset.
func (s *Service) Token(ctx context.Context, token string) (Principal, error) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return Principal{}, ErrCredential
	}
	t, a, err := s.db.TokenAccount(ctx, digest(token))
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !same(t.Hash, digest(token))) {
		return Principal{}, ErrCredential
	}
	if err != nil {
		return Principal{}, err
	}
	if now := s.now(); now.Sub(t.LastUsed) >= touchEvery {
		if err := s.db.TouchToken(ctx, t.Hash, now); err != nil {
			return Principal{}, err
		}
	}
	return principal(a), nil
}

// Named is the principal of the account a trusted proxy signed in by name
// (single sign-on); ErrCredential when no enabled account has the name.
func (s *Service) Named(ctx context.Context, name string) (Principal, error) {
	a, err := s.db.Account(ctx, name)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && a.Disabled) {
		return Principal{}, ErrCredential
	}
	if err != nil {
		return Principal{}, err
	}
	return principal(a), nil
}

// Exist reports whether any account exists, disabled ones included.
func (s *Service) Exist(ctx context.Context) (bool, error) {
	if s.exist.Load() {
		return true, nil
	}
	ok, err := s.db.HasAccounts(ctx)
	if ok {
		s.exist.Store(true)
	}
	return ok, err
}

// UnscopedAdmin reports whether an enabled admin account confined to no
// mall exists: one who can manage everything without --admin-token.
func (s *Service) UnscopedAdmin(ctx context.Context) (bool, error) {
	list, err := s.db.Accounts(ctx, s.now())
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(list, func(a storage.AccountSummary) bool {
		return Role(a.Role) == Admin && !a.Disabled && len(a.Malls) == 0
	}), nil
}

// principal is who an account is on a request.
func principal(a storage.Account) Principal {
	return Principal{Name: a.Name, Role: Role(a.Role), Malls: a.Malls, Lang: a.Lang}
}

// newSecret is 32 random bytes, base64url without padding.
func newSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// digest is how a session id or a token is stored: its SHA-256, in hex.
func digest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// same compares two digests in constant time.
func same(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

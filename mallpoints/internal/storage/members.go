package storage

import (
	"context"
	"fmt"
	"time"
)

// Member is a member of a mall's points programme.
type Member struct {
	Mall     string `json:"mall"`
	OpenID   string `json:"openid"`
	AppID    string `json:"appid,omitempty"`
	AuthType string `json:"auth_type,omitempty"` // "" until MALL_AUTH.ACTIVATE_CARD arrives
	Balance  int64  `json:"balance"`
	Erased   bool   `json:"erased,omitempty"`
	// Tier is the tier set through the API, which overrides the one computed
	// from spend until TierUntil, an inclusive Beijing date (YYYY-MM-DD).
	Tier      string    `json:"tier,omitempty"`
	TierUntil string    `json:"tier_until,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

const (
	memberColumns = `mall, openid, appid, auth_type, balance, erased, tier, tier_until, created_at, updated_at`
	qMember       = `SELECT ` + memberColumns + ` FROM members WHERE mall = $1 AND openid = $2`
)

func scanMember(r row) (Member, error) {
	var m Member
	var created, updated int64
	err := r.Scan(&m.Mall, &m.OpenID, &m.AppID, &m.AuthType, &m.Balance, &m.Erased, &m.Tier, &m.TierUntil, &created, &updated)
	m.CreatedAt, m.UpdatedAt = fromMicros(created), fromMicros(updated)
	return m, noRows(err)
}

// LockMember returns the member (mall, openid), creating it if it is new,
// and holds its row until the transaction ends, so that concurrent balance
// updates of one member queue up instead of overwriting each other. It is
// one statement: an insert whose conflict updates the row to itself, which
// on PostgreSQL takes the row lock as SELECT … FOR UPDATE would, waits for a
// transaction holding it, and returns the row as that transaction left it.
func (tx *Tx) LockMember(ctx context.Context, mall, openid, appid string) (Member, error) {
	m, err := scanMember(tx.queryRow(ctx, `INSERT INTO members (mall, openid, appid, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4) ON CONFLICT (mall, openid) DO UPDATE SET balance = members.balance
		RETURNING `+memberColumns, mall, openid, appid, micros(time.Now())))
	if err != nil {
		return Member{}, fmt.Errorf("storage: lock member: %w", err)
	}
	return m, nil
}

// Member reads a member inside tx and locks its row; ErrNotFound when there
// is none.
func (tx *Tx) Member(ctx context.Context, mall, openid string) (Member, error) {
	return scanMember(tx.queryRow(ctx, qMember+tx.db.dialect.forUpdate, mall, openid))
}

// ReadMember reads a member inside tx without locking it, as a read-only
// transaction may; ErrNotFound when there is none.
func (tx *Tx) ReadMember(ctx context.Context, mall, openid string) (Member, error) {
	return scanMember(tx.queryRow(ctx, qMember, mall, openid))
}

// UpdateMember writes a locked member's app id, authorisation and balance.
func (tx *Tx) UpdateMember(ctx context.Context, m Member) error {
	_, err := tx.exec(ctx, `UPDATE members SET appid = $3, auth_type = $4, balance = $5, updated_at = $6
		WHERE mall = $1 AND openid = $2`, m.Mall, m.OpenID, m.AppID, m.AuthType, m.Balance, micros(time.Now()))
	if err != nil {
		return fmt.Errorf("storage: update member: %w", err)
	}
	return nil
}

// TierOn is the tier set through the API that holds on the Beijing date
// day (YYYY-MM-DD): Tier until TierUntil, inclusive; "" when none does.
func (m Member) TierOn(day string) string {
	if m.Tier == "" || day > m.TierUntil {
		return ""
	}
	return m.Tier
}

// SetTier sets a locked member's tier until an inclusive Beijing date
// (YYYY-MM-DD); an empty tier clears it.
func (tx *Tx) SetTier(ctx context.Context, mall, openid, tier, until string) error {
	if tier == "" {
		until = ""
	}
	_, err := tx.exec(ctx, `UPDATE members SET tier = $3, tier_until = $4, updated_at = $5
		WHERE mall = $1 AND openid = $2`, mall, openid, tier, until, micros(time.Now()))
	if err != nil {
		return fmt.Errorf("storage: set tier: %w", err)
	}
	return nil
}

// SetCardCode records the member's card code from MALL_AUTH.ACTIVATE_CARD.
func (tx *Tx) SetCardCode(ctx context.Context, mall, openid, code string) error {
	_, err := tx.exec(ctx, `UPDATE members SET card_code = $3 WHERE mall = $1 AND openid = $2`, mall, openid, code)
	if err != nil {
		return fmt.Errorf("storage: card code: %w", err)
	}
	return nil
}

// Member returns one member.
func (db *DB) Member(ctx context.Context, mall, openid string) (Member, error) {
	return scanMember(db.queryRow(ctx, qMember, mall, openid))
}

// Members lists members of mall (all malls when empty) among scope's by
// openid, after the given openid, at most limit of them.
func (db *DB) Members(ctx context.Context, scope Malls, mall, after string, limit int) ([]Member, error) {
	in, args := scope.and("mall", 4)
	rs, err := db.query(ctx, `SELECT `+memberColumns+` FROM members
		WHERE ($1 = '' OR mall = $1) AND openid > $2`+in+` ORDER BY openid, mall LIMIT $3`,
		append([]any{mall, after, limit}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("storage: members: %w", err)
	}
	return collect(rs, scanMember)
}

// UnfinishedSyncs counts the member's syncs still pending or parked, by
// state: points syncs of its payments and its parking syncs.
func (tx *Tx) UnfinishedSyncs(ctx context.Context, mall, openid string) (map[string]int, error) {
	n := map[string]int{SyncPending: 0, SyncParked: 0}
	for state := range n {
		var c int
		err := tx.queryRow(ctx, `SELECT
			(SELECT COUNT(*) FROM transactions t JOIN syncs s ON s.id = t.sync_id
				WHERE t.mall = $1 AND t.openid = $2 AND s.state = $3) +
			(SELECT COUNT(*) FROM parkings p JOIN syncs s ON s.id = p.sync_id
				WHERE p.mall = $1 AND p.openid = $2 AND s.state = $3)`, mall, openid, state).Scan(&c)
		if err != nil {
			return nil, fmt.Errorf("storage: unfinished syncs: %w", err)
		}
		n[state] = c
	}
	return n, nil
}

// EraseMember replaces the member's openid with pseudonym in every table and
// clears its card code and parking plates; points and sums are untouched.
// It reports false when there is no such member.
func (tx *Tx) EraseMember(ctx context.Context, mall, openid, pseudonym string) (bool, error) {
	n, err := tx.exec(ctx, `UPDATE members SET openid = $3, card_code = '', erased = $4, updated_at = $5
		WHERE mall = $1 AND openid = $2`, mall, openid, pseudonym, true, micros(time.Now()))
	if err != nil || n == 0 {
		return false, err
	}
	for _, q := range []string{
		`UPDATE transactions SET openid = $3 WHERE mall = $1 AND openid = $2`,
		`UPDATE refunds SET openid = $3 WHERE mall = $1 AND openid = $2`,
		`UPDATE adjustments SET openid = $3 WHERE mall = $1 AND openid = $2`,
		`UPDATE parkings SET openid = $3, plate_number = '' WHERE mall = $1 AND openid = $2`,
		`UPDATE ledger_entries SET openid = $3 WHERE mall = $1 AND openid = $2`,
		`UPDATE point_lots SET openid = $3 WHERE mall = $1 AND openid = $2`,
	} {
		if _, err := tx.exec(ctx, q, mall, openid, pseudonym); err != nil {
			return false, fmt.Errorf("storage: erase member: %w", err)
		}
	}
	return true, tx.eraseEvents(ctx, mall, openid, pseudonym)
}

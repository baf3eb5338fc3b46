package storage

import (
	"context"
	"fmt"
	"strings"
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
	// MemberID and UnionID are the mall's CRM's ids of the member
	// (PUT /api/members/{mall}/{openid}); the CRM feed carries them.
	MemberID string `json:"member_id,omitempty"`
	UnionID  string `json:"unionid,omitempty"`
	// Phone (11 digits, without +86) and Birthday (YYYY-MM-DD or MM-DD) are
	// personal data: package api masks them for all but administrators,
	// and they go into no feed, log or export.
	Phone    string `json:"phone,omitempty"`
	Birthday string `json:"birthday,omitempty"`
	// AuthorizeState is what WeChat Pay's authorisation query last answered
	// (UNAUTHORIZED, AUTHORIZED, DEAUTHORIZED), or what an activation
	// implied, as of AuthorizeCheckedAt; "" when never known. A member
	// DEAUTHORIZED has withdrawn the points service: its payments earn 0.
	AuthorizeState     string    `json:"authorize_state,omitempty"`
	AuthorizeCheckedAt time.Time `json:"authorize_checked_at,omitzero"`
	// CommitStatus is the pending-points query's last answer (PENDING,
	// FINISHED, or "" for none), as of CommitCheckedAt: a cache of the
	// status endpoint's, about that Beijing day's payments.
	CommitStatus    string    `json:"-"`
	CommitCheckedAt time.Time `json:"-"`
	// ActiveAt is the member's last payment or activation: the re-check of
	// authorisations goes by it. Zero for an erased member.
	ActiveAt time.Time `json:"-"`
}

// Authorisation states as the authorisation query writes them
// (businesscircle.AuthorizeState).
const (
	AuthorizeUnauthorized = "UNAUTHORIZED"
	AuthorizeAuthorized   = "AUTHORIZED"
	AuthorizeDeauthorized = "DEAUTHORIZED"
)

// Withdrawn reports whether the member has withdrawn the authorisation of
// the points service, as last known.
func (m Member) Withdrawn() bool { return m.AuthorizeState == AuthorizeDeauthorized }

// Masked is m as anyone but an administrator sees it: of the phone, its
// first three and last four digits (138****5678); of the birthday, its
// month alone, written as ISO 8601 writes a month without year or day
// ("--05").
func (m Member) Masked() Member {
	if len(m.Phone) >= 8 {
		m.Phone = m.Phone[:3] + strings.Repeat("*", len(m.Phone)-7) + m.Phone[len(m.Phone)-4:]
	} else if m.Phone != "" {
		m.Phone = strings.Repeat("*", len(m.Phone))
	}
	if month := m.BirthdayMonth(); month > 0 {
		m.Birthday = fmt.Sprintf("--%02d", month)
	} else if m.Birthday != "" {
		m.Birthday = "--"
	}
	return m
}

// BirthdayMonth is the month of the member's birthday, 1 to 12; 0 when
// the birthday is not known.
func (m Member) BirthdayMonth() int {
	b := m.Birthday
	if len(b) == len("2006-01-02") {
		b = b[len("2006-"):]
	}
	if len(b) != len("01-02") || b[0] < '0' || b[0] > '1' || b[1] < '0' || b[1] > '9' {
		return 0
	}
	return int(b[0]-'0')*10 + int(b[1]-'0')
}

const (
	memberColumns = `mall, openid, appid, auth_type, balance, erased, tier, tier_until, created_at, updated_at,
	member_id, unionid, phone, birthday, authorize_state, authorize_checked_at, points_commit_status,
	commit_checked_at, active_at`
	qMember = `SELECT ` + memberColumns + ` FROM members WHERE mall = $1 AND openid = $2`
)

func scanMember(r row) (Member, error) {
	var m Member
	var created, updated, authorized, committed, active int64
	err := r.Scan(&m.Mall, &m.OpenID, &m.AppID, &m.AuthType, &m.Balance, &m.Erased, &m.Tier, &m.TierUntil, &created, &updated,
		&m.MemberID, &m.UnionID, &m.Phone, &m.Birthday, &m.AuthorizeState, &authorized, &m.CommitStatus, &committed, &active)
	m.CreatedAt, m.UpdatedAt = fromMicros(created), fromMicros(updated)
	m.AuthorizeCheckedAt, m.CommitCheckedAt, m.ActiveAt = fromMicros(authorized), fromMicros(committed), fromMicros(active)
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

// UpdateMember writes a locked member's app id, authorisation type,
// balance and last activity.
func (tx *Tx) UpdateMember(ctx context.Context, m Member) error {
	_, err := tx.exec(ctx, `UPDATE members SET appid = $3, auth_type = $4, balance = $5, updated_at = $6, active_at = $7
		WHERE mall = $1 AND openid = $2`, m.Mall, m.OpenID, m.AppID, m.AuthType, m.Balance, micros(time.Now()), micros(m.ActiveAt))
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

// EraseMember replaces the member's openid with pseudonym in every table,
// the audit log's subjects included, and clears its card code, parking
// plates, CRM ids, phone and birthday; points and sums are untouched. It
// reports false when there is no such member.
func (tx *Tx) EraseMember(ctx context.Context, mall, openid, pseudonym string) (bool, error) {
	n, err := tx.exec(ctx, `UPDATE members SET openid = $3, card_code = '', erased = $4, updated_at = $5,
		member_id = '', unionid = '', phone = '', birthday = '', active_at = 0
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
		// The one change the audit log allows (migration 00010).
		`UPDATE audit_log SET subject = $3 WHERE mall = $1 AND subject = $2`,
	} {
		if _, err := tx.exec(ctx, q, mall, openid, pseudonym); err != nil {
			return false, fmt.Errorf("storage: erase member: %w", err)
		}
	}
	return true, tx.eraseEvents(ctx, mall, openid, pseudonym)
}

// CRMFields are what the mall's CRM sets of a member: nil leaves a field as
// it is, "" clears it. Phone and Birthday are written as given: package api
// checks and normalises them.
type CRMFields struct {
	MemberID, UnionID, Phone, Birthday *string
}

// SetCRMFields writes the fields f gives of a locked member.
func (tx *Tx) SetCRMFields(ctx context.Context, mall, openid string, f CRMFields) error {
	_, err := tx.exec(ctx, `UPDATE members SET member_id = COALESCE($3, member_id), unionid = COALESCE($4, unionid),
		phone = COALESCE($5, phone), birthday = COALESCE($6, birthday), updated_at = $7 WHERE mall = $1 AND openid = $2`,
		mall, openid, f.MemberID, f.UnionID, f.Phone, f.Birthday, micros(time.Now()))
	if err != nil {
		return fmt.Errorf("storage: set CRM ids: %w", err)
	}
	return nil
}

// MembersByPhone lists the members of mall (all malls when empty) among
// scope's whose phone is exactly phone (normalised: 11 digits), by mall,
// at most limit: an exact seek of members_by_phone, never a partial match.
func (db *DB) MembersByPhone(ctx context.Context, scope Malls, mall, phone string, limit int) ([]Member, error) {
	if phone == "" {
		return []Member{}, nil
	}
	in, args := scope.and("mall", 4)
	rs, err := db.query(ctx, `SELECT `+memberColumns+` FROM members WHERE phone = $1 AND ($2 = '' OR mall = $2)`+in+
		` ORDER BY mall, openid LIMIT $3`, append([]any{phone, mall, limit}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("storage: members by phone: %w", err)
	}
	return collect(rs, scanMember)
}

// SetAuthorization records a locked member's authorisation state as of at.
func (tx *Tx) SetAuthorization(ctx context.Context, mall, openid, state string, at time.Time) error {
	_, err := tx.exec(ctx, `UPDATE members SET authorize_state = $3, authorize_checked_at = $4 WHERE mall = $1 AND openid = $2`,
		mall, openid, state, micros(at))
	if err != nil {
		return fmt.Errorf("storage: set authorisation: %w", err)
	}
	return nil
}

// SetCommitStatus records the pending-points query's answer about a member
// as of at, unless an answer of a later time is recorded already.
func (db *DB) SetCommitStatus(ctx context.Context, mall, openid, status string, at time.Time) error {
	_, err := db.exec(ctx, `UPDATE members SET points_commit_status = $3, commit_checked_at = $4
		WHERE mall = $1 AND openid = $2 AND commit_checked_at <= $4`, mall, openid, status, micros(at))
	if err != nil {
		return fmt.Errorf("storage: set commit status: %w", err)
	}
	return nil
}

// DueForRecheck lists the members active since activeSince whose
// authorisation was last checked before checkedBefore, the oldest check
// first (never checked before any), after the member after (the zero
// Member: from the first), at most limit: a range scan of members_recheck.
func (db *DB) DueForRecheck(ctx context.Context, activeSince, checkedBefore time.Time, after Member, limit int) ([]Member, error) {
	rs, err := db.query(ctx, `SELECT `+memberColumns+` FROM members WHERE active_at > 0 AND active_at >= $1
		AND authorize_checked_at < $2 AND (authorize_checked_at, active_at, mall, openid) > ($4, $5, $6, $7)
		ORDER BY authorize_checked_at, active_at, mall, openid LIMIT $3`,
		max(micros(activeSince), 1), micros(checkedBefore), limit,
		micros(after.AuthorizeCheckedAt), micros(after.ActiveAt), after.Mall, after.OpenID)
	if err != nil {
		return nil, fmt.Errorf("storage: members due for a re-check: %w", err)
	}
	return collect(rs, scanMember)
}

// RetireInactive zeroes the activity of the members whose last payment or
// activation was before since, so that members_recheck, which holds the
// members with an activity, holds about the active ones only: the re-check
// and the metric of the oldest check scan it. It returns how many it
// retired.
func (db *DB) RetireInactive(ctx context.Context, since time.Time) (int64, error) {
	n, err := db.exec(ctx, `UPDATE members SET active_at = 0 WHERE active_at > 0 AND active_at < $1`, micros(since))
	if err != nil {
		return 0, fmt.Errorf("storage: retire inactive members: %w", err)
	}
	return n, nil
}

// LastSync is the points sync of a member's latest payment.
type LastSync struct {
	TransactionID string    `json:"transaction_id"`
	TimeEnd       time.Time `json:"time_end"`
	State         string    `json:"state"`
	SyncedAt      time.Time `json:"synced_at,omitzero"`
}

// LastSync reads the sync of the member's latest payment (by time_end);
// ErrNotFound when it has none. A seek of transactions_by_member_day.
func (db *DB) LastSync(ctx context.Context, mall, openid string) (LastSync, error) {
	var l LastSync
	var timeEnd, synced int64
	err := db.queryRow(ctx, `SELECT t.transaction_id, t.time_end, s.state, s.synced_at FROM transactions t
		JOIN syncs s ON s.id = t.sync_id WHERE t.mall = $1 AND t.openid = $2 ORDER BY t.time_end DESC LIMIT 1`,
		mall, openid).Scan(&l.TransactionID, &timeEnd, &l.State, &synced)
	l.TimeEnd, l.SyncedAt = fromMicros(timeEnd), fromMicros(synced)
	return l, noRows(err)
}

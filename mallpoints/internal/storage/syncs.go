package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Sync kinds.
const (
	SyncPoints  = "points"  // POST /v3/businesscircle/points/notify; subject: transaction_id
	SyncParking = "parking" // POST /v3/businesscircle/parkings; subject: parking id
)

// Sync states.
const (
	SyncPending = "pending" // queued or being retried
	SyncSynced  = "synced"  // WeChat Pay answered 204
	SyncParked  = "parked"  // refused (4xx) or out of retries; waits for a retry through the API
	// SyncUnconfirmed: a repeat was refused (a 4xx other than 401 and 429)
	// after an earlier attempt whose outcome is unknown, which WeChat Pay
	// probably took; nobody can tell from here, so a person should look.
	SyncUnconfirmed = "synced_unconfirmed"
	// SyncNotAuthorized: WeChat Pay refused a points sync, and its
	// authorisation query said the member had withdrawn the points service
	// (DEAUTHORIZED). Nothing will send it; once the member authorises
	// again it may be retried through the API.
	SyncNotAuthorized = "not_authorized"
)

// SyncStates are the states a sync can be in.
var SyncStates = []string{SyncPending, SyncSynced, SyncParked, SyncUnconfirmed, SyncNotAuthorized}

// Attempt outcomes.
const (
	AttemptOK     = "ok"
	AttemptRetry  = "retry"
	AttemptParked = "parked"
	// AttemptUnknown: the request may have reached WeChat Pay (the connection
	// broke after sending, the answer did not verify, the call timed out);
	// retried after the backoff.
	AttemptUnknown = "unknown"
	// AttemptUnconfirmed: the refusal that made the sync SyncUnconfirmed.
	AttemptUnconfirmed = "unconfirmed"
	// AttemptNotAuthorized: the refusal that made the sync SyncNotAuthorized.
	AttemptNotAuthorized = "not_authorized"
)

// Sync is one outbound call to WeChat Pay and what became of it.
type Sync struct {
	ID            int64     `json:"id"`
	Kind          string    `json:"kind"`
	Mall          string    `json:"mall"`
	Subject       string    `json:"subject"`
	State         string    `json:"state"`
	Attempts      int       `json:"attempts"`
	LastStatus    int       `json:"last_status,omitempty"`
	LastCode      string    `json:"last_code,omitempty"`
	LastMessage   string    `json:"last_message,omitempty"`
	LastRequestID string    `json:"last_request_id,omitempty"`
	LastAttemptAt time.Time `json:"last_attempt_at,omitzero"`
	SyncedAt      time.Time `json:"synced_at,omitzero"`
	// SyncedTotal is the total_points of the points sync WeChat Pay
	// accepted: the member's total as WeChat Pay last heard it from this
	// sync. nil for a parking sync, one not synced, or one synced before
	// the service recorded it.
	SyncedTotal *int64    `json:"synced_total,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

const syncColumns = `s.id, s.kind, s.mall, s.subject, s.state, s.attempts, s.last_status, s.last_code,
	s.last_message, s.last_request_id, s.last_attempt_at, s.synced_at, s.synced_total, s.created_at`

// syncDest returns scan destinations for syncColumns and a function that
// finishes s once scanned.
func syncDest(s *Sync) ([]any, func()) {
	var last, synced, created int64
	return []any{&s.ID, &s.Kind, &s.Mall, &s.Subject, &s.State, &s.Attempts, &s.LastStatus, &s.LastCode,
			&s.LastMessage, &s.LastRequestID, &last, &synced, &s.SyncedTotal, &created}, func() {
			s.LastAttemptAt, s.SyncedAt, s.CreatedAt = fromMicros(last), fromMicros(synced), fromMicros(created)
		}
}

func scanSync(r row) (Sync, error) {
	var s Sync
	dest, finish := syncDest(&s)
	if err := r.Scan(dest...); err != nil {
		return s, noRows(err)
	}
	finish()
	return s, nil
}

// NewSync records a pending sync of subject. (kind, mall, subject) is
// unique: a second call for the same subject fails.
func (tx *Tx) NewSync(ctx context.Context, kind, mall, subject string) (Sync, error) {
	s := Sync{Kind: kind, Mall: mall, Subject: subject, State: SyncPending, CreatedAt: time.Now().UTC()}
	err := tx.queryRow(ctx, `INSERT INTO syncs (kind, mall, subject, state, created_at) VALUES ($1, $2, $3, $4, $5)
		RETURNING id`, kind, mall, subject, s.State, micros(s.CreatedAt)).Scan(&s.ID)
	if err != nil {
		return s, fmt.Errorf("storage: new sync: %w", err)
	}
	return s, nil
}

// Sync reads one sync.
func (db *DB) Sync(ctx context.Context, id int64) (Sync, error) {
	return scanSync(db.queryRow(ctx, `SELECT `+syncColumns+` FROM syncs s WHERE s.id = $1`, id))
}

// Syncs lists the syncs of scope's malls in state (any when empty), oldest
// first, with an id above after, at most limit.
func (db *DB) Syncs(ctx context.Context, scope Malls, state string, after int64, limit int) ([]Sync, error) {
	in, args := scope.and("s.mall", 4)
	rs, err := db.query(ctx, `SELECT `+syncColumns+` FROM syncs s WHERE ($1 = '' OR s.state = $1) AND s.id > $2`+in+`
		ORDER BY s.id LIMIT $3`, append([]any{state, after, limit}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("storage: syncs: %w", err)
	}
	return collect(rs, scanSync)
}

// SyncCounts counts syncs by state.
func (db *DB) SyncCounts(ctx context.Context) (map[string]int64, error) {
	rs, err := db.query(ctx, `SELECT state, COUNT(*) FROM syncs GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("storage: sync counts: %w", err)
	}
	type kv struct {
		state string
		n     int64
	}
	list, err := collect(rs, func(r row) (kv, error) {
		var v kv
		return v, r.Scan(&v.state, &v.n)
	})
	out := map[string]int64{}
	for _, st := range SyncStates {
		out[st] = 0
	}
	for _, v := range list {
		out[v.state] = v.n
	}
	return out, err
}

// Attempt is one call made for a sync.
type Attempt struct {
	SyncID int64 `json:"sync_id"`
	// Attempt numbers the sync's attempts from 1, across retries through
	// the API, counting those whose record a crash prevented.
	Attempt   int    `json:"attempt"`
	Outcome   string `json:"outcome"`
	Status    int    `json:"status"`
	Code      string `json:"code,omitempty"`
	Message   string `json:"message,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// TotalPoints is the total_points a points sync's attempt sent; nil
	// for a parking sync.
	TotalPoints *int64        `json:"total_points,omitempty"`
	At          time.Time     `json:"at"`
	Elapsed     time.Duration `json:"-"` // in JSON, elapsed_us
}

// MarshalJSON writes Elapsed as whole microseconds, "elapsed_us".
func (a Attempt) MarshalJSON() ([]byte, error) {
	type fields Attempt // without this method
	return json.Marshal(struct {
		fields
		ElapsedUS int64 `json:"elapsed_us"`
	}{fields(a), a.Elapsed.Microseconds()})
}

// RecordAttempt writes a and moves its sync to state, keeping the attempt's
// code, message and Request-ID as the sync's last (and, when synced, its
// total_points as the sync's synced_total), in one transaction. The
// sync's count of attempts becomes a.Attempt when that is more than one
// above it: the attempts in between started and were never recorded (their
// process died). It reports false, writing nothing, when the sync is not
// pending any more (a job taken over from a killed worker ran twice, or the
// sync was already done).
func (db *DB) RecordAttempt(ctx context.Context, a Attempt, state string) (bool, error) {
	var synced int64
	var syncedTotal *int64
	if state == SyncSynced {
		synced, syncedTotal = micros(a.At), a.TotalPoints
	}
	recorded := false
	err := db.InTx(ctx, func(tx *Tx) error {
		c, err := tx.exec(ctx, `UPDATE syncs SET state = $2,
			attempts = CASE WHEN attempts + 1 > $3 THEN attempts + 1 ELSE $3 END,
			last_status = $4, last_code = $5, last_message = $6, last_request_id = $7, last_attempt_at = $8,
			synced_at = $9, synced_total = $11
			WHERE id = $1 AND state = $10`, a.SyncID, state, a.Attempt, a.Status, a.Code, a.Message, a.RequestID,
			micros(a.At), synced, SyncPending, syncedTotal)
		if err != nil || c == 0 {
			return err
		}
		recorded = true
		_, err = tx.exec(ctx, `INSERT INTO sync_attempts (`+attemptColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, a.SyncID, a.Attempt, a.Outcome,
			a.Status, a.Code, a.Message, a.RequestID, micros(a.At), a.Elapsed.Microseconds(), a.TotalPoints)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("storage: record sync attempt: %w", err)
	}
	return recorded, nil
}

// Unpark moves a parked, synced_unconfirmed or not_authorized sync back to
// pending, reporting false when it was none of them. It returns the number
// of attempts made so far, which tells this retry apart from earlier ones.
func (tx *Tx) Unpark(ctx context.Context, id int64) (attempts int, ok bool, err error) {
	err = tx.queryRow(ctx, `UPDATE syncs SET state = $2 WHERE id = $1 AND state IN ($3, $4, $5) RETURNING attempts`,
		id, SyncPending, SyncParked, SyncUnconfirmed, SyncNotAuthorized).Scan(&attempts)
	if err = noRows(err); err == ErrNotFound {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("storage: unpark sync: %w", err)
	}
	return attempts, true, nil
}

// HadUnknownOutcome reports whether an attempt of the sync was recorded
// with an unknown outcome.
func (db *DB) HadUnknownOutcome(ctx context.Context, syncID int64) (bool, error) {
	var n int
	err := db.queryRow(ctx, `SELECT COUNT(*) FROM sync_attempts WHERE sync_id = $1 AND outcome = $2`,
		syncID, AttemptUnknown).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("storage: unknown outcomes: %w", err)
	}
	return n > 0, nil
}

// LastAttempt returns the newest attempt of any sync of scope's malls;
// ErrNotFound when none was ever attempted.
func (db *DB) LastAttempt(ctx context.Context, scope Malls) (Attempt, error) {
	if len(scope) == 0 {
		a, err := scanAttempt(db.queryRow(ctx, `SELECT `+attemptColumns+` FROM sync_attempts ORDER BY id DESC LIMIT 1`))
		return a, noRows(err)
	}
	in, args := scope.and("s.mall", 1)
	a, err := scanAttempt(db.queryRow(ctx, `SELECT `+attemptColumns+` FROM sync_attempts
		WHERE sync_id IN (SELECT s.id FROM syncs s WHERE TRUE`+in+`) ORDER BY id DESC LIMIT 1`, args...))
	return a, noRows(err)
}

const attemptColumns = `sync_id, attempt, outcome, status, code, message, request_id, at, elapsed_us, total_points`

func scanAttempt(r row) (Attempt, error) {
	var a Attempt
	var at, us int64
	err := r.Scan(&a.SyncID, &a.Attempt, &a.Outcome, &a.Status, &a.Code, &a.Message, &a.RequestID, &at, &us, &a.TotalPoints)
	a.At, a.Elapsed = fromMicros(at), time.Duration(us)*time.Microsecond
	return a, err
}

// Attempts lists the attempts of a sync, oldest first.
func (db *DB) Attempts(ctx context.Context, syncID int64) ([]Attempt, error) {
	rs, err := db.query(ctx, `SELECT `+attemptColumns+` FROM sync_attempts WHERE sync_id = $1 ORDER BY id`, syncID)
	if err != nil {
		return nil, fmt.Errorf("storage: attempts: %w", err)
	}
	return collect(rs, scanAttempt)
}

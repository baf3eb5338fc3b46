package ledger

import (
	"context"
	"errors"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// SetCRMFields sets the member's CRM ids, phone and birthday from the
// mall's CRM: the fields f gives ("" clears one). A member the service has
// not seen is created, as a payment would: the CRM may know the member
// first. It returns the member before and after.
func (s *Service) SetCRMFields(ctx context.Context, mall, openid string, f storage.CRMFields) (before, after storage.Member, err error) {
	err = s.db.InTx(ctx, func(tx *storage.Tx) error {
		if before, err = tx.LockMember(ctx, mall, openid, ""); err != nil {
			return wrap("lock member", err)
		}
		if err := tx.SetCRMFields(ctx, mall, openid, f); err != nil {
			return wrap("set CRM ids", err)
		}
		after, err = tx.ReadMember(ctx, mall, openid)
		return wrap("read member", err)
	})
	return before, after, err
}

// Authorization sources, for EventAuthorizationChanged's data.
const (
	SourceQuery      = "query"      // WeChat Pay's authorisation query answered
	SourceActivation = "activation" // MALL_AUTH.ACTIVATE_CARD arrived
)

// NoteAuthorization records what WeChat Pay's authorisation query answered
// about a member at at: its state, and when it was checked. An answer
// older than the one recorded changes nothing. A change is a member event
// (EventAuthorizationChanged) when it is a withdrawal, the end of one, or
// a change between two known states; the first answer about a member is
// not, unless it is a withdrawal. It reports whether the state changed;
// ErrUnknownMember when there is no such member.
func (s *Service) NoteAuthorization(ctx context.Context, mall, openid, state string, at time.Time) (changed bool, err error) {
	err = s.db.InTx(ctx, func(tx *storage.Tx) error {
		m, err := tx.Member(ctx, mall, openid)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrUnknownMember
		}
		if err != nil {
			return wrap("lock member", err)
		}
		if at.Before(m.AuthorizeCheckedAt) {
			return nil
		}
		changed, err = s.setAuthorization(ctx, tx, m, state, at, SourceQuery)
		return err
	})
	if changed && state == storage.AuthorizeDeauthorized {
		s.log.Info("ledger: a member withdrew the points authorisation; its payments earn 0 until it authorises again", "mall", mall)
	}
	return changed, err
}

// setAuthorization writes locked member m's authorisation state as of at,
// learnt from source, and its member event.
func (s *Service) setAuthorization(ctx context.Context, tx *storage.Tx, m storage.Member, state string, at time.Time, source string) (bool, error) {
	if err := tx.SetAuthorization(ctx, m.Mall, m.OpenID, state, at); err != nil {
		return false, wrap("set authorisation", err)
	}
	from := m.AuthorizeState
	if from == state {
		return false, nil
	}
	if from == "" && state != storage.AuthorizeDeauthorized {
		return true, nil
	}
	return true, s.memberEvent(ctx, tx, MemberEvent{Type: EventAuthorizationChanged, Mall: m.Mall, OpenID: m.OpenID,
		Data: map[string]any{"from": from, "to": state, "source": source}})
}

// activeEvery is how often a member's activity is written: at most once a
// day, so that most payments leave the indexed active_at as it is.
const activeEvery = 24 * time.Hour

// touch marks m active at now when its activity is older than activeEvery.
func touch(m *storage.Member, now time.Time) {
	if now.Sub(m.ActiveAt) >= activeEvery {
		m.ActiveAt = now
	}
}

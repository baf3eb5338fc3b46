package ledger

import (
	"context"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// Member events are the changes of a member that the mall's systems are
// told of, beside its ledger entries: its authorisation changed (a
// withdrawal WeChat Pay only reveals when asked, or its end), or it was
// erased. Each is written in the transaction of the change it reports, so
// it exists if and only if the change does. memberEvent is the one place
// they are written: into the audit log, as the system's doing, and as
// webhook events.

// The member events.
const (
	// EventAuthorizationChanged: the member's authorisation of the points
	// service changed; data: from, to (UNAUTHORIZED, AUTHORIZED,
	// DEAUTHORIZED, "" unknown) and source (query, activation).
	EventAuthorizationChanged = "member.authorization_changed"
	// EventErased: the member was erased; its openid is the pseudonym from
	// then on, and the event names the member by it.
	EventErased = "member.erased"
)

// EventActor is who the audit log names for a member event: the service
// itself (package server's ActorSystem).
const EventActor = "system"

// MemberEvent is one member event.
type MemberEvent struct {
	Type   string
	Mall   string
	OpenID string // the pseudonym, for EventErased
	// Data is the event's own values. Never personal data: no phone,
	// birthday or card code.
	Data map[string]any
}

// memberEvent records ev in tx, the transaction of the change it reports:
// in the audit log, as the system's doing, and as a webhook event for the
// mall's webhooks (MemberEvent).
func (s *Service) memberEvent(ctx context.Context, tx *storage.Tx, ev MemberEvent) error {
	if ev.Data == nil {
		ev.Data = map[string]any{}
	}
	if err := tx.AppendAudit(ctx, &storage.AuditEntry{Actor: EventActor, Action: ev.Type,
		Mall: ev.Mall, Subject: ev.OpenID, After: storage.AuditValues(ev.Data)}); err != nil {
		return wrap("member event "+ev.Type, err)
	}
	return wrap("member event "+ev.Type, s.MemberEvent(ctx, tx, ev.Mall, ev.OpenID, ev.Type, ev.Data))
}

package accounts

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Role is what an account may do.
type Role string

// The roles, each with the permissions Grants lists.
const (
	Viewer   Role = "viewer"   // reads its malls
	Operator Role = "operator" // also adjusts, retries, exports, simulates, previews
	Admin    Role = "admin"    // also erases, runs expiry, manages accounts, reads the audit
	App      Role = "app"      // a mall's CRM or mini-program backend: API tokens only
)

// Roles are the roles, in the order the docs list them.
var Roles = []Role{Viewer, Operator, Admin, App}

// ParseRole reads a role's name.
func ParseRole(s string) (Role, error) {
	if r := Role(s); slices.Contains(Roles, r) {
		return r, nil
	}
	return "", fmt.Errorf("accounts: no role %q: admin, operator, viewer or app", s)
}

// Permission is one thing a route needs; every route of the admin
// surface names one.
type Permission string

// The permissions. A route's handler may check a second one (an
// adjustment that credits points needs Adjust beyond Redeem).
const (
	// Open: the sign-in page and the stylesheet, before any credential.
	Open Permission = "open"
	// SignedIn: any principal, whatever its role (the API's answer to a
	// path it does not have).
	SignedIn Permission = "signed-in"
	// Read: the pages and the API's reads of members, payments, syncs,
	// parkings, refusals, decisions and rules, of the account's malls.
	Read Permission = "read"
	// MemberStatus: a member's status (balance, tier, points expiring).
	MemberStatus Permission = "member-status"
	// Feed: the ledger entries after a cursor (GET /api/entries).
	Feed Permission = "feed"
	// Redeem: an adjustment that deducts points (a redemption).
	Redeem Permission = "redeem"
	// Adjust: an adjustment either way (a correction).
	Adjust Permission = "adjust"
	// Retry: a parked sync or decision sent again, or decided by the rules file.
	Retry Permission = "retry"
	// Export: the ledger CSV.
	Export Permission = "export"
	// Simulate: payments and refunds at the embedded sandbox.
	Simulate Permission = "simulate"
	// Preview: what payments would earn, writing nothing.
	Preview Permission = "preview"
	// SetMember: a member's CRM ids and tier, set by the mall's CRM.
	SetMember Permission = "set-member"
	// Park: parking events from the mall's car park.
	Park Permission = "park"
	// Redeliver: webhook events sent again from a position.
	Redeliver Permission = "redeliver"
	// Erase: a member's personal data erased.
	Erase Permission = "erase"
	// RunExpiry: an expiry run, over every mall.
	RunExpiry Permission = "expiry"
	// ManageUsers: accounts added, listed, disabled, reset.
	ManageUsers Permission = "users"
	// ReadAudit: the audit log.
	ReadAudit Permission = "audit"
	// Metrics: GET /metrics, every mall's series.
	Metrics Permission = "metrics"
	// ReadMerchants: the merchants in force and every mall they serve.
	ReadMerchants Permission = "merchants"
	// Debug: the Go profiler under /debug/pprof/.
	Debug Permission = "debug"
)

// Grant is one row of the permission table: the roles holding a
// permission, and whether an account confined to some malls may use it.
type Grant struct {
	Permission Permission
	Roles      []Role
	// Scoped is false for what spans every mall or no mall (metrics,
	// accounts, the audit, expiry runs): an account with --malls never
	// gets it, whatever its role.
	Scoped bool
}

// Grants is the permission table, the one place that says who may do
// what; docs/deploy.md shows it ("Accounts and roles") and a test keeps
// the two alike.
var Grants = []Grant{
	{Read, []Role{Viewer, Operator, Admin}, true},
	{MemberStatus, []Role{Viewer, Operator, Admin, App}, true},
	{Feed, []Role{Viewer, Operator, Admin, App}, true},
	{Redeem, []Role{Operator, Admin, App}, true},
	{Adjust, []Role{Operator, Admin}, true},
	{Retry, []Role{Operator, Admin}, true},
	{Export, []Role{Operator, Admin}, true},
	{Simulate, []Role{Operator, Admin}, true},
	{Preview, []Role{Operator, Admin}, true},
	{SetMember, []Role{Admin, App}, true},
	{Park, []Role{Admin, App}, true},
	{Redeliver, []Role{Operator, Admin, App}, true},
	{Erase, []Role{Admin}, true},
	{RunExpiry, []Role{Admin}, false},
	{ManageUsers, []Role{Admin}, false},
	{ReadAudit, []Role{Admin}, false},
	{Metrics, []Role{Viewer, Operator, Admin}, false},
	{ReadMerchants, []Role{Viewer, Operator, Admin}, false},
	{Debug, []Role{Admin}, false},
}

// grant finds perm's row of Grants.
func grant(perm Permission) (Grant, bool) {
	i := slices.IndexFunc(Grants, func(g Grant) bool { return g.Permission == perm })
	if i < 0 {
		return Grant{}, false
	}
	return Grants[i], true
}

// Principal is who makes a request on the admin surface: an account, the
// bootstrap administrator of --admin-token (named "token") or the
// implicit local administrator (named "local").
type Principal struct {
	Name string
	Role Role
	// Malls confine the principal to those mchids; nil: every mall.
	Malls []string
	// Lang is the console's language the account chose ("en", "zh-CN");
	// "": the browser's.
	Lang string
}

// The principals that are not accounts, by the name the audit records.
const (
	TokenActor = "token" // the bootstrap administrator of --admin-token
	LocalActor = "local" // the implicit administrator on loopback, with no account and no token
)

// Scoped reports whether p is confined to some malls.
func (p Principal) Scoped() bool { return len(p.Malls) > 0 }

// Can reports whether p may use perm: its role holds it, and it is open
// to accounts confined to malls when p is one. Open needs nothing,
// SignedIn any role.
func (p Principal) Can(perm Permission) bool {
	switch perm {
	case Open:
		return true
	case SignedIn:
		return p.Role != ""
	}
	g, ok := grant(perm)
	return ok && slices.Contains(g.Roles, p.Role) && (g.Scoped || !p.Scoped())
}

// Sees reports whether mall is one of p's malls.
func (p Principal) Sees(mall string) bool { return !p.Scoped() || slices.Contains(p.Malls, mall) }

// String is the principal as a log line names it.
func (p Principal) String() string {
	if p.Scoped() {
		return p.Name + " (" + string(p.Role) + ", malls " + strings.Join(p.Malls, ",") + ")"
	}
	return p.Name + " (" + string(p.Role) + ")"
}

type principalKey struct{}

// WithPrincipal returns ctx naming who makes the request; the admin
// surface's guard sets it once it knows.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext is the principal ctx names; false when none, and then the
// zero Principal, which may do nothing.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

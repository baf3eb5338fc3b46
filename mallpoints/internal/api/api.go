// Package api is mallpointsd's JSON API under /api/, served on the admin
// listener: members with their balance and ledger, transactions with their
// sync state, parked syncs and their retry, adjustments, parkings, the rules
// in force, the CRM feed of ledger entries (each mall's in commit order)
// and the audit log. Each change a request makes is written to the audit
// log once it is committed, with the values before and after (Config.Audit).
//
// Every error is JSON, {"code": "...", "message": "...", "field": "..."},
// with field naming the request field, query parameter or header at fault.
// A request that fails writes nothing.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/memberstatus"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/merchants"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/outbox"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/parking"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// Queue moves a parked sync back to the queue and sends a webhook's events
// again: package outbox.
type Queue interface {
	Retry(ctx context.Context, syncID int64) (bool, error)
	Redeliver(ctx context.Context, webhook, mall string, after int64) (int64, error)
}

// Expiry queues the expiry run a request asks for, auditing it, and tells
// runs' states (package server, over package outbox; the console queues
// runs through the same code).
type Expiry interface {
	// RunExpiry queues a run as of asOf for r, or answers the date's run
	// under way (false); ledger.ErrAsOfInvalid for a date that is none or
	// after today.
	RunExpiry(r *http.Request, asOf string) (outbox.ExpiryRun, bool, error)
	// ExpiryRun is a run by its id, storage.ErrNotFound when River holds
	// none.
	ExpiryRun(ctx context.Context, id int64) (outbox.ExpiryRun, error)
	// ExpiryRuns are the limit newest runs, newest first.
	ExpiryRuns(ctx context.Context, limit int) ([]outbox.ExpiryRun, error)
}

// Config is what the API serves.
type Config struct {
	DB      *storage.DB
	Ledger  *ledger.Service
	Parking *parking.Service
	Outbox  Queue
	Expiry  Expiry
	Rules   *rules.Current // the rules in force
	MchID   string         // the merchant's own mchid: the mall when a request names none
	Logger  *slog.Logger
	// Merchants are the merchants in force (GET /api/merchants).
	Merchants *merchants.Registry
	// Status answers GET /api/members/{mall}/{openid}/status; nil: 404.
	Status *memberstatus.Service
	// Audit writes the audit entry of a change a request made, once the
	// change is committed, adding who made it, from where and the request's
	// id (package server). nil records nothing.
	Audit func(r *http.Request, e storage.AuditEntry)
}

// API serves /api/.
type API struct {
	db      *storage.DB
	ledger  *ledger.Service
	parking *parking.Service
	outbox  Queue
	expiry  Expiry
	current *rules.Current
	mchID   string
	log     *slog.Logger
	merch   *merchants.Registry
	status  *memberstatus.Service
	audit   func(r *http.Request, e storage.AuditEntry)
}

// New returns the API cfg describes.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &API{db: cfg.DB, ledger: cfg.Ledger, parking: cfg.Parking, outbox: cfg.Outbox, expiry: cfg.Expiry, current: cfg.Rules,
		mchID: cfg.MchID, log: cfg.Logger, merch: cfg.Merchants, status: cfg.Status, audit: cfg.Audit}
}

// record writes the audit entry of the change r made.
func (a *API) record(r *http.Request, e storage.AuditEntry) {
	if a.audit != nil {
		a.audit(r, e)
	}
}

// values is storage.AuditValues, for short.
func values(kv map[string]any) json.RawMessage { return storage.AuditValues(kv) }

// WithActor returns ctx naming who makes the request on the admin surface:
// an account, "token" (the bootstrap administrator of --admin-token) or
// "local" (the implicit administrator on loopback). The admin listener's
// guard knows; adjustments and decisions record its name.
func WithActor(ctx context.Context, who accounts.Principal) context.Context {
	return accounts.WithPrincipal(ctx, who)
}

// Actor is the name of who ctx says makes the request, or "".
func Actor(ctx context.Context) string {
	p, _ := accounts.FromContext(ctx)
	return p.Name
}

// who is the principal of r, set by the guard before any route but an
// Open one runs; without one (a route mounted without the guard) it is
// confined to a mall that does not exist, so it sees nothing.
func who(r *http.Request) accounts.Principal {
	if p, ok := accounts.FromContext(r.Context()); ok {
		return p
	}
	return accounts.Principal{Malls: []string{""}}
}

// scope is the malls r's principal sees, for storage's reads.
func scope(r *http.Request) storage.Malls { return who(r).Malls }

// maxBody bounds request bodies.
const maxBody = 64 << 10

// Route is one endpoint and the permission it needs; the admin listener
// registers every route through its guard, which checks the permission and
// the {mall} of the path against the principal's malls.
type Route struct {
	Pattern    string // a ServeMux pattern
	Permission accounts.Permission
	Handler    http.HandlerFunc
}

// Routes lists the API's endpoints, all under /api/, the last answering
// 404 for any other path.
func (a *API) Routes() []Route {
	return []Route{
		{"GET /api/members", accounts.Read, a.members},
		{"GET /api/members/{mall}/{openid}", accounts.Read, a.member},
		{"PUT /api/members/{mall}/{openid}", accounts.SetMember, a.setMember},
		{"GET /api/members/{mall}/{openid}/status", accounts.MemberStatus, a.memberStatus},
		{"POST /api/members/{mall}/{openid}/adjustments", accounts.Redeem, a.adjust},
		{"POST /api/members/{mall}/{openid}/erasure", accounts.Erase, a.erase},
		{"PUT /api/members/{mall}/{openid}/tier", accounts.SetMember, a.setTier},
		{"GET /api/transactions", accounts.Read, a.transactions},
		{"GET /api/transactions/{mall}/{transaction_id}", accounts.Read, a.transaction},
		{"GET /api/syncs", accounts.Read, a.syncs},
		{"GET /api/syncs/{id}", accounts.Read, a.sync},
		{"POST /api/syncs/{id}/retry", accounts.Retry, a.retry},
		{"GET /api/parked", accounts.Read, a.parked},
		{"GET /api/parkings", accounts.Read, a.parkings},
		{"POST /api/parkings", accounts.Park, a.park},
		{"GET /api/rules", accounts.Read, a.rules},
		{"POST /api/rules/preview", accounts.Preview, a.preview},
		{"GET /api/entries", accounts.Feed, a.entries},
		{"GET /api/refusals", accounts.Read, a.refusals},
		{"POST /api/expiry/run", accounts.RunExpiry, a.runExpiry},
		{"GET /api/expiry/runs", accounts.RunExpiry, a.expiryRuns},
		{"GET /api/expiry/runs/{id}", accounts.RunExpiry, a.expiryRun},
		{"GET /api/decisions", accounts.Read, a.decisions},
		{"POST /api/decisions/{kind}/{mall}/{subject}", accounts.Retry, a.decideParked},
		{"GET /api/merchants", accounts.ReadMerchants, a.merchants},
		{"GET /api/audit", accounts.ReadAudit, a.auditLog},
		{"GET /api/webhooks/deliveries", accounts.Read, a.deliveries},
		{"POST /api/webhooks/{name}/redeliver", accounts.Redeliver, a.redeliver},
		{"/api/", accounts.SignedIn, func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusNotFound, &Error{Code: "NOT_FOUND", Message: "no such API path: " + r.URL.Path})
		}},
	}
}

// errOtherMall is a request naming a mall outside the principal's.
type errOtherMall struct{ field, mall string }

func (e *errOtherMall) Error() string { return "mall " + e.mall + " is not one of this account's" }

// seen fails with errOtherMall when mall is not one of r's principal's.
func seen(r *http.Request, field, mall string) error {
	if !who(r).Sees(mall) {
		return &errOtherMall{field, mall}
	}
	return nil
}

// Error is the body of every failed request.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Error is the code and the message.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, e *Error) { writeJSON(w, status, e) }

// fail answers err: an *Error as a 400 (or its own mapping), a known ledger
// error with its status, anything else as a 500 whose detail is logged, not
// sent.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	var ve *businesscircle.ValidationError
	var om *errOtherMall
	switch {
	case errors.As(err, &om):
		writeError(w, http.StatusForbidden, &Error{Code: "FORBIDDEN", Field: om.field,
			Message: fmt.Sprintf("mall %s is not one of the malls this account is confined to", om.mall)})
	case errors.As(err, &e):
		writeError(w, http.StatusBadRequest, e)
	case errors.As(err, &ve):
		writeError(w, http.StatusBadRequest, &Error{Code: "INVALID_FIELD", Message: ve.Rule, Field: ve.Field})
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, ledger.ErrUnknownMember):
		writeError(w, http.StatusNotFound, &Error{Code: "NOT_FOUND", Message: "no such record"})
	case errors.Is(err, ledger.ErrInsufficientBalance):
		writeError(w, http.StatusConflict, &Error{Code: "INSUFFICIENT_BALANCE", Message: err.Error(), Field: "points"})
	case errors.Is(err, ledger.ErrSyncsPending):
		writeError(w, http.StatusConflict, &Error{Code: "SYNCS_PENDING",
			Message: "the member has syncs waiting to be sent to WeChat Pay; erase it once they are done"})
	case errors.Is(err, ledger.ErrSyncsParked):
		writeError(w, http.StatusConflict, &Error{Code: "SYNCS_PARKED",
			Message: "the member has parked syncs, which would be sent with the pseudonym if retried after erasure; retry them until they are synced, then erase"})
	case errors.Is(err, ledger.ErrPointsOutOfRange):
		writeError(w, http.StatusBadRequest, &Error{Code: "INVALID_FIELD",
			Message: fmt.Sprintf("points must be at most %d either way", rules.MaxPoints), Field: "points"})
	case errors.Is(err, ledger.ErrBalanceLimit):
		writeError(w, http.StatusConflict, &Error{Code: "BALANCE_LIMIT",
			Message: fmt.Sprintf("the balance would pass its maximum of %d points", rules.MaxPoints), Field: "points"})
	case errors.Is(err, ledger.ErrAsOfInvalid):
		writeError(w, http.StatusBadRequest, &Error{Code: "INVALID_FIELD",
			Message: "as_of must be a Beijing date (YYYY-MM-DD), not after today", Field: "as_of"})
	case errors.Is(err, ledger.ErrNoDecision):
		writeError(w, http.StatusNotFound, &Error{Code: "NOT_FOUND", Message: "no such payment or refund"})
	case errors.Is(err, ledger.ErrNotParked):
		writeError(w, http.StatusConflict, &Error{Code: "NOT_PARKED",
			Message: "only a parked decision can be retried or decided by the rules file"})
	case errors.Is(err, ledger.ErrIdempotencyKeyReused):
		writeError(w, http.StatusConflict, &Error{Code: "IDEMPOTENCY_KEY_REUSED",
			Message: "this Idempotency-Key was used for a different request", Field: "Idempotency-Key"})
	default:
		a.log.ErrorContext(r.Context(), "api: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		writeError(w, http.StatusInternalServerError, &Error{Code: "INTERNAL", Message: "the request could not be completed; nothing was written"})
	}
}

// decode reads a JSON object into v, refusing unknown fields, wrong types,
// trailing data and bodies over maxBody, and naming the field at fault.
func decode(r *http.Request, v any) error { return decodeUpTo(r, v, maxBody) }

// decodeUpTo is decode with its own bound on the body.
func decodeUpTo(r *http.Request, v any, maxBody int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &Error{Code: "UNSUPPORTED_MEDIA_TYPE", Message: "send application/json", Field: "Content-Type"}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return &Error{Code: "INVALID_BODY", Message: "the body could not be read"}
	}
	if int64(len(body)) > maxBody {
		return &Error{Code: "BODY_TOO_LARGE", Message: fmt.Sprintf("the body is over %d bytes", maxBody)}
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return &Error{Code: "INVALID_JSON", Message: "the body has data after its JSON object"}
	}
	return nil
}

func decodeError(err error) *Error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return &Error{Code: "INVALID_FIELD", Message: fmt.Sprintf("must be a JSON %s, not %s", jsonKind(te.Type.Kind().String()), te.Value), Field: te.Field}
	case errors.As(err, &se):
		return &Error{Code: "INVALID_JSON", Message: fmt.Sprintf("malformed JSON at byte %d", se.Offset)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &Error{Code: "UNKNOWN_FIELD", Message: "no field " + strconv.Quote(f) + " in this request", Field: f}
	case errors.Is(err, io.EOF):
		return &Error{Code: "INVALID_JSON", Message: "the body is empty; send a JSON object"}
	}
	return &Error{Code: "INVALID_JSON", Message: err.Error()}
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "number"
	case k == "struct", k == "map":
		return "object"
	case k == "slice":
		return "array"
	}
	return k
}

// limit reads ?limit=, 1 to 500, default 50.
func limit(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 500 {
		return 0, &Error{Code: "INVALID_PARAMETER", Message: "limit must be a whole number from 1 to 500", Field: "limit"}
	}
	return n, nil
}

// int64Param reads an optional non-negative integer query parameter.
func int64Param(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, &Error{Code: "INVALID_PARAMETER", Message: name + " must be a non-negative whole number", Field: name}
	}
	return n, nil
}

package api

import (
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// memberRequest is the body of PUT /api/members/{mall}/{openid}: any
// subset of the fields; "" clears one.
type memberRequest struct {
	MemberID *string `json:"member_id"`
	UnionID  *string `json:"unionid"`
	Phone    *string `json:"phone"`
	Birthday *string `json:"birthday"`
}

var (
	// A mainland mobile number: 11 digits from 1, with +86 or not.
	phonePattern = regexp.MustCompile(`^(?:\+86)?(1[0-9]{10})$`)
	// WeChat's unionid: letters, digits, '-' and '_'.
	unionIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// normalPhone is phone as stored and searched: its 11 digits, without
// +86; false when it is not a mainland mobile number.
func normalPhone(phone string) (string, bool) {
	m := phonePattern.FindStringSubmatch(phone)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// validBirthday reports whether b is a birthday as the CRM writes it:
// YYYY-MM-DD, a day that exists from 1900 to today (a Beijing date,
// YYYY-MM-DD), or MM-DD without the year (29 February included).
func validBirthday(b, today string) bool {
	if len(b) == len("01-02") {
		_, err := time.Parse(time.DateOnly, "2000-"+b) // a leap year: 02-29 exists
		return err == nil
	}
	d, err := time.Parse(time.DateOnly, b)
	return err == nil && d.Year() >= 1900 && b <= today
}

// beijing is UTC+8, the time zone of the malls' dates.
var beijing = time.FixedZone("UTC+8", 8*3600)

// crmFields checks and normalises a memberRequest, naming the field at
// fault; today is the Beijing date (YYYY-MM-DD) a birthday may not be
// after.
func crmFields(req memberRequest, today string) (storage.CRMFields, error) {
	bad := func(field, msg string) error { return &Error{Code: "INVALID_FIELD", Message: msg, Field: field} }
	f := storage.CRMFields{MemberID: req.MemberID, UnionID: req.UnionID, Birthday: req.Birthday}
	switch {
	case req.MemberID == nil && req.UnionID == nil && req.Phone == nil && req.Birthday == nil:
		return f, &Error{Code: "INVALID_BODY", Message: "send at least one of member_id, unionid, phone and birthday"}
	case req.MemberID != nil && *req.MemberID != "" && (len(*req.MemberID) > 64 || !utf8.ValidString(*req.MemberID) ||
		strings.IndexFunc(*req.MemberID, func(r rune) bool { return !unicode.IsGraphic(r) || unicode.IsSpace(r) }) >= 0):
		return f, bad("member_id", "member_id is at most 64 bytes of UTF-8, without spaces or control characters; \"\" clears it")
	case req.UnionID != nil && *req.UnionID != "" && !unionIDPattern.MatchString(*req.UnionID):
		return f, bad("unionid", "unionid is 1 to 64 letters, digits, '-' or '_'; \"\" clears it")
	case req.Birthday != nil && *req.Birthday != "" && !validBirthday(*req.Birthday, today):
		return f, bad("birthday", "birthday is YYYY-MM-DD (a date from 1900 to today) or MM-DD; \"\" clears it")
	}
	if req.Phone != nil {
		phone := *req.Phone
		if phone != "" {
			var ok bool
			if phone, ok = normalPhone(phone); !ok {
				return f, bad("phone", "phone is a mainland mobile number, 11 digits from 1, with or without +86; \"\" clears it")
			}
		}
		f.Phone = &phone
	}
	return f, nil
}

// shown is m as r's principal may see it: in full for an administrator,
// its phone and birthday masked for anyone else.
func shown(r *http.Request, m storage.Member) storage.Member {
	if who(r).Role == accounts.Admin {
		return m
	}
	return m.Masked()
}

// setMember sets a member's CRM ids, phone and birthday from the mall's
// CRM; a member not seen yet is created.
func (a *API) setMember(w http.ResponseWriter, r *http.Request) {
	var req memberRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	f, err := crmFields(req, time.Now().In(beijing).Format(time.DateOnly))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	mall, openid := r.PathValue("mall"), r.PathValue("openid")
	before, after, err := a.ledger.SetCRMFields(r.Context(), mall, openid, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// Which fields were given, never their values: ids and personal data.
	changed := map[string]any{}
	was := map[string]any{}
	for _, c := range []struct {
		key       string
		given     *string
		old, next string
	}{
		{"member_id", f.MemberID, before.MemberID, after.MemberID}, {"unionid", f.UnionID, before.UnionID, after.UnionID},
		{"phone", f.Phone, before.Phone, after.Phone}, {"birthday", f.Birthday, before.Birthday, after.Birthday},
	} {
		if c.given == nil {
			continue
		}
		was[c.key], changed[c.key] = presence(c.old), presence(c.next)
	}
	a.record(r, storage.AuditEntry{Action: "member.set", Mall: mall, Subject: openid, Before: values(was), After: values(changed)})
	writeJSON(w, http.StatusOK, map[string]any{"member": shown(r, after)})
}

// presence is what the audit log keeps of an id or a personal value: that
// there is one, never which.
func presence(v string) string {
	if v == "" {
		return ""
	}
	return storage.AuditChanged
}

// memberStatus answers the mall's mini-program backend what it asks of a
// member: its balance, tier, points expiring and last sync, and WeChat
// Pay's states of its authorisation and pending points (package
// memberstatus).
func (a *API) memberStatus(w http.ResponseWriter, r *http.Request) {
	if a.status == nil {
		a.fail(w, r, storage.ErrNotFound)
		return
	}
	st, err := a.status.Lookup(r.Context(), r.PathValue("mall"), r.PathValue("openid"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

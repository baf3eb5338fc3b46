package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/notify"
)

// MaxAmountFen bounds a payment's amount and a refund's refund_amount, in
// fen: 10^10 fen is 100 million yuan, far above any single payment WeChat
// Pay takes, and low enough that a day's sum of amounts cannot overflow a
// 64-bit integer on either engine. An amount above it is refused at intake.
const MaxAmountFen int64 = 10_000_000_000

// The rules a notification's field can break, as the refusal names them.
const (
	RuleMissing    = "missing"           // a required field is empty
	RuleTooLong    = "too_long"          // more bytes than the field's limit
	RuleControl    = "control_character" // NUL or another control character
	RuleInvalidUTF = "invalid_utf8"      // bytes that are not UTF-8
	RuleRange      = "out_of_range"      // an amount below its minimum or above MaxAmountFen
	RuleFormat     = "format"            // a time that is not RFC 3339
)

// fieldLimits are the longest values, in bytes of UTF-8, the intake stores:
// the largest any WeChat Pay document gives for the field where one does
// (openid 64 on the points sync, 128 on commit_status; appid 32 on parkings,
// 128 elsewhere; sub_mchid 32 or 64; docs/protocol.md §6), and a generous
// bound for fields no document bounds. A refusal loses the notification, so
// a bound errs on the long side.
var fieldLimits = map[string]int{
	"id":             64, // string(36) in the notification pages (§5); 64 as for WeChat Pay's other ids
	"mchid":          64,
	"appid":          128,
	"openid":         128,
	"transaction_id": 64,
	"refund_id":      64,
	"shop_number":    64,  // no document bounds it
	"shop_name":      256, // no document bounds it; names are Chinese, 3 bytes a character
	"commit_tag":     128, // no document bounds it; its one example is an openid
	"code":           128, // the member card code; no document bounds it
	"auth_type":      64,  // no document bounds it; the two known values have 15 and 33 bytes
}

// Refusal is why a notification was refused at intake: the field and the
// rule it broke. It never holds the value, which may be personal data.
type Refusal struct {
	Field string
	Rule  string
	Limit string // the bound broken, for people: "at most 128 bytes"
}

func (r *Refusal) Error() string {
	if r.Limit != "" {
		return fmt.Sprintf("field %s: %s (%s)", r.Field, r.Rule, r.Limit)
	}
	return fmt.Sprintf("field %s: %s", r.Field, r.Rule)
}

// field is a string value of a notification to check.
type field struct {
	name     string
	value    string
	required bool
}

// checkFields checks the notification's id and fields against their limits.
// raw is the decrypted resource: JSON decoding replaces bytes that are not
// UTF-8, so they are looked for in the field's raw text.
func checkFields(n *notify.Notification, fields ...field) *Refusal {
	var raw map[string]json.RawMessage
	json.Unmarshal(n.Plaintext, &raw)
	if r := checkString(field{"id", n.ID, true}, nil); r != nil {
		return r
	}
	for _, f := range fields {
		if r := checkString(f, raw[f.name]); r != nil {
			return r
		}
	}
	return nil
}

func checkString(f field, raw []byte) *Refusal {
	limit := fieldLimits[f.name]
	switch {
	case f.value == "" && f.required:
		return &Refusal{Field: f.name, Rule: RuleMissing}
	case !utf8.Valid(raw) || !utf8.ValidString(f.value):
		return &Refusal{Field: f.name, Rule: RuleInvalidUTF}
	case len(f.value) > limit:
		return &Refusal{Field: f.name, Rule: RuleTooLong, Limit: fmt.Sprintf("at most %d bytes", limit)}
	}
	for _, c := range f.value {
		if c < 0x20 || (c >= 0x7f && c <= 0x9f) {
			return &Refusal{Field: f.name, Rule: RuleControl}
		}
	}
	return nil
}

// checkAmount checks an amount in fen against [least, MaxAmountFen].
func checkAmount(name string, amount, least int64) *Refusal {
	if amount < least || amount > MaxAmountFen {
		return &Refusal{Field: name, Rule: RuleRange, Limit: fmt.Sprintf("%d to %d fen", least, MaxAmountFen)}
	}
	return nil
}

// refuse keeps the dead-letter record of a refused notification of mall
// (empty when the mall's own field broke the rule) and returns the error
// that answers it 422: the notification was read, and its content is what
// cannot be processed (400 is left to what could not be read). If the record cannot be written the notification
// fails with a 500 instead, so that WeChat Pay delivers it again and the
// refusal is recorded then.
func (s *Service) refuse(ctx context.Context, n *notify.Notification, mall string, r *Refusal) error {
	id := n.ID
	if r.Field == "id" {
		// The id broke a rule: keep a digest of it, never the value.
		sum := sha256.Sum256([]byte(n.ID))
		id = "sha256:" + hex.EncodeToString(sum[:16])
	}
	if r.Field == "mchid" {
		mall = ""
	}
	s.log.Warn("ledger: notification refused", "notification_id", printable(id), "event_type", n.EventType,
		"field", r.Field, "rule", r.Rule)
	if err := s.db.RecordRefusal(ctx, storage.Refusal{NotificationID: id, EventType: n.EventType, Mall: mall,
		Field: r.Field, Rule: r.Rule}); err != nil {
		return wrap("record refusal", err)
	}
	return &notify.RefusedError{Status: http.StatusUnprocessableEntity, Err: r}
}

// printable is s with bytes outside printable ASCII replaced, for a log
// line.
func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(bytes.TrimSpace(b))
}

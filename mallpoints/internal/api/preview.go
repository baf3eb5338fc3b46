package api

import (
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

// maxPreviewBody bounds POST /api/rules/preview: a rules file of up to
// rules.MaxSize and its payments.
const maxPreviewBody = 1 << 20

// maxPreviewPayments bounds the payments of one preview: each may read the
// member's history, four queries.
const maxPreviewPayments = 1000

// previewRequest is the body of POST /api/rules/preview.
type previewRequest struct {
	Rules    *string          `json:"rules"` // a rules file (YAML); absent: the rules in force
	Payments []previewPayment `json:"payments"`
}

// previewPayment is one payment to preview: the fields of a
// MALL_TRANSACTION.SUCCESS notification the rules read, and optionally the
// member's tier or tier spend to assume instead of its history.
type previewPayment struct {
	Mall       string `json:"mall"`
	OpenID     string `json:"openid"`
	ShopNumber string `json:"shop_number"`
	Amount     *int64 `json:"amount"`
	TimeEnd    string `json:"time_end"` // RFC 3339
	Tier       string `json:"tier"`
	SpendFen   *int64 `json:"spend_fen"`
	// BirthdayMonth (1–12) is the member's birthday month to assume, for
	// the rules' birthday_month promotions; 0: none.
	BirthdayMonth *int `json:"birthday_month"`
}

// PreviewResult is what one previewed payment would earn.
type PreviewResult struct {
	Points      int64        `json:"points"`
	Bonus       int64        `json:"bonus"`
	EarnPoints  bool         `json:"earn_points"`
	Remark      string       `json:"remark"` // no_points_remarks when earn_points is false
	Tier        string       `json:"tier,omitempty"`
	Explanation []rules.Step `json:"explanation"`
	// CRM is the URL of the CRM that decides the mall's points, when its
	// rules name one: it is never called by a preview, and the points shown
	// are the rules file's, what deciding a parked payment by the file gives.
	CRM string `json:"crm,omitempty"`
}

// NewPreviewResult is the answer's form of an outcome.
func NewPreviewResult(o rules.Outcome) PreviewResult {
	steps := o.Steps
	if steps == nil {
		steps = []rules.Step{}
	}
	return PreviewResult{Points: o.Points, Bonus: o.Bonus, EarnPoints: o.EarnPoints, Remark: o.NoPointsRemarks,
		Tier: o.Tier, Explanation: steps}
}

// preview answers what payments would earn under the rules in force or an
// uploaded file, reading members' history and writing nothing. An uploaded
// file is only parsed and evaluated: nothing in it is called or stored.
func (a *API) preview(w http.ResponseWriter, r *http.Request) {
	var req previewRequest
	if err := decodeUpTo(r, &req, maxPreviewBody); err != nil {
		a.fail(w, r, err)
		return
	}
	set := a.current.Load()
	if req.Rules != nil {
		var err error
		if set, err = rules.Parse([]byte(*req.Rules)); err != nil {
			var re *rules.Error
			if errors.As(err, &re) {
				a.fail(w, r, &Error{Code: "INVALID_RULES", Message: re.Error(), Field: "rules"})
				return
			}
			a.fail(w, r, err)
			return
		}
	}
	ps, err := previewPayments(req.Payments, set, a.mchID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// A preview reads each member's history: of the account's malls only.
	for i, p := range ps {
		if err := seen(r, fmt.Sprintf("payments[%d].mall", i), p.MchID); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	outs, err := ledger.Preview(r.Context(), a.db, set, ps, a.log)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	results := make([]PreviewResult, len(outs))
	for i, o := range outs {
		results[i] = NewPreviewResult(o)
		if d := set.Mall(ps[i].MchID).Decide; d != nil {
			results[i].CRM = d.URL
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": set.Version(), "results": results})
}

// previewPayments validates the payments of a preview, naming the field at
// fault as payments[i].name.
func previewPayments(in []previewPayment, set *rules.Set, mchID string) ([]ledger.PreviewPayment, error) {
	switch {
	case len(in) == 0:
		return nil, &Error{Code: "INVALID_FIELD", Message: "send at least one payment", Field: "payments"}
	case len(in) > maxPreviewPayments:
		return nil, &Error{Code: "INVALID_FIELD", Message: fmt.Sprintf("at most %d payments per preview", maxPreviewPayments), Field: "payments"}
	}
	out := make([]ledger.PreviewPayment, len(in))
	for i, p := range in {
		field := func(name string) string { return fmt.Sprintf("payments[%d].%s", i, name) }
		bad := func(name, msg string) error { return &Error{Code: "INVALID_FIELD", Message: msg, Field: field(name)} }
		if p.Mall == "" {
			p.Mall = mchID
		}
		switch {
		case p.Mall == "" || len(p.Mall) > 32:
			return nil, bad("mall", "mall is required, at most 32 bytes")
		case p.OpenID == "" || len(p.OpenID) > 128 || !utf8.ValidString(p.OpenID):
			return nil, bad("openid", "openid is required, at most 128 bytes of UTF-8")
		case len(p.ShopNumber) > 32 || !utf8.ValidString(p.ShopNumber):
			return nil, bad("shop_number", "shop_number is at most 32 bytes of UTF-8")
		case p.Amount == nil || *p.Amount < 0:
			return nil, bad("amount", "amount is required, a whole number of fen, 0 or more")
		case p.SpendFen != nil && *p.SpendFen < 0:
			return nil, bad("spend_fen", "spend_fen is a whole number of fen, 0 or more")
		case p.BirthdayMonth != nil && (*p.BirthdayMonth < 0 || *p.BirthdayMonth > 12):
			return nil, bad("birthday_month", "birthday_month is a month, 1 to 12, or 0 for none")
		case p.Tier != "" && !set.HasTier(p.Mall, p.Tier):
			return nil, bad("tier", fmt.Sprintf("the rules give mall %s no tier %q", p.Mall, p.Tier))
		}
		t, err := businesscircle.ParseTime(p.TimeEnd)
		if err != nil {
			return nil, bad("time_end", "time_end is required, RFC 3339, such as 2026-05-20T12:00:00+08:00")
		}
		out[i] = ledger.PreviewPayment{Payment: rules.Payment{MchID: p.Mall, ShopNumber: p.ShopNumber, Amount: *p.Amount,
			TimeEnd: t}, OpenID: p.OpenID, Tier: p.Tier, SpendFen: p.SpendFen, BirthdayMonth: p.BirthdayMonth}
	}
	return out, nil
}

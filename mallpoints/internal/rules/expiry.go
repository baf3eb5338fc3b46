package rules

import (
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/strictyaml"
)

// The expiry policies of points. A lot of points (an earning, or a positive
// adjustment) gets its expiry when it is written, from the policy then in
// force, so a change of policy affects new lots only.
const (
	// ExpiryNone: points never expire. It lets a mall turn off the default
	// section's expiry.
	ExpiryNone = "none"
	// ExpiryEndOfYear: points expire at the end of the Beijing year Years
	// after the year they were earned in.
	ExpiryEndOfYear = "end_of_year"
	// ExpiryRolling: points expire at the end of the Beijing day Months
	// months after the day they were earned, clamped to that month's end.
	ExpiryRolling = "rolling"
)

// Bounds of the expiry keys: nobody keeps points for longer than this.
const (
	maxExpiryYears  = 10
	maxExpiryMonths = 120
)

// Expiry is a mall's expiry policy: expiry: {policy, years | months, start}.
// The zero Expiry means points never expire.
type Expiry struct {
	Policy string `json:"policy"`           // ExpiryEndOfYear or ExpiryRolling; "" or ExpiryNone: never
	Years  int    `json:"years,omitempty"`  // end_of_year: years after the year earned (0: that year)
	Months int    `json:"months,omitempty"` // rolling: months after the day earned
	// Start is the earliest instant any lot expires (00:00 Beijing time of
	// the start date), so turning expiry on never wipes old points overnight.
	Start time.Time `json:"start"`
}

// Expires reports whether points expire under e.
func (e Expiry) Expires() bool { return e.Policy == ExpiryEndOfYear || e.Policy == ExpiryRolling }

// ExpiresAt is when points earned at t stop counting: 00:00 Beijing time
// the day after their last day, never before Start. It is the zero time when
// points never expire.
func (e Expiry) ExpiresAt(t time.Time) time.Time {
	b := t.In(beijing)
	var at time.Time
	switch e.Policy {
	case ExpiryEndOfYear:
		at = time.Date(b.Year()+e.Years+1, time.January, 1, 0, 0, 0, 0, beijing)
	case ExpiryRolling:
		y, m := b.Year(), b.Month()+time.Month(e.Months)
		last := time.Date(y, m+1, 0, 0, 0, 0, 0, beijing).Day() // the target month's last day
		at = time.Date(y, m, min(b.Day(), last)+1, 0, 0, 0, 0, beijing)
	default:
		return time.Time{}
	}
	if at.Before(e.Start) {
		at = e.Start
	}
	return at
}

// ParseBeijingDate is 00:00 Beijing time of a date written 2026-01-01: the
// instant an expiry run "as of" that date counts from (lots whose expires_at
// is not after it expire).
func ParseBeijingDate(date string) (time.Time, error) {
	return time.ParseInLocation(time.DateOnly, date, beijing)
}

// expiryDoc is expiry: as written.
type expiryDoc struct {
	At     strictyaml.At `yaml:",inline"`
	Policy *scalar       `yaml:"policy"`
	Years  *scalar       `yaml:"years"`
	Months *scalar       `yaml:"months"`
	Start  *scalar       `yaml:"start"`
}

func (d *expiryDoc) expiry(field string) (*Expiry, error) {
	if d.Policy == nil {
		return nil, d.At.Fail(field, "expiry needs a policy: end_of_year, rolling or none")
	}
	policy, err := d.Policy.Value(strictyaml.Join(field, "policy"))
	if err != nil {
		return nil, err
	}
	e := &Expiry{Policy: policy}
	number := func(s *scalar, key string, lo, hi int64) (int, error) {
		n, err := s.count(strictyaml.Join(field, key))
		if err == nil && (n < lo || n > hi) {
			err = s.Fail(strictyaml.Join(field, key), "must be %d to %d, got %d", lo, hi, n)
		}
		return int(n), err
	}
	switch policy {
	case ExpiryNone:
		for _, k := range []struct {
			s   *scalar
			key string
		}{{d.Years, "years"}, {d.Months, "months"}, {d.Start, "start"}} {
			if k.s != nil {
				return nil, k.s.Fail(strictyaml.Join(field, k.key), "has no meaning with policy none")
			}
		}
		return e, nil
	case ExpiryEndOfYear:
		if d.Months != nil {
			return nil, d.Months.Fail(strictyaml.Join(field, "months"), "belongs to policy rolling; end_of_year counts years")
		}
		if d.Years == nil {
			return nil, d.At.Fail(strictyaml.Join(field, "years"), "policy end_of_year needs years: 0 (the year earned) to %d", maxExpiryYears)
		}
		if e.Years, err = number(d.Years, "years", 0, maxExpiryYears); err != nil {
			return nil, err
		}
	case ExpiryRolling:
		if d.Years != nil {
			return nil, d.Years.Fail(strictyaml.Join(field, "years"), "belongs to policy end_of_year; rolling counts months")
		}
		if d.Months == nil {
			return nil, d.At.Fail(strictyaml.Join(field, "months"), "policy rolling needs months: 1 to %d", maxExpiryMonths)
		}
		if e.Months, err = number(d.Months, "months", 1, maxExpiryMonths); err != nil {
			return nil, err
		}
	default:
		return nil, d.Policy.Fail(strictyaml.Join(field, "policy"), "must be end_of_year, rolling or none, got %q", policy)
	}
	if d.Start == nil {
		return nil, d.At.Fail(strictyaml.Join(field, "start"), "expiry needs start: the date (2026-01-01) before which no points expire, so turning expiry on never wipes old points overnight")
	}
	text, err := d.Start.Value(strictyaml.Join(field, "start"))
	if err != nil {
		return nil, err
	}
	if e.Start, err = ParseBeijingDate(text); err != nil {
		return nil, d.Start.Fail(strictyaml.Join(field, "start"), "%q is not a date such as 2026-01-01", text)
	}
	return e, nil
}

// expiryJSON is expiry: in the normalised rules.
type expiryJSON struct {
	Policy string `json:"policy"`
	Years  *int   `json:"years,omitempty"`
	Months int    `json:"months,omitempty"`
	Start  string `json:"start,omitempty"`
}

func (e *Expiry) toJSON() *expiryJSON {
	if e == nil {
		return nil
	}
	out := &expiryJSON{Policy: e.Policy, Months: e.Months}
	if e.Policy == ExpiryEndOfYear {
		out.Years = &e.Years
	}
	if e.Expires() {
		out.Start = e.Start.In(beijing).Format(time.DateOnly)
	}
	return out
}

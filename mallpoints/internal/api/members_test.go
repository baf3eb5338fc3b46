package api

import (
	"errors"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

func str(s string) *string { return &s }

// PUT /api/members/{mall}/{openid} takes any subset of its fields, checks
// each and stores the phone as its 11 digits.
func TestTheCRMsFieldsAreCheckedAndThePhoneNormalised(t *testing.T) {
	t.Parallel()
	const today = "2026-05-20"
	for _, c := range []struct {
		name  string
		req   memberRequest
		field string // at fault; "" when accepted
		phone string // as stored, when accepted with a phone
	}{
		{"nothing to set", memberRequest{}, "-", ""},
		{"a member id", memberRequest{MemberID: str("VIP-000123")}, "", ""},
		{"a member id in Chinese", memberRequest{MemberID: str("会员0001")}, "", ""},
		{"a member id with a space", memberRequest{MemberID: str("VIP 1")}, "member_id", ""},
		{"a member id with a control character", memberRequest{MemberID: str("VIP\x01")}, "member_id", ""},
		{"a member id of 65 bytes", memberRequest{MemberID: str("M0123456789012345678901234567890123456789012345678901234567890123")}, "member_id", ""},
		{"a member id cleared", memberRequest{MemberID: str("")}, "", ""},
		{"a unionid", memberRequest{UnionID: str("o6_bmasdasdsad6_2sgVt7hMZOPfL")}, "", ""},
		{"a unionid with a dot", memberRequest{UnionID: str("o6.bm")}, "unionid", ""},
		{"a mobile number", memberRequest{Phone: str("13812345678")}, "", "13812345678"},
		{"with +86", memberRequest{Phone: str("+8613812345678")}, "", "13812345678"},
		{"with 86 but no +", memberRequest{Phone: str("8613812345678")}, "phone", ""},
		{"with spaces", memberRequest{Phone: str("138 1234 5678")}, "phone", ""},
		{"with hyphens", memberRequest{Phone: str("138-1234-5678")}, "phone", ""},
		{"ten digits", memberRequest{Phone: str("1381234567")}, "phone", ""},
		{"twelve digits", memberRequest{Phone: str("138123456789")}, "phone", ""},
		{"not from 1", memberRequest{Phone: str("23812345678")}, "phone", ""},
		{"another country", memberRequest{Phone: str("+85291234567")}, "phone", ""},
		{"full-width digits", memberRequest{Phone: str("１３８１２３４５６７８")}, "phone", ""},
		{"a phone cleared", memberRequest{Phone: str("")}, "", ""},
		{"a birthday", memberRequest{Birthday: str("1990-05-20")}, "", ""},
		{"a birthday without the year", memberRequest{Birthday: str("05-20")}, "", ""},
		{"29 February without the year", memberRequest{Birthday: str("02-29")}, "", ""},
		{"29 February of a leap year", memberRequest{Birthday: str("2000-02-29")}, "", ""},
		{"29 February of another year", memberRequest{Birthday: str("2001-02-29")}, "birthday", ""},
		{"30 February", memberRequest{Birthday: str("02-30")}, "birthday", ""},
		{"month 13", memberRequest{Birthday: str("13-01")}, "birthday", ""},
		{"today", memberRequest{Birthday: str(today)}, "", ""},
		{"tomorrow", memberRequest{Birthday: str("2026-05-21")}, "birthday", ""},
		{"before 1900", memberRequest{Birthday: str("1899-12-31")}, "birthday", ""},
		{"a slash", memberRequest{Birthday: str("1990/05/20")}, "birthday", ""},
		{"a day without zero", memberRequest{Birthday: str("1990-5-20")}, "birthday", ""},
		{"a time", memberRequest{Birthday: str("1990-05-20T00:00:00Z")}, "birthday", ""},
		{"everything at once", memberRequest{MemberID: str("M1"), UnionID: str("u1"), Phone: str("+8613812345678"), Birthday: str("12-31")}, "", "13812345678"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := crmFields(c.req, today)
			var e *Error
			switch {
			case c.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.field == "-" && (!errors.As(err, &e) || e.Code != "INVALID_BODY"):
				t.Fatalf("error %v, want INVALID_BODY", err)
			case c.field != "" && c.field != "-" && (!errors.As(err, &e) || e.Field != c.field || e.Code != "INVALID_FIELD"):
				t.Fatalf("error %v, want INVALID_FIELD naming %s", err, c.field)
			}
			if c.phone != "" && (f.Phone == nil || *f.Phone != c.phone) {
				t.Errorf("phone stored as %v, want %s", f.Phone, c.phone)
			}
		})
	}
}

// Anyone but an administrator sees the phone as 138****5678 and the
// birthday as its month alone.
func TestPhoneAndBirthdayAreMaskedToTheirShape(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ phone, birthday, wantPhone, wantBirthday string }{
		{"13812345678", "1990-05-20", "138****5678", "--05"},
		{"13812345678", "12-31", "138****5678", "--12"},
		{"", "", "", ""},
	} {
		m := storage.Member{Phone: c.phone, Birthday: c.birthday, MemberID: "M1", UnionID: "U1"}.Masked()
		if m.Phone != c.wantPhone || m.Birthday != c.wantBirthday || m.MemberID != "M1" || m.UnionID != "U1" {
			t.Errorf("%q, %q masked as %q, %q (ids %q, %q)", c.phone, c.birthday, m.Phone, m.Birthday, m.MemberID, m.UnionID)
		}
	}
}

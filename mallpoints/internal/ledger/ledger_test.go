package ledger

import (
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

func TestABalanceNeverGoesBelowZeroAndTheRestIsTheShortfall(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name                                string
		balance, delta                      int64
		wantApplied, wantShort, wantBalance int64
	}{
		{"an earning", 10, 5, 5, 0, 15},
		{"a deduction covered", 10, -4, -4, 0, 6},
		{"a deduction to exactly zero", 10, -10, -10, 0, 0},
		{"a deduction past zero", 10, -15, -10, 5, 0},
		{"a deduction from nothing", 0, -3, 0, 3, 0},
	} {
		m := storage.Member{Balance: c.balance}
		applied, short := applyDelta(&m, c.delta)
		if applied != c.wantApplied || short != c.wantShort || m.Balance != c.wantBalance {
			t.Errorf("%s: applied %d shortfall %d balance %d; want %d %d %d", c.name, applied, short, m.Balance,
				c.wantApplied, c.wantShort, c.wantBalance)
		}
	}
}

func TestPseudonymsAreUnguessableAndNeverTheOpenID(t *testing.T) {
	t.Parallel()
	a, b := Pseudonym("1900000109", "oUser"), Pseudonym("1900000109", "oUser")
	if a == b {
		t.Error("the same member got the same pseudonym twice: it could be recomputed from the openid")
	}
	if !strings.HasPrefix(a, "erased_") || strings.Contains(a, "oUser") || len(a) > 64 {
		t.Errorf("pseudonym %q", a)
	}
}

package accounts

import (
	"context"
	"testing"
)

func TestEachRoleHoldsItsPermissionsAndMallScopesWithholdTheGlobalOnes(t *testing.T) {
	t.Parallel()
	scoped := func(r Role) Principal { return Principal{Name: "x", Role: r, Malls: []string{"1900000109"}} }
	all := func(r Role) Principal { return Principal{Name: "x", Role: r} }
	for _, c := range []struct {
		who  Principal
		perm Permission
		want bool
	}{
		{all(Viewer), Read, true},
		{all(Viewer), Feed, true},
		{all(Viewer), Metrics, true},
		{all(Viewer), Adjust, false},
		{all(Viewer), Redeem, false},
		{all(Viewer), Export, false},
		{all(Operator), Adjust, true},
		{all(Operator), Retry, true},
		{all(Operator), Export, true},
		{all(Operator), Simulate, true},
		{all(Operator), Preview, true},
		{all(Operator), Erase, false},
		{all(Operator), RunExpiry, false},
		{all(Operator), ManageUsers, false},
		{all(Operator), ReadAudit, false},
		{all(Admin), RunExpiry, true},
		{all(Admin), ManageUsers, true},
		{all(Admin), ReadAudit, true},
		{all(Admin), Erase, true},
		{all(Admin), Debug, true},
		{all(App), MemberStatus, true},
		{all(App), SetMember, true},
		{all(App), Redeem, true},
		{all(App), Feed, true},
		{all(App), Redeliver, true},
		{all(App), Read, false},
		{all(App), Adjust, false},
		{all(App), Metrics, false},
		{scoped(Viewer), Read, true},
		{scoped(Viewer), Metrics, false},
		{scoped(Admin), Adjust, true},
		{scoped(Admin), RunExpiry, false},
		{scoped(Admin), ManageUsers, false},
		{scoped(Admin), ReadAudit, false},
		{scoped(Admin), Debug, false},
		{scoped(App), Redeem, true},
		{Principal{}, Read, false},
		{Principal{}, Open, true},
		{all(Admin), "no such permission", false},
	} {
		if got := c.who.Can(c.perm); got != c.want {
			t.Errorf("%v can %s: %v, want %v", c.who, c.perm, got, c.want)
		}
	}
}

func TestEveryPermissionIsInTheTableOnceAndTheAdminHoldsEveryOne(t *testing.T) {
	t.Parallel()
	seen := map[Permission]bool{}
	for _, g := range Grants {
		if seen[g.Permission] {
			t.Errorf("%s is in the table twice", g.Permission)
		}
		seen[g.Permission] = true
		if !(Principal{Role: Admin}).Can(g.Permission) {
			t.Errorf("an unscoped admin lacks %s", g.Permission)
		}
	}
}

func TestAScopedPrincipalSeesItsMallsOnly(t *testing.T) {
	t.Parallel()
	p := Principal{Name: "li.na", Role: Viewer, Malls: []string{"1900000109", "1900000110"}}
	if !p.Sees("1900000110") || p.Sees("1900000111") || p.Sees("") {
		t.Error("a scoped principal sees another mall, or misses its own")
	}
	if !(Principal{Role: Viewer}).Sees("1900000111") {
		t.Error("an unscoped principal misses a mall")
	}
	ctx := WithPrincipal(context.Background(), p)
	if got, ok := FromContext(ctx); !ok || got.Name != "li.na" {
		t.Errorf("from the context: %+v, %v", got, ok)
	}
	if _, ok := FromContext(context.Background()); ok {
		t.Error("a context without a principal names one")
	}
}

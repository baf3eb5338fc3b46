package accounts

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestTheDocsTableIsThePermissionTable reads the table of docs/deploy.md's
// "Accounts and roles" and checks it row by row against Grants: the same
// permissions, each held by the same roles, open to the same accounts
// confined to malls.
func TestTheDocsTableIsThePermissionTable(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## Accounts and roles\n")
	if !ok {
		t.Fatal("docs/deploy.md has no ## Accounts and roles section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	columns := []Role{Viewer, Operator, Admin, App}
	documented := map[Permission]bool{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "| `") || len(cells) != 9 {
			continue
		}
		perm := Permission(strings.Trim(strings.TrimSpace(cells[1]), "`"))
		documented[perm] = true
		g, ok := grant(perm)
		if !ok {
			t.Errorf("the docs name permission %q, which Grants has not", perm)
			continue
		}
		for i, role := range columns {
			if got, want := strings.TrimSpace(cells[3+i]) == "✓", slices.Contains(g.Roles, role); got != want {
				t.Errorf("%s, %s: the docs say %v, Grants %v", perm, role, got, want)
			}
		}
		if got := strings.TrimSpace(cells[7]) == "✓"; got != g.Scoped {
			t.Errorf("%s with --malls: the docs say %v, Grants %v", perm, got, g.Scoped)
		}
	}
	for _, g := range Grants {
		if !documented[g.Permission] {
			t.Errorf("permission %s is not in the docs' table", g.Permission)
		}
	}
}

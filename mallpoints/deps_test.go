// Package mallpoints_test checks the boundary between the service module and
// the SDK: the service's dependencies (River, pgx, SQLite, YAML) must never
// reach an SDK user's module graph.
package mallpoints_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestTheSDKPackagesImportOnlyTheStandardLibrary(t *testing.T) {
	t.Parallel()
	sdk := []string{
		"github.com/seed2ac2593f/wxpay",
		"github.com/seed2ac2593f/wxpay/notify",
		"github.com/seed2ac2593f/wxpay/businesscircle",
		"github.com/seed2ac2593f/wxpay/sandbox",
	}
	out, err := exec.Command("go", append([]string{"list", "-deps", "-f",
		"{{if not .Standard}}{{.ImportPath}}{{end}}"}, sdk...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/seed2ac2593f/wxpay" && !strings.HasPrefix(p, "github.com/seed2ac2593f/wxpay/") {
			t.Errorf("the SDK depends on %s", p)
		}
		if strings.HasPrefix(p, "github.com/seed2ac2593f/wxpay/mallpoints") {
			t.Errorf("the SDK depends on the service: %s", p)
		}
	}
}

func TestTheSDKModuleRequiresNothing(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "require") {
			t.Errorf("the SDK's go.mod requires something: %q", line)
		}
	}
}

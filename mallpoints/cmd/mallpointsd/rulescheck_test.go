package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/testkit"
)

const checkRules = `default:
  daily_cap: 500
  first_payment_bonus: 50
  tiers:
    window_months: 12
    levels:
      - {name: 普卡, min_spend_fen: 0, multiplier: 1}
      - {name: 金卡, min_spend_fen: 20000, multiplier: 2}
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRulesCheckValidatesTheFileNamingTheLine(t *testing.T) {
	t.Parallel()
	good := writeFile(t, "good.yaml", checkRules)
	bad := writeFile(t, "bad.yaml", "default:\n  daily_cap: 500\n  fen_per_point: -1\n")
	for _, c := range []struct {
		name      string
		args      []string
		code      int
		out, errs string
	}{
		{"a valid file", []string{"check", good}, 0, "good.yaml: valid, version ", ""},
		{"a bad value, with its line", []string{"check", bad}, 1, "", "bad.yaml:3: default.fen_per_point"},
		{"a missing file", []string{"check", filepath.Join(t.TempDir(), "none.yaml")}, 1, "", "no such file"},
		{"no file", []string{"check"}, 2, "", "usage: mallpointsd rules check"},
		{"not check", []string{"lint", good}, 2, "", "usage"},
	} {
		var out, errs testkit.Buffer
		code := run(context.Background(), append([]string{"rules"}, c.args...), func(string) string { return "" }, nil, &out, &errs)
		if code != c.code || !strings.Contains(out.String(), c.out) || !strings.Contains(errs.String(), c.errs) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d, %q, %q", c.name, code, out.String(), errs.String(), c.code, c.out, c.errs)
		}
	}
}

func TestRulesCheckPreviewsACSVOfPaymentsInOrder(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "rules.yaml", checkRules)
	csv := writeFile(t, "payments.csv", `mall,openid,shop_number,amount,time_end,tier,spend_fen
1900000109,o1,S01,15000,2026-05-20T10:00:00+08:00,,
1900000109,o1,S01,10000,2026-05-20T10:01:00+08:00,,
1900000109,o1,S01,10000,2026-05-20T10:02:00+08:00,,
1900000109,o1,S01,10000,2026-05-20T10:03:00+08:00,,
1900000109,o2,S01,10000,2026-05-20T10:04:00+08:00,金卡,
1900000109,o3,S01,10000,2026-05-20T10:05:00+08:00,,30000
`)
	var out, errs testkit.Buffer
	if code := run(context.Background(), []string{"rules", "check", "--payments", csv, file}, func(string) string { return "" }, nil, &out, &errs); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 8 {
		t.Fatalf("stdout has %d lines; want the verdict, a header and 6 rows:\n%s", len(lines), out.String())
	}
	// points, bonus, tier: the bonus once, 金卡 from 200 yuan, the cap of 500.
	for i, want := range [][3]string{{"150", "50", "普卡"}, {"100", "0", "普卡"}, {"200", "0", "金卡"}, {"50", "0", "金卡"}, {"200", "50", "金卡"}, {"200", "50", "金卡"}} {
		f := strings.Fields(lines[i+2])
		if len(f) < 8 || f[5] != want[0] || f[6] != want[1] || f[7] != want[2] {
			t.Errorf("row %d: %q; want points %s, bonus %s, tier %s", i+2, lines[i+2], want[0], want[1], want[2])
		}
	}
	if !strings.Contains(lines[4], "tier 金卡 ×2 =200") {
		t.Errorf("row 4's explanation: %q", lines[4])
	}

	badCSV := writeFile(t, "bad.csv", "mall,openid,shop_number,amount,time_end\n1900000109,o1,S01,12.5,2026-05-20T10:00:00+08:00\n")
	out, errs = testkit.Buffer{}, testkit.Buffer{}
	if code := run(context.Background(), []string{"rules", "check", file, "--payments", badCSV}, func(string) string { return "" }, nil, &out, &errs); code != 1 ||
		!strings.Contains(errs.String(), "bad.csv:2: amount") {
		t.Errorf("a bad amount: exit %d, stderr %q; want 1 naming bad.csv:2: amount", code, errs.String())
	}
}

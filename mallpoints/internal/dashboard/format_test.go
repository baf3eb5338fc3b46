package dashboard

import (
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

func TestParseYuanReadsAtMostTwoDecimals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"123.45", 12345, true}, {"1", 100, true}, {"0.5", 50, true}, {" 2.00 ", 200, true},
		{"0", 0, false}, {"1.234", 0, false}, {"-1", 0, false}, {"1e3", 0, false}, {"", 0, false}, {".5", 0, false},
		{"1234567890", 0, false},
	} {
		got, err := parseYuan(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseYuan(%q) = %d, %v; want %d, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestExportKeepsSpreadsheetsFromReadingTextAsAFormula(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "+1": "'+1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)",
		"oUpF8uMuAJO": "oUpF8uMuAJO", "": "", "refund of 100": "refund of 100",
	} {
		if got := text(in); got != want {
			t.Errorf("text(%q) = %q, want %q", in, got, want)
		}
	}
	d := &Dashboard{cfg: Config{MallName: func(string) string { return "@朝阳大悦城" }}}
	row := d.exportRow(storage.DayEntry{Entry: storage.Entry{Seq: 7, Mall: "1900000109", Kind: "refund", Points: -3, Reason: "=cmd"},
		ShopNumber: "S01", ShopName: "-shop", Amount: 123450})
	want := map[string]string{"seq": "7", "mall": "1900000109", "mall_name": "'@朝阳大悦城", "shop_number": "S01",
		"shop_name": "'-shop", "amount_yuan": "1234.50", "points": "-3", "reason": "'=cmd"}
	if len(row) != len(exportColumns) {
		t.Fatalf("row of %d cells, header of %d", len(row), len(exportColumns))
	}
	for i, col := range exportColumns {
		if w, ok := want[col]; ok && row[i] != w {
			t.Errorf("%s: %q, want %q (numbers stay numbers, text is defused)", col, row[i], w)
		}
	}
}

func TestChartScalesBarsAndLineToTheirMaxima(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC) // 08:00 in Beijing
	c := newChart(newTestDashboard(t).langs[English], []storage.Hour{{Start: start, Payments: 2, Points: 10}, {Start: start.Add(time.Hour), Payments: 4, Points: 0}})
	if c.MaxPayments != 4 || c.MaxPoints != 10 || len(c.Bars) != 2 {
		t.Fatalf("chart %+v", c)
	}
	if full := float64(chartHeight - chartTop); c.Bars[1].H != full || c.Bars[0].H != full/2 {
		t.Errorf("bar heights %v and %v, want %v and half", c.Bars[0].H, c.Bars[1].H, full)
	}
	if c.Bars[0].Title != "08:00–09:00: 2 payments, 10 points" {
		t.Errorf("tooltip %q", c.Bars[0].Title)
	}
}

func TestAnAuditCSVRowKeepsValuesAsWrittenAndDefusesFormulas(t *testing.T) {
	t.Parallel()
	row := auditRow(storage.AuditEntry{ID: 9, At: time.Date(2026, 5, 20, 4, 0, 0, 0, time.UTC), Actor: "=evil", RemoteAddr: "2001:db8::1",
		Action: "tier.set", Mall: "1900000109", Subject: "-1+1", Before: []byte(`{"tier":""}`), After: []byte(`{"tier":"@gold"}`)})
	want := []string{"9", "2026-05-20T12:00:00+08:00", "'=evil", "2001:db8::1", "tier.set", "1900000109", "'-1+1", `{"tier":""}`, `{"tier":"@gold"}`, ""}
	if len(row) != len(auditColumns) {
		t.Fatalf("row of %d cells, header of %d", len(row), len(auditColumns))
	}
	for i := range want {
		if row[i] != want[i] {
			t.Errorf("%s: %q, want %q", auditColumns[i], row[i], want[i])
		}
	}
}

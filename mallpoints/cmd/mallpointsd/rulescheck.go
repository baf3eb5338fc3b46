package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

// rulesUsage is the help of `mallpointsd rules`.
const rulesUsage = `usage: mallpointsd rules check FILE [--payments CSV]

Validates the rules file FILE; a problem is printed with its line and the
exit code is 1. With --payments, previews what each payment of the CSV would
earn under FILE, in order, each member starting with no history: the earlier
rows are the history of the later ones, as in the ledger. The CSV has a
header naming its columns: mall,openid,shop_number,amount,time_end and
optionally tier and spend_fen (amount and spend_fen in fen, time_end RFC 3339).
`

// rulesCommand runs `mallpointsd rules …` and returns the exit code: 0, 1
// for a file or CSV that does not pass, 2 for a wrong command line.
func rulesCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mallpointsd rules check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, rulesUsage) }
	payments := fs.String("payments", "", "a CSV of payments to preview")
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprint(stderr, rulesUsage)
		return 2
	}
	// The file may come before or after the flag.
	var files []string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) != 1 {
		fmt.Fprint(stderr, rulesUsage)
		return 2
	}
	set, err := rules.Load(files[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: valid, version %s\n", files[0], set.Version())
	if *payments == "" {
		return 0
	}
	ps, err := readPayments(*payments, set)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	outs, err := ledger.Preview(ctx, nil, set, ps, nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "row\tmall\topenid\tshop\tamount\tpoints\tbonus\ttier\tremark\texplanation")
	for i, o := range outs {
		p := ps[i]
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", i+2, p.MchID, p.OpenID, p.ShopNumber, p.Amount,
			o.Points, o.Bonus, o.Tier, o.NoPointsRemarks, steps(o.Steps))
	}
	w.Flush()
	return 0
}

// steps writes an explanation on one line: "base 150 → tier 金卡 ×2 300 → daily_cap 500 300".
func steps(ss []rules.Step) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		b := []string{s.Step}
		if s.Name != "" {
			b = append(b, s.Name)
		}
		switch {
		case s.Multiplier != "":
			b = append(b, "×"+s.Multiplier)
		case s.Cap != nil:
			b = append(b, strconv.FormatInt(*s.Cap, 10))
		case s.Bonus != 0:
			b = append(b, "+"+strconv.FormatInt(s.Bonus, 10))
		}
		parts[i] = strings.Join(append(b, "="+strconv.FormatInt(s.Points, 10)), " ")
	}
	return strings.Join(parts, " → ")
}

// readPayments reads the CSV at path; an error names its row (the header
// is row 1) and column.
func readPayments(path string, set *rules.Set) ([]ledger.PreviewPayment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(io.LimitReader(f, rules.MaxSize+1))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: a header is required: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !slices.Contains([]string{"mall", "openid", "shop_number", "amount", "time_end", "tier", "spend_fen"}, h) {
			return nil, fmt.Errorf("%s:1: unknown column %q (mall,openid,shop_number,amount,time_end[,tier,spend_fen])", path, h)
		}
		col[h] = i
	}
	for _, need := range []string{"mall", "openid", "shop_number", "amount", "time_end"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s:1: the header lacks column %s", path, need)
		}
	}
	var ps []ledger.PreviewPayment
	for row := 2; ; row++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		bad := func(name, format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s: %s", path, row, name, fmt.Sprintf(format, args...))
		}
		p := ledger.PreviewPayment{Payment: rules.Payment{MchID: get("mall"), ShopNumber: get("shop_number")},
			OpenID: get("openid"), Tier: get("tier")}
		if p.MchID == "" || p.OpenID == "" {
			return nil, bad("mall, openid", "both are required")
		}
		if p.Amount, err = strconv.ParseInt(get("amount"), 10, 64); err != nil || p.Amount < 0 {
			return nil, bad("amount", "want a whole number of fen, 0 or more, not %q", get("amount"))
		}
		if p.TimeEnd, err = businesscircle.ParseTime(get("time_end")); err != nil {
			return nil, bad("time_end", "want RFC 3339 such as 2026-05-20T12:00:00+08:00, not %q", get("time_end"))
		}
		if p.Tier != "" && !set.HasTier(p.MchID, p.Tier) {
			return nil, bad("tier", "the rules give mall %s no tier %q", p.MchID, p.Tier)
		}
		if s := get("spend_fen"); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return nil, bad("spend_fen", "want a whole number of fen, 0 or more, not %q", s)
			}
			p.SpendFen = &n
		}
		ps = append(ps, p)
	}
	return ps, nil
}

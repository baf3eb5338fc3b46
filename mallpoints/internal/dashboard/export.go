package dashboard

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

func (d *Dashboard) exportForm(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, http.StatusOK, "export", page{Title: d.lang(r).T("title.export"), Nav: "export",
		Data: map[string]any{"Day": d.cfg.Now().In(beijing).Format(time.DateOnly)}})
}

// exportColumns is the CSV's header row: the entry's number and time, its
// mall (mchid and name), the shop of its payment, the member, what caused
// it and the amount of its payment or refund in yuan, then the points and
// the keys that tie it to its cause.
var exportColumns = []string{"seq", "created_at", "mall", "mall_name", "shop_number", "shop_name", "openid", "kind",
	"amount_yuan", "points", "requested", "shortfall", "balance_after", "transaction_id", "refund_id", "idempotency_key",
	"notification_id", "commit_tag", "rule_version", "reason"}

// exportCSV writes the ledger entries of one Beijing day (?day=2006-01-02),
// in seq order (each mall's commit order), for reconciliation with the
// mall's CRM: the entries of the malls the viewer sees. The file is UTF-8
// with a byte-order mark, which Excel on Chinese Windows needs to read it as
// UTF-8 rather than in the local code page. It reads the day in pages, so a
// busy day is never held in memory whole. Of a day still under way it lists
// what had committed, and can leave out an entry that commits during the
// download after another mall's higher seq was written: reconcile a day
// once it is over.
func (d *Dashboard) exportCSV(w http.ResponseWriter, r *http.Request) {
	dayParam := r.URL.Query().Get("day")
	day, err := time.ParseInLocation(time.DateOnly, dayParam, beijing)
	if err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(d.lang(r).T("export.bad.day") + "\n"))
		return
	}
	from, to := day, day.AddDate(0, 0, 1)
	const pageSize = 1000
	first, err := d.cfg.DB.EntriesBetween(r.Context(), scope(r), from, to, 0, pageSize)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="ledger-`+day.Format(time.DateOnly)+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("\ufeff"))
	cw := csv.NewWriter(w)
	cw.Write(exportColumns)
	rows := 0
	for list := first; len(list) > 0; {
		for _, e := range list {
			cw.Write(d.exportRow(e))
		}
		rows += len(list)
		if len(list) < pageSize {
			break
		}
		if list, err = d.cfg.DB.EntriesBetween(r.Context(), scope(r), from, to, list[len(list)-1].Seq, pageSize); err != nil {
			// The header is sent: end the file with a line that says it is cut short.
			d.cfg.Logger.ErrorContext(r.Context(), "dashboard: export cut short", "day", dayParam, "error", err)
			cw.Write([]string{"# export failed here; download the file again"})
			break
		}
	}
	cw.Flush()
	d.record(r, storage.AuditEntry{Action: "export.ledger",
		After: storage.AuditValues(map[string]any{"day": day.Format(time.DateOnly), "rows": rows})})
}

func (d *Dashboard) exportRow(e storage.DayEntry) []string {
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	name := ""
	if d.cfg.MallName != nil {
		name = d.cfg.MallName(e.Mall)
	}
	amount := ""
	if e.Amount != 0 {
		amount = fmt.Sprintf("%d.%02d", e.Amount/100, e.Amount%100)
	}
	return []string{i(e.Seq), e.CreatedAt.In(beijing).Format(time.RFC3339Nano), text(e.Mall), text(name),
		text(e.ShopNumber), text(e.ShopName), text(e.OpenID), e.Kind, amount, i(e.Points), i(e.Requested),
		i(e.Shortfall), i(e.BalanceAfter), text(e.TransactionID), text(e.RefundID), text(e.IdempotencyKey),
		text(e.NotificationID), text(e.CommitTag), e.RuleVersion, text(e.Reason)}
}

// text keeps a spreadsheet from reading a text field as a formula or a
// command, following OWASP's advice on CSV injection: a value that starts
// with a formula character (= + - @, their fullwidth forms, | and ;), a
// tab, a carriage return, a line feed or NUL, or with any space, control or
// invisible character a spreadsheet may skip before one (NBSP, ideographic
// space, zero-width space, a byte-order mark), gets a leading apostrophe.
// encoding/csv quotes values holding separators and quotes. The numeric
// columns are written as they are.
func text(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	if s != "" && (strings.ContainsRune(formulaStarts, r) || unicode.IsSpace(r) || unicode.IsControl(r) ||
		unicode.Is(unicode.Cf, r) || r == utf8.RuneError) {
		return "'" + s
	}
	return s
}

// formulaStarts are the first characters that make a spreadsheet evaluate
// a cell (fullwidth forms included: some spreadsheets fold them).
const formulaStarts = "=+-@|;\uff1d\uff0b\uff0d\uff20"

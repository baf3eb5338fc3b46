package interop

import (
	"fmt"
	"strings"
	"testing"
)

// expect is what a peer must make of a scenario: the cell of the README.
type expect struct {
	accept      bool
	check       string // the check that refuses it, when !accept
	downloads   bool   // the peer fetches GET /v3/certificates during it
	redelivered bool   // a refused notification's re-delivery is accepted
}

var (
	accepted   = expect{accept: true}
	signature  = expect{check: "signature"}
	timestamp  = expect{check: "timestamp"}
	serial     = expect{check: "serial"}
	noKey      = expect{check: "no key"} // gopay off: VerifySignByPKMap has no key at all
	probed     = expect{check: "signature", redelivered: true}
	fellBack   = expect{check: "serial", downloads: true}
	downloaded = expect{accept: true, downloads: true}
	apiError   = expect{check: "status"}
)

// row fills one scenario's cells, column by column in the order of columns.
func row(cells ...expect) []expect { return cells }

// expectations is the table: scenario → cells in the order of columns
// (axios pubkey, axios platform, wechatpay-go pubkey, platform, auto,
// gopay pubkey, platform, auto, off). It is exactly what
// docs/protocol.md §11 says each peer checks.
var expectations = map[string][]expect{
	//                     axios/pubkey axios/platform  wxgo/pubkey wxgo/platform wxgo/auto  gopay/pubkey gopay/platform gopay/auto gopay/off
	"points":               row(accepted, accepted, accepted, accepted, accepted, accepted, accepted, accepted, accepted),
	"authorization":        row(accepted, accepted, accepted, accepted, accepted, accepted, accepted, accepted, accepted),
	"parking":              row(accepted, accepted, accepted, accepted, accepted, accepted, accepted, accepted, accepted),
	"notification":         row(accepted, accepted, accepted, accepted, accepted, accepted, accepted, accepted, noKey),
	"bad-signature":        row(signature, signature, signature, signature, signature, signature, signature, signature, accepted),
	"stale-600":            row(timestamp, timestamp, timestamp, timestamp, timestamp, accepted, accepted, accepted, accepted),
	"stale-300":            row(accepted, accepted, timestamp, timestamp, timestamp, accepted, accepted, accepted, accepted),
	"stale-301":            row(timestamp, timestamp, timestamp, timestamp, timestamp, accepted, accepted, accepted, accepted),
	"unknown-serial":       row(serial, serial, serial, serial, serial, fellBack, fellBack, fellBack, accepted),
	"param-error":          row(apiError, apiError, apiError, apiError, apiError, apiError, apiError, apiError, apiError),
	"system-error":         row(apiError, apiError, apiError, apiError, apiError, apiError, apiError, apiError, apiError),
	"probe":                row(signature, signature, signature, signature, signature, signature, signature, signature, accepted),
	"platform-cert-answer": row(serial, accepted, serial, accepted, accepted, downloaded, accepted, accepted, accepted),
	"notification-probe":   row(probed, probed, probed, probed, probed, probed, probed, probed, noKey),
	"notification-stale":   row(timestamp, timestamp, timestamp, timestamp, timestamp, accepted, accepted, accepted, noKey),
}

// TestExpectationsComplete keeps the table rectangular and its names known.
func TestExpectationsComplete(t *testing.T) {
	for _, sc := range scenarios {
		if got := len(expectations[sc.name]); got != len(columns) {
			t.Errorf("expectations[%q] has %d cells, want one per column (%d)", sc.name, got, len(columns))
		}
	}
	if len(expectations) != len(scenarios) {
		t.Errorf("expectations has %d rows, scenarios %d", len(expectations), len(scenarios))
	}
}

// check compares what a peer did with what it must do.
func (want expect) compare(got observed) string {
	var problems []string
	switch {
	case want.accept && !got.Accepted:
		problems = append(problems, fmt.Sprintf("rejected (%s: %s), want accepted", got.Check, got.Detail))
	case !want.accept && got.Accepted:
		problems = append(problems, fmt.Sprintf("accepted, want rejected by the %s check", want.check))
	case !want.accept && got.Check != want.check:
		problems = append(problems, fmt.Sprintf("rejected by the %s check (%s), want the %s check", got.Check, got.Detail, want.check))
	}
	if want.downloads != got.downloads {
		problems = append(problems, fmt.Sprintf("GET /v3/certificates during the scenario: %v, want %v", got.downloads, want.downloads))
	}
	if want.redelivered && !got.redelivered {
		problems = append(problems, "the notification's re-delivery was not accepted")
	}
	return strings.Join(problems, "; ")
}

// cell is the README's text for an expectation.
func (want expect) cell() string {
	var s string
	if want.accept {
		s = "✅ accepted"
	} else {
		s = "❌ " + want.check
	}
	if want.downloads {
		s += " (after `GET /v3/certificates`)"
	}
	if want.redelivered {
		s += ", re-delivery ✅"
	}
	return s
}

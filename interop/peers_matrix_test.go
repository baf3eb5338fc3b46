package interop

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// TestPeers runs every scenario with every peer in every key mode against a
// fresh sandbox and holds each outcome to the table in expectations.
func TestPeers(t *testing.T) {
	for i, col := range columns {
		t.Run(col.id, func(t *testing.T) {
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					want := expectations[sc.name][i]
					mode := col.sandboxMode
					if sc.sandboxMode != nil {
						mode = *sc.sandboxMode
					}
					e := newEnv(t, mode)
					c := col.connect(t, e)
					before := e.log.count("/" + sandbox.PathCertificates)
					got := sc.run(t, e, c)
					downloads := e.log.count("/"+sandbox.PathCertificates) > before
					for _, o := range got {
						o.downloads = downloads
						if problem := want.compare(o); problem != "" {
							t.Errorf("%s, %s: %s", col.peer+" "+col.mode, o.call, problem)
						} else if !o.Accepted {
							t.Logf("%s: rejected as expected: %s", o.call, o.Detail)
						}
					}
				})
			}
		})
	}
}

var update = flag.Bool("update", false, "rewrite the generated table in README.md")

const (
	tableBegin = "<!-- BEGIN GENERATED TABLE: go test -run TestREADMETable -update -->"
	tableEnd   = "<!-- END GENERATED TABLE -->"
)

// TestREADMETable keeps the README's table equal to the expectations the
// tests assert.
func TestREADMETable(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	begin, end := strings.Index(s, tableBegin), strings.Index(s, tableEnd)
	if begin < 0 || end < begin {
		t.Fatalf("README.md lacks the markers %q and %q", tableBegin, tableEnd)
	}
	want := s[:begin+len(tableBegin)] + "\n" + generatedTable() + s[end:]
	if want == s {
		return
	}
	if *update {
		if err := os.WriteFile("README.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's table differs from the expectations; run `go test -run TestREADMETable -update` in interop/")
}

// generatedTable is the Markdown between the markers.
func generatedTable() string {
	var b strings.Builder
	b.WriteString("\n| scenario | made by |")
	for _, c := range columns {
		fmt.Fprintf(&b, " %s<br>%s |", c.peer, c.mode)
	}
	b.WriteString("\n|---|---|")
	for range columns {
		b.WriteString("---|")
	}
	for _, sc := range scenarios {
		fmt.Fprintf(&b, "\n| `%s` | %s |", sc.name, sc.via)
		for _, cell := range expectations[sc.name] {
			fmt.Fprintf(&b, " %s |", cell.cell())
		}
	}
	b.WriteString("\n\nScenarios:\n\n")
	for _, sc := range scenarios {
		fmt.Fprintf(&b, "- `%s`: %s.\n", sc.name, sc.about)
	}
	b.WriteString("\nWhy each peer rejects, in its own words:\n\n")
	for _, r := range reasons {
		fmt.Fprintf(&b, "- **%s**, %s: %s\n", r.peer, r.check, r.why)
	}
	b.WriteString("\n")
	return b.String()
}

// reasons explains each rejection of the table: the peer's check and error.
var reasons = []struct{ peer, check, why string }{
	{"wechatpay-axios-plugin", "signature", "`EV3_RES_HEADER_SIGNATURE_DIGEST`: `Rsa.verify` of `timestamp\\nnonce\\nbody\\n` with `certs[Wechatpay-Serial]` fails (a probe's `WECHATPAY/SIGNTEST/` value never verifies)"},
	{"wechatpay-axios-plugin", "timestamp", "`EV3_RES_HEADER_TIMESTAMP_OFFSET`: `abs(now − Wechatpay-Timestamp) > 300`, so exactly 300 s passes and 301 s fails"},
	{"wechatpay-axios-plugin", "serial", "`EV3_RES_HEADER_PLATFORM_SERIAL`: `Wechatpay-Serial` is not a key of the `certs` given to the constructor (it never downloads)"},
	{"wechatpay-axios-plugin", "status", "axios's own `ERR_BAD_REQUEST` / `ERR_BAD_RESPONSE` (`Request failed with status code 400`), `err.response.data` holding WeChat Pay's `code`; non-2xx answers are not verified"},
	{"wechatpay-go", "status", "`*core.APIError` with `Code` (`error http response:[StatusCode: 400 Code: \"PARAM_ERROR\"…`), checked before any verification"},
	{"gopay", "status", "`err == nil` with `rsp.Code` the HTTP status and `rsp.Error` the body: callers must test `rsp.Code`"},
	{"wechatpay-go", "signature", "`verify signature with public key error:crypto/rsa: verification error` (certificate mode: `…err:…`); a probe fails earlier, `verify failed: signature is not base64 encoded`"},
	{"wechatpay-go", "timestamp", "`timestamp=[…] expires`: `abs(now − Wechatpay-Timestamp) >= 300`, so exactly 300 s already fails"},
	{"wechatpay-go", "serial", "public key: `key-id[PUB_KEY_ID_…] does not match serial number[…]`; certificates: `certificate[…] not found in verifier` (the automatic mode downloads every 24 h, not on an unknown serial)"},
	{"gopay", "signature", "`[verify signature error]: crypto/rsa: verification error` (`errors.Is(err, gopay.VerifySignatureErr)`)"},
	{"gopay", "serial", "answers: an unknown `Wechatpay-Serial` makes it call `AutoVerifySign(false)`, a `GET /v3/certificates`, then `auto verify sign, but public key not found`, or `[get all public key err]` when that download is refused (404 in public-key mode); notifications: `VerifySignByPKMap` finds no key for the serial, `wxPublicKey is nil`"},
	{"gopay", "no key", "verification off, the client holds no WeChat Pay key, so `VerifySignByPKMap(c.WxPublicKeyMap())` refuses every notification with `[verify signature error]: wxPublicKey is nil`"},
	{"gopay", "no timestamp check", "gopay never compares `Wechatpay-Timestamp` with its clock: a correctly signed answer or notification of any age is accepted (its known weakness)"},
	{"gopay", "off", "without `AutoVerifySignByCert` or `AutoVerifySign()` gopay verifies no answer at all, so every fault is accepted"},
}

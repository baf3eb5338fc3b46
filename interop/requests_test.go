package interop

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// TestPeerRequestsAsObserved checks that each peer still sends what
// docs/protocol.md §11 records, and that the sandbox
// accepts each shape: the Authorization pairs in the peer's own order, the
// body bytes as the peer made them (a trailing newline, HTML escapes or raw
// UTF-8) and Wechatpay-Serial present, absent or empty.
func TestPeerRequestsAsObserved(t *testing.T) {
	wxgoOrder := []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"}
	tests := []struct {
		column     string
		order      []string
		userAgent  string
		newline    bool   // the body ends with "\n"
		remark     string // how "商品不属于积分商品 <&>" appears in the body
		serial     string // Wechatpay-Serial: "-" absent, else its value
		requestID  *regexp.Regexp
		contentTyp string
	}{
		{"axios/pubkey", []string{"mchid", "serial_no", "timestamp", "nonce_str", "signature"},
			"wechatpay-axios-plugin/0.9.6 axios/1.21.1 ", false, `"商品不属于积分商品 <&>"`, "-", nil, "application/json; charset=utf-8"},
		{"wechatpay-go/pubkey", wxgoOrder, "WechatPay-Go/0.2.21 ", true, `"商品不属于积分商品 \u003c\u0026\u003e"`, testKeys.PublicKeyID, nil, "application/json"},
		{"gopay/pubkey", wxgoOrder, "Go-http-client/", false, `"商品不属于积分商品 \u003c\u0026\u003e"`, testKeys.PublicKeyID,
			regexp.MustCompile(`^[0-9A-Za-z]{21}-[0-9]{10}$`), "application/json"},
		{"gopay/off", wxgoOrder, "Go-http-client/", false, `"商品不属于积分商品 \u003c\u0026\u003e"`, "", nil, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.column, func(t *testing.T) {
			i := slices.IndexFunc(columns, func(c column) bool { return c.id == tt.column })
			col := columns[i]
			e := newEnv(t, col.sandboxMode)
			c := col.connect(t, e)
			e.authorize()
			p := e.pay(100)
			if o := c.pointsSync(t, pointsBody(p.TransactionID), 0); !o.Accepted {
				t.Fatalf("points sync: %s %s", o, o.Detail)
			}
			var r captured
			for _, c := range e.log.all() {
				if c.Target == "/"+sandbox.PathPointsNotify {
					r = c
				}
			}
			if r.Method == "" {
				t.Fatal("the sandbox saw no points sync")
			}
			if got := authorizationOrder(r.Authorization); !slices.Equal(got, tt.order) {
				t.Errorf("Authorization pairs in order %v, want %v", got, tt.order)
			}
			if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, tt.userAgent) {
				t.Errorf("User-Agent %q, want %q…", ua, tt.userAgent)
			}
			if ct := r.Header.Get("Content-Type"); ct != tt.contentTyp {
				t.Errorf("Content-Type %q, want %q", ct, tt.contentTyp)
			}
			if got := strings.HasSuffix(r.Body, "\n"); got != tt.newline {
				t.Errorf("body ends with a newline: %v, want %v (%q)", got, tt.newline, r.Body)
			}
			if !strings.Contains(r.Body, tt.remark) {
				t.Errorf("body %s lacks %s", r.Body, tt.remark)
			}
			v, present := r.Header["Wechatpay-Serial"]
			switch {
			case tt.serial == "-" && present:
				t.Errorf("Wechatpay-Serial %q sent, want none", v)
			case tt.serial != "-" && (!present || len(v) != 1 || v[0] != tt.serial):
				t.Errorf("Wechatpay-Serial %q (present %v), want %q", v, present, tt.serial)
			}
			if tt.requestID != nil && !tt.requestID.MatchString(r.Header.Get("Request-Id")) {
				t.Errorf("Request-Id %q, want %s", r.Header.Get("Request-Id"), tt.requestID)
			}
		})
	}
}

// authorizationOrder lists the keys of an Authorization header's pairs.
func authorizationOrder(h string) []string {
	_, rest, _ := strings.Cut(h, " ")
	var keys []string
	for _, p := range strings.Split(rest, ",") {
		k, _, _ := strings.Cut(p, "=")
		keys = append(keys, k)
	}
	return keys
}

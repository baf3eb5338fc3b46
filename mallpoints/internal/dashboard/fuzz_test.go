package dashboard

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzSessionCookie: any cookie a client sends is refused unless it is a
// session the token signed and it has not expired; nothing panics.
func FuzzSessionCookie(f *testing.F) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	good := sessionValue("tok", now.Add(time.Hour))
	for _, s := range []string{good, "", ".", "1.", ".x", "99999999999999999999.x", good + "x", "-1." + good[11:]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", SessionCookie+"="+v)
		if validSession(r, "tok", now) {
			c, _ := r.Cookie(SessionCookie)
			exp, _, _ := strings.Cut(c.Value, ".")
			unix, err := strconv.ParseInt(exp, 10, 64)
			if err != nil || c.Value != sessionValue("tok", time.Unix(unix, 0)) || unix <= now.Unix() {
				t.Fatalf("accepted %q", v)
			}
		}
	})
}

// FuzzParseYuan: an accepted amount is positive and reads back as written.
func FuzzParseYuan(f *testing.F) {
	for _, s := range []string{"123.45", "1", "0.01", "1.2.3", "-1", "１２", "999999999.99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fen, err := parseYuan(s)
		if err != nil {
			return
		}
		if fen <= 0 {
			t.Fatalf("parseYuan(%q) = %d", s, fen)
		}
		again, err := parseYuan(strconv.FormatInt(fen/100, 10) + "." + strconv.FormatInt(fen%100+100, 10)[1:])
		if err != nil || again != fen {
			t.Fatalf("parseYuan(%q) = %d does not read back: %d, %v", s, fen, again, err)
		}
	})
}

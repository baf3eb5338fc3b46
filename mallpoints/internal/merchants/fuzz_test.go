package merchants

import (
	"errors"
	"testing"
)

// FuzzParse: whatever the file holds, parse returns specs or an *Error,
// never panics, and an *Error names a line within the file.
func FuzzParse(f *testing.F) {
	f.Add([]byte("merchants:\n  - mchid: \"1900000109\"\n    private_key: k.pem\n    merchant_serial: AB\n    wechatpay_public_key: p.pem\n    wechatpay_public_key_id: PUB_KEY_ID_01\n    apiv3_key_env: K\n"))
	f.Add([]byte("merchants:\n  - mchid: \"1\"\n    mode: partner\n    sub_mchids: [\"2\", \"2\"]\n"))
	f.Add([]byte("merchants: [&a {mchid: 1}, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parse(data, "/keys")
		if err == nil {
			return
		}
		e, ok := errors.AsType[*Error](err)
		if !ok {
			t.Fatalf("not an *Error: %T %v", err, err)
		}
		if lines := 1 + countLines(data); e.Line < 0 || e.Line > lines+1 {
			t.Fatalf("line %d of a file of %d lines: %v", e.Line, lines, err)
		}
	})
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' || c == '\r' { // YAML counts a lone CR as a line break too
			n++
		}
	}
	return n
}

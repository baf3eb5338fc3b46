package wxauth

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseAuthorization(t *testing.T) {
	t.Parallel()
	const pairs = `mchid="1900000109",nonce_str="N",signature="S",timestamp="1795435200",serial_no="X"`
	want := Authorization{MchID: "1900000109", NonceStr: "N", Signature: "S", Timestamp: "1795435200", SerialNo: "X"}
	cases := []struct {
		name   string
		header string
		err    error
	}{
		{"WeChat Pay's example order", SignatureScheme + " " + pairs, nil},
		{"wechatpay-go order", SignatureScheme + ` mchid="1900000109",nonce_str="N",timestamp="1795435200",serial_no="X",signature="S"`, nil},
		{"axios plugin order", SignatureScheme + ` mchid="1900000109",serial_no="X",timestamp="1795435200",nonce_str="N",signature="S"`, nil},
		{"spaces after commas", SignatureScheme + ` mchid="1900000109", nonce_str="N", signature="S", timestamp="1795435200", serial_no="X"`, nil},
		{"other scheme", "WECHATPAY2-SM2-WITH-SM3 " + pairs, ErrAuthorizationScheme},
		{"lower-case scheme", strings.ToLower(SignatureScheme) + " " + pairs, ErrAuthorizationScheme},
		{"no scheme", pairs, ErrAuthorizationScheme},
		{"scheme alone", SignatureScheme, ErrAuthorizationFormat},
		{"scheme and a space", SignatureScheme + " ", ErrAuthorizationFormat},
		{"missing serial_no", SignatureScheme + ` mchid="1900000109",nonce_str="N",signature="S",timestamp="1795435200"`, ErrAuthorizationFormat},
		{"duplicate key", SignatureScheme + " " + pairs + `,mchid="1"`, ErrAuthorizationFormat},
		{"unknown key", SignatureScheme + " " + pairs + `,extra="1"`, ErrAuthorizationFormat},
		{"unquoted value", SignatureScheme + ` mchid=1900000109,nonce_str="N",signature="S",timestamp="1795435200",serial_no="X"`, ErrAuthorizationFormat},
		{"unterminated quote", SignatureScheme + ` mchid="1900000109`, ErrAuthorizationFormat},
		{"empty value", SignatureScheme + ` mchid="",nonce_str="N",signature="S",timestamp="1795435200",serial_no="X"`, ErrAuthorizationFormat},
		{"trailing comma", SignatureScheme + " " + pairs + ",", ErrAuthorizationFormat},
		{"semicolons", SignatureScheme + " " + strings.ReplaceAll(pairs, ",", ";"), ErrAuthorizationFormat},
		{"millisecond-looking timestamp still digits", SignatureScheme + ` mchid="1900000109",nonce_str="N",signature="S",timestamp="1795435200000",serial_no="X"`, nil},
		{"timestamp with sign", SignatureScheme + ` mchid="1900000109",nonce_str="N",signature="S",timestamp="-1",serial_no="X"`, ErrAuthorizationFormat},
	}
	for _, tc := range cases {
		got, err := ParseAuthorization(tc.header)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: err = %v, want %v", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if tc.name != "millisecond-looking timestamp still digits" && got != want {
			t.Errorf("%s: got %+v", tc.name, got)
		}
	}
}

func TestNoncesAreBase62AndDistinct(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		n := NewNonce()
		if len(n) != NonceLength || strings.Trim(n, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != "" {
			t.Fatalf("nonce %q", n)
		}
		if seen[n] {
			t.Fatalf("nonce %q repeated", n)
		}
		seen[n] = true
	}
}

// FuzzParseAuthorization: any input either parses into five non-empty
// fields with a numeric timestamp, or fails with one of the two sentinels.
func FuzzParseAuthorization(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "vectors", "vectors.json"))
	if err != nil {
		f.Fatal(err)
	}
	var v struct {
		AuthorizationParsing []struct{ Header string } `json:"authorization_parsing"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		f.Fatal(err)
	}
	for _, c := range v.AuthorizationParsing {
		f.Add(c.Header)
	}
	f.Add(SignatureScheme + ` mchid="1", nonce_str="2",signature="3",timestamp="4",serial_no="5"`)
	f.Add(SignatureScheme + ` mchid="1",,`)
	f.Fuzz(func(t *testing.T, header string) {
		a, err := ParseAuthorization(header)
		if err != nil {
			if !errors.Is(err, ErrAuthorizationScheme) && !errors.Is(err, ErrAuthorizationFormat) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if a.MchID == "" || a.NonceStr == "" || a.Signature == "" || a.SerialNo == "" {
			t.Fatalf("empty field in %+v", a)
		}
		if _, err := ParseTimestamp(a.Timestamp); err != nil {
			t.Fatalf("timestamp %q accepted", a.Timestamp)
		}
	})
}

package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Every file the command reads has a size limit: a path can name anything,
// /dev/zero included, and reading it whole would fill memory (the reported
// case: 24 GB until the kernel killed the process) or end in a runtime dump.
// Past the limit the command stops reading and exits 2 with one line naming
// the flag, the file and the limit, before anything is sent.
func TestFilesAreReadWithASizeLimit(t *testing.T) {
	t.Parallel()
	f, s := writeKeyFiles(t), newServer(t)
	const endless = "/dev/zero"
	if _, err := os.Stat(endless); err != nil {
		t.Fatalf("this test needs %s: %v", endless, err)
	}
	big := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(big, []byte(`"`+strings.Repeat("x", maxDataBytes)+`"`), 0o600); err != nil {
		t.Fatal(err)
	}
	call := callArgs(f.flags(s.URL), "POST", "v3/businesscircle/points/notify")
	notifyParse := []string{"notify", "parse", "--wechatpay-public-key", f.publicKey, "--wechatpay-public-key-id", f.keys.PublicKeyID,
		"--apiv3-key", f.keys.APIv3Key}
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"merchant private key", "", slices.Concat(call, []string{"--private-key", endless}), "wxpay call: --private-key /dev/zero: larger than 64 KiB, the limit"},
		{"merchant certificate", "", slices.Concat(call, []string{"--merchant-cert", endless}), "wxpay call: --merchant-cert /dev/zero: larger than 64 KiB"},
		{"WeChat Pay public key", "", slices.Concat(call, []string{"--wechatpay-public-key", endless}), "wxpay call: --wechatpay-public-key /dev/zero: larger than 64 KiB"},
		{"platform certificate", "", slices.Concat(call, []string{"--platform-cert", endless}), "wxpay call: --platform-cert /dev/zero: larger than 64 KiB"},
		{"--config file", "", slices.Concat(call, []string{"--config", endless}), "wxpay call: --config /dev/zero: larger than 64 KiB"},
		{"--data @FILE, endless", "", slices.Concat(call, []string{"--data", "@" + endless}), "wxpay call: --data @/dev/zero: larger than 1 MiB"},
		{"--data @FILE, one byte too many", "", slices.Concat(call, []string{"--data", "@" + big}), "wxpay call: --data @" + big + ": larger than 1 MiB"},
		{"--data @- from stdin", strings.Repeat(" ", maxDataBytes+1), slices.Concat(call, []string{"--data", "@-"}), "wxpay call: --data @-: larger than 1 MiB"},
		{"notify parse --body FILE", "", slices.Concat(notifyParse, []string{"--body", endless}), "wxpay notify parse: --body /dev/zero: larger than 64 KiB"},
		{"notify parse body from stdin", strings.Repeat(" ", maxNotificationBytes+1), notifyParse, "wxpay notify parse: --body -: larger than 64 KiB"},
		{"notify parse key", "{}", slices.Concat(notifyParse, []string{"--platform-cert", endless}), "wxpay notify parse: --platform-cert /dev/zero: larger than 64 KiB"},
		{"certificates download key", "", []string{"certificates", "download", "--out", t.TempDir(), "--base-url", s.URL, "--mchid", "1",
			"--private-key", endless, "--merchant-serial", "01", "--apiv3-key", f.keys.APIv3Key}, "wxpay certificates download: --private-key /dev/zero: larger than 64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := wxpayCLI(t, tc.stdin, nil, tc.args...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%.500s", r.code, r.stderr)
			}
			if lines := r.lines(); len(lines) != 1 || !strings.HasPrefix(lines[0], tc.want) {
				t.Errorf("stderr = %.300q, want one line starting %q", r.stderr, tc.want)
			}
		})
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests were sent; a file over its limit must stop the command first", n)
	}
}

// A file at its limit is read whole: the limits refuse only what is larger.
func TestReadLimitedAcceptsExactlyTheLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		size  int
		fails bool
	}{{0, false}, {10, false}, {11, true}} {
		b, err := readLimited(strings.NewReader(strings.Repeat("x", tc.size)), 10)
		if (err != nil) != tc.fails || (err == nil && len(b) != tc.size) {
			t.Errorf("%d bytes with limit 10: got %d bytes, error %v; want failure %v", tc.size, len(b), err, tc.fails)
		}
	}
}

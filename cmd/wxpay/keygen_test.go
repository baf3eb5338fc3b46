package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

func TestKeygenWritesKeysTheSandboxLoads(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	r := wxpayCLI(t, "", nil, "keygen", "--out", dir)
	var summary map[string]string
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &summary) != nil {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	k, err := sandbox.LoadKeysDir(dir)
	if err != nil || k.PublicKeyID != summary["public_key_id"] || k.MerchantSerial != summary["merchant_serial"] {
		t.Fatalf("LoadKeysDir: %v, %+v", err, summary)
	}
	if fi, err := os.Stat(filepath.Join(dir, sandbox.FileMerchantKey)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("merchant key mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	if r := wxpayCLI(t, "", nil, "keygen", "--out", dir); r.code != 2 || !strings.Contains(r.stderr, "--force") {
		t.Errorf("second keygen: exit %d, stderr %q; want a refusal naming --force", r.code, r.stderr)
	}
	if r := wxpayCLI(t, "", nil, "keygen"); r.code != 2 {
		t.Errorf("keygen without --out: exit %d", r.code)
	}
}

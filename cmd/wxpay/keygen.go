package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// keygen writes fresh keys for a sandbox and its clients.
func (c *cli) keygen(_ context.Context, args []string) int {
	const cmd = "wxpay keygen"
	fs := newFlagSet("keygen")
	out := fs.String("out", "", "")
	force := fs.Bool("force", false, "")
	positional, code, done := c.parseFlags(fs, keygenHelp, args)
	if done {
		return code
	}
	switch {
	case len(positional) > 0:
		return c.usageError(cmd, fmt.Errorf("unexpected argument %q", positional[0]))
	case *out == "":
		return c.usageError(cmd, errors.New("--out DIR is required"))
	}
	if _, err := os.Stat(filepath.Join(*out, sandbox.FileMerchantKey)); err == nil && !*force {
		return c.usageError(cmd, fmt.Errorf("--out %s already holds keys; pass --force to replace them", *out))
	}
	k, err := sandbox.GenerateKeys()
	if err != nil {
		return c.failure(err)
	}
	if err := k.WriteDir(*out); err != nil {
		return c.failure(err)
	}
	summary := map[string]string{
		"dir": *out, "mchid": k.MchID, "merchant_serial": k.MerchantSerial,
		"public_key_id": k.PublicKeyID, "platform_serial": k.PlatformSerial,
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	enc.Encode(summary)
	fmt.Fprintf(c.stderr, "wxpay keygen: TEST keys written to %s (never use them with real money)\n", *out)
	fmt.Fprintf(c.stderr, "  serve them:  wxpay sandbox --keys-dir %s\n", *out)
	return exitOK
}

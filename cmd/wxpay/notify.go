package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/credentials"
	"github.com/seed2ac2593f/wxpay/notify"
)

// notify dispatches "wxpay notify SUBCOMMAND"; parse is the only one.
func (c *cli) notify(ctx context.Context, args []string) int {
	if len(args) == 0 {
		return c.usageError("wxpay notify", errors.New("want a subcommand: parse (see 'wxpay notify parse --help')"))
	}
	switch args[0] {
	case "parse":
		return c.notifyParse(ctx, args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprint(c.stdout, notifyHelp)
		return exitOK
	}
	return c.usageError("wxpay notify", fmt.Errorf("unknown subcommand %q (see 'wxpay notify parse --help')", args[0]))
}

// notifyParse verifies a notification, then decrypts it, and prints the
// resource's plaintext JSON.
func (c *cli) notifyParse(_ context.Context, args []string) int {
	const cmd = "wxpay notify parse"
	fs := newFlagSet("notify parse")
	s := newSettings(fs, c.getenv, credentials.Verifier|credentials.APIv3Key)
	var headers listFlag
	fs.Var(&headers, "header", "")
	bodyFile := fs.String("body", "-", "")
	skew := fs.Duration("max-clock-skew", wxpay.DefaultMaxClockSkew, "")
	raw := fs.Bool("raw", false, "")

	positional, code, done := c.parseFlags(fs, notifyHelp, args)
	if done {
		return code
	}
	if len(positional) > 0 {
		return c.usageError(cmd, fmt.Errorf("unexpected argument %q (the body comes from --body FILE or stdin)", positional[0]))
	}
	if *skew <= 0 {
		return c.usageError(cmd, fmt.Errorf("--max-clock-skew %s: must be positive", *skew))
	}
	h := http.Header{}
	for _, v := range headers {
		k, val, err := parseHeader(v)
		if err != nil {
			return c.usageError(cmd, err)
		}
		h.Add(k, val)
	}
	_, creds, err := s.load(credentials.Verifier | credentials.APIv3Key)
	if err != nil {
		return c.usageError(cmd, err)
	}
	parser, err := notify.NewParser(&wxpay.Verifier{Keys: creds.Keys, MaxClockSkew: *skew}, creds.APIv3Key)
	if err != nil {
		return c.usageError(cmd, err)
	}

	var body []byte
	if *bodyFile == "-" {
		body, err = readLimited(c.stdin, maxNotificationBytes)
	} else {
		body, err = readFileLimited(*bodyFile, maxNotificationBytes)
	}
	if err != nil {
		return c.usageError(cmd, fmt.Errorf("--body %s: %v", *bodyFile, err))
	}

	c.warn(creds)
	n, err := parser.Parse(h, body)
	if err != nil {
		if errors.Is(err, wxpay.ErrBadSignature) && bytes.HasSuffix(body, []byte("\n")) {
			err = fmt.Errorf("%w (the body ends with a line break: was one added when it was saved?)", err)
		}
		return c.failure(err)
	}
	fmt.Fprintf(c.stderr, "Notification-ID: %s\n", terminalText(n.ID))
	fmt.Fprintf(c.stderr, "Event-Type: %s\n", terminalText(n.EventType))
	if n.Summary != "" {
		fmt.Fprintf(c.stderr, "Summary: %s\n", terminalText(n.Summary))
	}
	fmt.Fprintf(c.stderr, "Verified-By: %s\n", n.Serial)
	writeBody(c.stdout, n.Plaintext, *raw)
	return exitOK
}

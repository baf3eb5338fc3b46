// Command wxpay is the command line of the wxpay SDK for WeChat Pay APIv3:
// it signs and sends any API call and verifies the answer (wxpay call),
// verifies and decrypts a callback notification (wxpay notify parse), and
// runs the business-circle flow against the embedded sandbox (wxpay demo).
//
//	wxpay demo
//	wxpay call POST v3/businesscircle/points/notify --data @points.json
//
// Credentials come from flags or WXPAY_* environment variables; run
// "wxpay help" for the list. Exit status: 0 when the call succeeded and its
// answer verified, 1 when it did not (one line on stderr says which check
// failed), 2 for a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// Exit statuses.
const (
	exitOK      = 0 // done, and every answer verified
	exitFailed  = 1 // the call, the check or the demo failed
	exitUsage   = 2 // bad flags or arguments, missing or unreadable credentials
	programName = "wxpay"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// cli is one invocation: its streams, its environment and how it makes keys
// for the demo (tests share keys instead of generating them per run).
type cli struct {
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	getenv  func(string) string
	newKeys func() (*sandbox.Keys, error)
}

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, newKeys: sandbox.GenerateKeys}
	return c.run(ctx, args)
}

func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, mainHelp)
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "call":
		return c.call(ctx, rest)
	case "notify":
		return c.notify(ctx, rest)
	case "certificates":
		return c.certificates(ctx, rest)
	case "sandbox":
		return c.sandboxCmd(ctx, rest)
	case "keygen":
		return c.keygen(ctx, rest)
	case "demo":
		return c.demo(ctx, rest)
	case "version", "--version", "-version":
		fmt.Fprintf(c.stdout, "wxpay %s (%s %s/%s)\n", wxpay.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	case "help", "--help", "-help", "-h":
		return c.help(rest)
	default:
		return c.usageError(programName, fmt.Errorf("unknown command %q (run 'wxpay help')", cmd))
	}
}

// help prints the help of the command named in args, or the overview.
func (c *cli) help(args []string) int {
	text := mainHelp
	if len(args) > 0 {
		switch args[0] {
		case "call":
			text = callHelp
		case "notify":
			text = notifyHelp
		case "certificates":
			text = certificatesHelp
		case "sandbox":
			text = sandboxHelp
		case "keygen":
			text = keygenHelp
		case "demo":
			text = demoHelp
		case "version", "help":
		default:
			return c.usageError("wxpay help", fmt.Errorf("unknown command %q", args[0]))
		}
	}
	fmt.Fprint(c.stdout, text)
	return exitOK
}

// usageError prints one line naming the command and what was wrong; the
// packages' own prefixes inside err are dropped, as in failureLine.
func (c *cli) usageError(cmd string, err error) int {
	fmt.Fprintf(c.stderr, "%s: %s\n", cmd, terminalText(withoutPackagePrefixes(err.Error())))
	return exitUsage
}

// failure prints err as the one line that says what failed.
func (c *cli) failure(err error) int {
	fmt.Fprintln(c.stderr, failureLine(err))
	return exitFailed
}

// parseArgs parses flags that may come before, between or after the
// positional arguments, which it returns in order. "--" ends the flags.
// Flag errors and -h come back as usage errors.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if consumed := args[:len(args)-len(rest)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// newFlagSet returns a flag set that reports errors to its caller only, so
// that each usage error is one line.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args into fs. It returns done=true with the exit status
// when there is nothing more to do: help was asked for, or the flags were bad.
func (c *cli) parseFlags(fs *flag.FlagSet, help string, args []string) (positional []string, code int, done bool) {
	positional, err := parseArgs(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(c.stdout, help)
		return nil, exitOK, true
	case err != nil:
		// The flag package names flags with one dash; the help uses two.
		msg := strings.Replace(err.Error(), ": -", ": --", 1)
		msg = strings.Replace(msg, "for flag -", "for flag --", 1)
		return nil, c.usageError("wxpay "+fs.Name(), fmt.Errorf("%s (see 'wxpay %s --help')", msg, fs.Name())), true
	}
	return positional, 0, false
}

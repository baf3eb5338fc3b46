package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/credentials"
)

// call signs one request, sends it and verifies the answer:
//
//	wxpay call METHOD PATH [--data JSON|@FILE|@-] [--query k=v]… [--path-param k=v]… [--header 'K: V']… [--no-verify]
//
// The body goes to stdout byte for byte; status, Request-ID and the key that
// verified the answer go to stderr.
func (c *cli) call(ctx context.Context, args []string) int {
	const cmd = "wxpay call"
	fs := newFlagSet("call")
	s := newSettings(fs, c.getenv, credentials.All)
	data := fs.String("data", "", "")
	var queries, params, headers listFlag
	fs.Var(&queries, "query", "")
	fs.Var(&params, "path-param", "")
	fs.Var(&headers, "header", "")
	noVerify := fs.Bool("no-verify", false, "")
	raw := fs.Bool("raw", false, "")
	timeout := fs.Duration("timeout", 30*time.Second, "")
	retries := fs.Int("retries", wxpay.DefaultRetryPolicy().MaxRetries, "")

	positional, code, done := c.parseFlags(fs, callHelp, args)
	if done {
		return code
	}
	if len(positional) != 2 {
		return c.usageError(cmd, fmt.Errorf("want METHOD PATH, got %d argument(s) (see 'wxpay call --help')", len(positional)))
	}
	method, path := strings.ToUpper(positional[0]), positional[1]
	if !isToken(method) {
		return c.usageError(cmd, fmt.Errorf("METHOD %q is not an HTTP method", positional[0]))
	}
	if strings.Contains(path, "://") {
		return c.usageError(cmd, fmt.Errorf("PATH %q: give the path below --base-url, like v3/certificates", path))
	}

	var reqOpts []wxpay.RequestOption
	if s.isSet("data") {
		body, err := readData(*data, c.stdin)
		if err != nil {
			return c.usageError(cmd, err)
		}
		if !json.Valid(body) {
			return c.usageError(cmd, fmt.Errorf("--data is not valid JSON (%d bytes)", len(body)))
		}
		reqOpts = append(reqOpts, wxpay.RawJSON(body))
	}
	for _, q := range queries {
		k, v, err := splitPair("query", q)
		if err != nil {
			return c.usageError(cmd, err)
		}
		reqOpts = append(reqOpts, wxpay.Query(k, v))
	}
	given := map[string]bool{}
	for _, p := range params {
		k, v, err := splitPair("path-param", p)
		if err != nil {
			return c.usageError(cmd, err)
		}
		given[k] = true
		reqOpts = append(reqOpts, wxpay.PathParam(k, v))
	}
	if err := checkPathParams(path, given); err != nil {
		return c.usageError(cmd, err)
	}
	for _, h := range headers {
		k, v, err := parseHeader(h)
		if err != nil {
			return c.usageError(cmd, err)
		}
		if strings.EqualFold(k, "Authorization") {
			return c.usageError(cmd, errors.New("--header Authorization: wxpay signs the request itself"))
		}
		reqOpts = append(reqOpts, wxpay.Header(k, v))
	}

	if *timeout <= 0 || *retries < 0 {
		return c.usageError(cmd, errors.New("--timeout must be positive and --retries at least 0"))
	}
	src, creds, err := s.load(credentials.Merchant)
	if err != nil {
		return c.usageError(cmd, err)
	}
	opts, download, err := verification(src, creds, *noVerify)
	if err != nil {
		return c.usageError(cmd, err)
	}
	c.warn(creds)
	policy := wxpay.DefaultRetryPolicy()
	policy.MaxRetries = *retries
	// --timeout bounds the whole call, retries and a certificate download
	// included, through the context: the client gives up on a retry the
	// deadline leaves no room for, instead of waiting past it.
	opts = append(opts, wxpay.WithHTTPClient(&http.Client{}), wxpay.WithRetryPolicy(policy))
	client, err := wxpay.NewClient(opts...)
	if err != nil {
		return c.usageError(cmd, err)
	}
	if *noVerify {
		fmt.Fprintln(c.stderr, "wxpay call: WARNING: --no-verify: the answer's signature is not checked; anyone on the path could forge it. Debugging only, never with real money.")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if download {
		// Platform-certificate mode with nothing pinned: fetch the
		// certificates, verified with what they carry, as the official SDKs do.
		certs, err := client.DownloadCertificates(ctx)
		if err != nil {
			return c.failure(timedOut(ctx, *timeout, fmt.Errorf("download platform certificates: %w", err)))
		}
		if err := client.KeyRing().AddCertificates(certs...); err != nil {
			return c.failure(err)
		}
		fmt.Fprintf(c.stderr, "Platform-Certificates: %s (downloaded; pin them with --platform-cert)\n", strings.Join(client.KeyRing().Serials(), ", "))
	}

	resp, err := client.Chain(path).Do(ctx, method, reqOpts...)
	if errors.Is(err, wxpay.ErrInvalidRequest) {
		// Refused before sending (a path parameter of ".." say): the
		// arguments are at fault, not the call.
		return c.usageError(cmd, err)
	}
	if err != nil {
		var apiErr *wxpay.APIError
		if errors.As(err, &apiErr) {
			writeBody(c.stdout, apiErr.Body, *raw)
		}
		return c.failure(timedOut(ctx, *timeout, err))
	}
	fmt.Fprintf(c.stderr, "HTTP %d\n", resp.StatusCode)
	fmt.Fprintf(c.stderr, "Request-ID: %s\n", terminalText(orNone(resp.RequestID())))
	if resp.Serial == "" {
		fmt.Fprintln(c.stderr, "Verified-By: nobody (--no-verify)")
	} else {
		fmt.Fprintf(c.stderr, "Verified-By: %s\n", resp.Serial)
	}
	writeBody(c.stdout, resp.Body, *raw)
	return exitOK
}

// timedOut adds to err that --timeout ended the call, when it did.
func timedOut(ctx context.Context, timeout time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (--timeout %s, retries included, has passed)", err, timeout)
	}
	return err
}

// verification returns the client's options with how answers are verified.
// download reports that the platform certificates must be fetched first:
// only an APIv3 key was given to verify with.
func verification(src credentials.Sources, creds *credentials.Credentials, noVerify bool) (opts []wxpay.Option, download bool, err error) {
	opts = creds.Options
	switch empty := len(creds.Keys.Serials()) == 0; {
	case noVerify:
		opts = append(opts, wxpay.WithInsecureSkipResponseVerification())
	case empty && creds.APIv3Key == "":
		return nil, false, fmt.Errorf("a key to verify answers is required: %s with %s, %s, or %s to download platform certificates",
			src.PublicKeyFile.From, src.PublicKeyID.From, src.PlatformCertFiles.From, src.APIv3Key.From)
	case empty:
		download = true
	}
	return opts, download, nil
}

// checkPathParams reports a {name} in path without a --path-param, or a
// --path-param that fills nothing.
func checkPathParams(path string, given map[string]bool) error {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	used := map[string]bool{}
	for rest := path; ; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return fmt.Errorf("PATH %q: unclosed '{'", path)
		}
		name := rest[open+1 : open+end]
		if !given[name] {
			return fmt.Errorf("PATH %q needs --path-param %s=…", path, name)
		}
		used[name] = true
		rest = rest[open+end+1:]
	}
	for name := range given {
		if !used[name] {
			return fmt.Errorf("--path-param %s: PATH %q has no {%s}", name, path, name)
		}
	}
	return nil
}

// isToken reports whether s is a non-empty HTTP token (RFC 9110 §5.6.2), as
// a method or a header name must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

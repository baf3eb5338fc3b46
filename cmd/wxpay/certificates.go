package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/credentials"
)

// certificates dispatches "wxpay certificates SUBCOMMAND"; download is the only one.
func (c *cli) certificates(ctx context.Context, args []string) int {
	if len(args) == 0 {
		return c.usageError("wxpay certificates", errors.New("want a subcommand: download (see 'wxpay certificates download --help')"))
	}
	switch args[0] {
	case "download":
		return c.certificatesDownload(ctx, args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprint(c.stdout, certificatesHelp)
		return exitOK
	}
	return c.usageError("wxpay certificates", fmt.Errorf("unknown subcommand %q (see 'wxpay certificates download --help')", args[0]))
}

// downloadedCert is one line of the JSON the download prints.
type downloadedCert struct {
	SerialNo  string `json:"serial_no"`
	NotBefore string `json:"effective_time"`
	NotAfter  string `json:"expire_time"`
	File      string `json:"file"`
}

// certificatesDownload fetches the platform certificates, verifies the
// answer with what it fetched (and any key already given), and writes each
// certificate to DIR as wechatpay_<SERIAL>.pem.
func (c *cli) certificatesDownload(ctx context.Context, args []string) int {
	const cmd = "wxpay certificates download"
	fs := newFlagSet("certificates download")
	s := newSettings(fs, c.getenv, credentials.All)
	out := fs.String("out", "", "")
	positional, code, done := c.parseFlags(fs, certificatesHelp, args)
	if done {
		return code
	}
	switch {
	case len(positional) > 0:
		return c.usageError(cmd, fmt.Errorf("unexpected argument %q", positional[0]))
	case *out == "":
		return c.usageError(cmd, errors.New("--out DIR is required"))
	}
	_, creds, err := s.load(credentials.Merchant | credentials.APIv3Key)
	if err != nil {
		return c.usageError(cmd, err)
	}
	c.warn(creds)
	client, err := wxpay.NewClient(creds.Options...)
	if err != nil {
		return c.usageError(cmd, err)
	}
	certs, err := client.DownloadCertificates(ctx)
	var apiErr *wxpay.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == 404 && apiErr.Code == "RESOURCE_NOT_EXISTS" {
		return c.failure(fmt.Errorf("wxpay: this merchant has no platform certificates (HTTP 404 RESOURCE_NOT_EXISTS, Request-ID %s): "+
			"it verifies with the WeChat Pay public key instead; pass --wechatpay-public-key and --wechatpay-public-key-id", apiErr.RequestID))
	}
	if err != nil {
		return c.failure(err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return c.failure(fmt.Errorf("wxpay: --out %s: %v", *out, withoutPath(err)))
	}
	list := make([]downloadedCert, 0, len(certs))
	for _, cert := range certs {
		serial := wxpay.CertificateSerial(cert)
		file := filepath.Join(*out, "wechatpay_"+serial+".pem")
		data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
		if err := os.WriteFile(file, data, 0o644); err != nil {
			return c.failure(fmt.Errorf("wxpay: write %s: %v", file, withoutPath(err)))
		}
		list = append(list, downloadedCert{
			SerialNo:  serial,
			NotBefore: cert.NotBefore.Format(time.RFC3339),
			NotAfter:  cert.NotAfter.Format(time.RFC3339),
			File:      file,
		})
		fmt.Fprintf(c.stderr, "Certificate: %s valid %s to %s, written to %s\n", serial,
			cert.NotBefore.Format(time.DateOnly), cert.NotAfter.Format(time.DateOnly), file)
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(list); err != nil {
		return c.failure(err)
	}
	return exitOK
}

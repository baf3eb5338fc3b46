// Package testkit is what the service's tests share: a Buffer that a test
// reads and waits on while a service writes to it, and the process harness
// that builds the shipped binaries and starts a deployment on loopback (a
// `wxpay sandbox` standing in for WeChat Pay and mallpointsd replicas
// pointed at it), as an operator would. The process-level tests (../e2e)
// and the load generator (../cmd/mallpoints-load) start processes with it;
// its sub-packages give tests PostgreSQL databases (pgtest) and a headless
// Chromium (browsertest).
package testkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Binaries are the two programs a deployment on loopback runs.
type Binaries struct {
	Wxpay       string // the wxpay command (its sandbox and keygen)
	Mallpointsd string
}

// Build compiles both programs into dir with `go build`. root is the SDK's
// module folder, the one holding mallpoints/.
func Build(ctx context.Context, root, dir string) (Binaries, error) {
	b := Binaries{Wxpay: filepath.Join(dir, "wxpay"), Mallpointsd: filepath.Join(dir, "mallpointsd")}
	for _, s := range []struct{ modDir, pkg, out string }{
		{root, "./cmd/wxpay", b.Wxpay},
		{filepath.Join(root, "mallpoints"), "./cmd/mallpointsd", b.Mallpointsd},
	} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", s.out, s.pkg)
		cmd.Dir = s.modDir
		if out, err := cmd.CombinedOutput(); err != nil {
			return Binaries{}, fmt.Errorf("go build %s: %w\n%s", s.pkg, err, out)
		}
	}
	return b, nil
}

// Keys is a folder written by `wxpay keygen`: what the sandbox and the
// service need to talk to each other.
type Keys struct {
	Dir                          string
	MchID, PublicKeyID, APIv3Key string
}

// Keygen runs `wxpay keygen --out dir` and reads back the ids it wrote.
func (b Binaries) Keygen(ctx context.Context, dir string) (Keys, error) {
	cmd := exec.CommandContext(ctx, b.Wxpay, "keygen", "--out", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return Keys{}, fmt.Errorf("wxpay keygen: %w\n%s", err, out)
	}
	k := Keys{Dir: dir}
	var errs []error
	for _, f := range []struct {
		name string
		p    *string
	}{{"mchid.txt", &k.MchID}, {"public_key_id.txt", &k.PublicKeyID}, {"apiv3_key.txt", &k.APIv3Key}} {
		raw, err := os.ReadFile(filepath.Join(dir, f.name))
		errs = append(errs, err)
		*f.p = strings.TrimSpace(string(raw))
	}
	return k, errors.Join(errs...)
}

// credentialFlags are mallpointsd's WeChat Pay flags for keys k against the
// sandbox at baseURL, in public-key mode.
func (k Keys) credentialFlags(baseURL string) []string {
	return []string{
		"--base-url", baseURL,
		"--mchid", k.MchID,
		"--private-key", filepath.Join(k.Dir, "apiclient_key.pem"),
		"--merchant-cert", filepath.Join(k.Dir, "apiclient_cert.pem"),
		"--wechatpay-public-key", filepath.Join(k.Dir, "pub_key.pem"),
		"--wechatpay-public-key-id", k.PublicKeyID,
	}
}

// Command modproxy publishes this repository's modules to a Go module proxy
// on the file system, so that CI can run the install lines a user types
// (`go install …@version`, `go get`) against what a release would serve:
//
//	go run ./modproxy -repo ../.. -out /tmp/proxy -service-version v0.1.0-ci
//	GOPROXY=file:///tmp/proxy,$(go env GOPROXY) GONOSUMDB=github.com/seed2ac2593f/wxpay GOWORK=off go install …
//
// The SDK is published at the version the service's go.mod requires, from
// the commit its tag points at or, where tags did not travel with the clone,
// the commit CHANGELOG.md names for that version. The service is published
// from the working tree under -service-version, a pre-release.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

const sdkPath = "github.com/seed2ac2593f/wxpay"

func main() {
	repo := flag.String("repo", ".", "the repository's root")
	out := flag.String("out", "", "the proxy's directory (created)")
	serviceVersion := flag.String("service-version", "v0.1.0-ci", "the version the service is published as")
	flag.Parse()
	if err := run(*repo, *out, *serviceVersion); err != nil {
		fmt.Fprintln(os.Stderr, "modproxy:", err)
		os.Exit(1)
	}
}

func run(repo, out, serviceVersion string) error {
	if out == "" {
		return errors.New("-out is required")
	}
	service := filepath.Join(repo, "mallpoints")
	gomod, err := os.ReadFile(filepath.Join(service, "go.mod"))
	if err != nil {
		return err
	}
	f, err := modfile.ParseLax("go.mod", gomod, nil)
	if err != nil {
		return err
	}
	var sdkVersion string
	for _, r := range f.Require {
		if r.Mod.Path == sdkPath {
			sdkVersion = r.Mod.Version
		}
	}
	if sdkVersion == "" {
		return fmt.Errorf("mallpoints/go.mod does not require %s", sdkPath)
	}
	commit, err := releaseCommit(repo, sdkVersion)
	if err != nil {
		return err
	}
	if err := publishCommit(out, repo, module.Version{Path: sdkPath, Version: sdkVersion}, commit); err != nil {
		return err
	}
	fmt.Printf("modproxy: %s@%s from commit %s\n", sdkPath, sdkVersion, commit)
	m := module.Version{Path: f.Module.Mod.Path, Version: serviceVersion}
	if err := publishDir(out, service, m, gomod); err != nil {
		return err
	}
	fmt.Printf("modproxy: %s@%s from the working tree\n", m.Path, m.Version)
	return nil
}

// releaseCommit is the commit of the SDK's release version: its tag's, or
// the one CHANGELOG.md names in the section of that version.
func releaseCommit(repo, version string) (string, error) {
	if c, err := git(repo, "rev-parse", "--verify", "--quiet", "refs/tags/"+version+"^{commit}"); err == nil {
		return c, nil
	}
	changelog, err := os.ReadFile(filepath.Join(repo, "CHANGELOG.md"))
	if err != nil {
		return "", fmt.Errorf("no tag %s and no CHANGELOG.md: %w", version, err)
	}
	section := regexp.MustCompile(`(?m)^## \[` + regexp.QuoteMeta(strings.TrimPrefix(version, "v")) + `\][^\n]*\n((?:[^#]|#[^#]|\n)*)`).FindSubmatch(changelog)
	if section == nil {
		return "", fmt.Errorf("no tag %s and no section [%s] in CHANGELOG.md", version, strings.TrimPrefix(version, "v"))
	}
	commit := regexp.MustCompile(`\b[0-9a-f]{40}\b`).Find(section[1])
	if commit == nil {
		return "", fmt.Errorf("CHANGELOG.md's section [%s] names no commit (40 hex digits)", strings.TrimPrefix(version, "v"))
	}
	return git(repo, "rev-parse", "--verify", "--quiet", string(commit)+"^{commit}")
}

func publishCommit(out, repo string, m module.Version, commit string) error {
	var z bytes.Buffer
	if err := zip.CreateFromVCS(&z, m, repo, commit, ""); err != nil {
		return err
	}
	gomod, err := exec.Command("git", "-C", repo, "show", commit+":go.mod").Output()
	if err != nil {
		return fmt.Errorf("git show %s:go.mod: %w", commit, err)
	}
	when, err := git(repo, "show", "-s", "--format=%cI", commit)
	if err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339, when)
	if err != nil {
		return err
	}
	return write(out, m, gomod, z.Bytes(), t)
}

func publishDir(out, dir string, m module.Version, gomod []byte) error {
	var z bytes.Buffer
	if err := zip.CreateFromDir(&z, m, dir); err != nil {
		return err
	}
	return write(out, m, gomod, z.Bytes(), time.Now())
}

// write lays out one version as the GOPROXY protocol serves it.
func write(out string, m module.Version, gomod, z []byte, t time.Time) error {
	esc, err := module.EscapePath(m.Path)
	if err != nil {
		return err
	}
	dir := filepath.Join(out, esc, "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	info, _ := json.Marshal(map[string]string{"Version": m.Version, "Time": t.UTC().Format(time.RFC3339)})
	for name, data := range map[string][]byte{
		m.Version + ".info": info, m.Version + ".mod": gomod, m.Version + ".zip": z,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	list, _ := os.ReadFile(filepath.Join(dir, "list"))
	if !bytes.Contains(list, []byte(m.Version+"\n")) {
		list = append(list, m.Version+"\n"...)
	}
	return os.WriteFile(filepath.Join(dir, "list"), list, 0o644)
}

func git(repo string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(b)), nil
}

package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
)

// pgCluster is a PostgreSQL cluster of the test's own, made with Debian's
// postgresql-common tools, so that the test can restart it without
// disturbing anybody else's database.
type pgCluster struct {
	version, name string
	port          int
}

// newPGCluster makes and starts a cluster on a free port, trusting loopback,
// and drops it when the test ends. It needs root and pg_createcluster;
// without them it returns nil (with CI=true the test fails instead).
func newPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	_, err := exec.LookPath("pg_createcluster")
	versions, _ := os.ReadDir("/etc/postgresql")
	if err != nil || os.Geteuid() != 0 || len(versions) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("restarting PostgreSQL needs root and pg_createcluster with CI=true (euid %d, %v)", os.Geteuid(), err)
		}
		return nil
	}
	var vs []int
	for _, v := range versions {
		if n, err := strconv.Atoi(v.Name()); err == nil {
			vs = append(vs, n)
		}
	}
	if len(vs) == 0 {
		t.Fatal("no PostgreSQL version under /etc/postgresql")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p := &pgCluster{version: strconv.Itoa(slices.Max(vs)), name: fmt.Sprintf("mallpoints_chaos_%d", os.Getpid()), port: port}
	run(t, "pg_createcluster", p.version, p.name, "-p", strconv.Itoa(port), "--start-conf=manual", "--", "--auth=trust")
	t.Cleanup(func() { run(t, "pg_dropcluster", p.version, p.name, "--stop") })
	run(t, "pg_ctlcluster", p.version, p.name, "start")
	if t.Failed() {
		t.FailNow()
	}
	return p
}

// URL is the cluster's maintenance database.
func (p *pgCluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// restart stops the server (fast: open connections are cut) and starts it.
func (p *pgCluster) restart(t *testing.T) {
	run(t, "pg_ctlcluster", p.version, p.name, "restart", "-m", "fast")
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Errorf("%s %v: %v\n%s", name, args, err, out)
	}
}

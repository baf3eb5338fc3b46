// Command mallpoints-load drives a WeChat Pay sandbox with payments and
// measures how mallpointsd keeps up: syncs per second, payment → points
// synced latency (p50/p99), and how long the service took to answer the
// notifications, as the sandbox saw it.
//
// Against a sandbox already running, whose notifications go to a running
// mallpointsd:
//
//	go run ./cmd/mallpoints-load --sandbox http://127.0.0.1:8090/ --payments 2000 --rate 100
//
// Or let it build and start both on loopback, which also measures the
// service's CPU time per synced payment against the cost of the
// cryptography each payment needs. It warms the service up first (--warmup)
// and, on PostgreSQL, runs ANALYZE, so that the run measures the steady
// state rather than plans made for empty tables:
//
//	go run ./cmd/mallpoints-load --spawn --db postgres://postgres@127.0.0.1:5432/load?sslmode=disable --payments 3000
//
// Without --rate it runs a closed loop of --in-flight payments at a time.
//
// A provider's deployment: 1,000 sub-merchants of a service provider and 2
// direct merchants (each with its own keys, given to the service in a
// --merchants file and notified at its own URL), two replicas on one
// PostgreSQL database behind a round-robin front; it also reports each
// replica's start-up time and memory and the series on /metrics:
//
//	go run ./cmd/mallpoints-load --spawn --db postgres://… --malls 1000 --direct 2 --replicas 2 --members 3006 --payments 4000
//
// With --expire N (and --spawn) it seeds N members whose points are due and
// runs an expiry over them through the admin API while the load runs, to
// measure the notification answers beside a year-end expiry run:
//
//	go run ./cmd/mallpoints-load --spawn --rate 75 --payments 4500 --expire 100000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed2ac2593f/wxpay/mallpoints/cmd/mallpoints-load/loadgen"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	sandbox, admin, mall, appid string
	spawn                       bool
	db, root                    string
	workers, malls              int
	direct, replicas            int
	cfg                         loadgen.Config
	warmup                      int
	expire                      int
}

func parse(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("mallpoints-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.sandbox, "sandbox", "", "base URL of a running sandbox (its admin API is under /sandbox/)")
	fs.StringVar(&o.admin, "admin", "", "admin URL of the running mallpointsd, for exact sync times (optional)")
	fs.StringVar(&o.mall, "mall", "1900000109", "the mall's mchid, with --admin")
	fs.StringVar(&o.appid, "appid", "wx1234567890abcdef", "the AppID members pay with")
	fs.BoolVar(&o.spawn, "spawn", false, "build and start a sandbox and mallpointsd on loopback, and measure the service's CPU time")
	fs.StringVar(&o.db, "db", "", "with --spawn: mallpointsd's --db (default: a SQLite file in a temporary folder)")
	fs.StringVar(&o.root, "root", "..", "with --spawn: the SDK's module folder, which holds mallpoints/")
	fs.IntVar(&o.workers, "workers", 0, "with --spawn: mallpointsd's --workers (default: its own)")
	fs.IntVar(&o.cfg.Payments, "payments", 1000, "payments to make")
	fs.IntVar(&o.warmup, "warmup", 200, "with --spawn: payments made and synced before the measured run")
	fs.IntVar(&o.expire, "expire", 0, "with --spawn: seed this many members with points due and run an expiry over them (POST /api/expiry/run) while the load runs")
	fs.IntVar(&o.cfg.Members, "members", 200, "members paying")
	fs.IntVar(&o.malls, "malls", 1, "with --spawn: the malls paid in; above 1 the merchant is a service provider for that many malls, each with its share of the members")
	fs.IntVar(&o.direct, "direct", 0, "with --spawn: direct merchants beside the merchant of --malls, each with its own keys and mall; the service then takes a --merchants file")
	fs.IntVar(&o.replicas, "replicas", 1, "with --spawn and PostgreSQL: mallpointsd processes on the one database, behind a round-robin front")
	fs.Float64Var(&o.cfg.Rate, "rate", 0, "payments per second (open loop); 0 runs a closed loop")
	fs.IntVar(&o.cfg.InFlight, "in-flight", 32, "closed loop: payments between payment and sync at once")
	fs.DurationVar(&o.cfg.Settle, "settle", 2*time.Minute, "how long to wait for the syncs after the last payment")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.spawn == (o.sandbox != "") {
		return nil, errors.New("give either --sandbox URL or --spawn")
	}
	if o.cfg.Payments < 1 || o.cfg.Rate < 0 || o.cfg.InFlight < 1 || o.warmup < 0 || o.malls < 1 || o.expire < 0 ||
		o.direct < 0 || o.replicas < 1 {
		return nil, errors.New("--payments, --in-flight, --malls and --replicas must be positive, --rate, --warmup, --expire and --direct not negative")
	}
	if o.expire > 0 && !o.spawn {
		return nil, errors.New("--expire needs --spawn: it seeds the service's database")
	}
	if (o.malls > 1 || o.direct > 0 || o.replicas > 1) && !o.spawn {
		return nil, errors.New("--malls, --direct and --replicas need --spawn")
	}
	if o.replicas > 1 && engine(o.db) != "PostgreSQL" {
		return nil, errors.New("--replicas above 1 need PostgreSQL (--db postgres://…): replicas share one database")
	}
	o.cfg.Malls = mallsOf(o.malls, o.direct)
	o.cfg.AppID = o.appid
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "mallpoints-load:", err)
		return 2
	}
	o.cfg.Progress = func(paid, synced int) {
		fmt.Fprintf(stderr, "\rpaid %d, synced %d   ", paid, synced)
	}
	if o.spawn {
		err = spawned(ctx, o, stdout, stderr)
	} else {
		err = against(ctx, o, stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "\nmallpoints-load:", err)
		return 1
	}
	return 0
}

// against drives a sandbox somebody else runs.
func against(ctx context.Context, o *options, stdout io.Writer) error {
	a := &loadgen.Admin{URL: o.sandbox, HTTP: newHTTPClient()}
	r, err := loadgen.Drive(ctx, a, o.cfg)
	if r == nil {
		return err
	}
	if o.admin != "" && err == nil {
		err = r.UseServiceTimes(ctx, a.HTTP, o.admin, o.mall)
	}
	d, derr := a.Deliveries(ctx)
	fmt.Fprintln(stdout)
	describe(stdout, o)
	r.Summarize(d).Write(stdout)
	if o.admin == "" {
		fmt.Fprintf(stdout, "(sync times as polled, to within %v; give --admin for the service's own)\n", pollInterval(o))
	}
	return errors.Join(err, derr)
}

func pollInterval(o *options) time.Duration {
	if o.cfg.Poll > 0 {
		return o.cfg.Poll
	}
	return 50 * time.Millisecond
}

func describe(w io.Writer, o *options) {
	if o.cfg.Rate > 0 {
		fmt.Fprintf(w, "open loop at %.0f payments/s, %d members", o.cfg.Rate, o.cfg.Members)
	} else {
		fmt.Fprintf(w, "closed loop, %d payments in flight, %d members", o.cfg.InFlight, o.cfg.Members)
	}
	switch {
	case o.malls > 1 && o.direct > 0:
		fmt.Fprintf(w, " in %d malls (%d sub-merchants of a service provider, %d direct merchants)", len(o.cfg.Malls), o.malls, o.direct)
	case o.malls > 1:
		fmt.Fprintf(w, " in %d malls (sub-merchants of a service provider)", o.malls)
	case o.direct > 0:
		fmt.Fprintf(w, " in %d malls (direct merchants)", len(o.cfg.Malls))
	}
	fmt.Fprintln(w)
}

// newHTTPClient keeps enough idle connections for the load's concurrency.
func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 128
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// spawned builds and starts a sandbox and mallpointsd, warms them up, runs
// the load and reports the service's CPU time per synced payment.
func spawned(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp("", "mallpoints-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	root, err := filepath.Abs(o.root)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "building wxpay and mallpointsd …")
	bins, err := testkit.Build(ctx, root, dir)
	if err != nil {
		return err
	}
	keys, err := bins.Keygen(ctx, filepath.Join(dir, "keys"))
	if err != nil {
		return err
	}
	db := o.db
	if db == "" {
		db = filepath.Join(dir, "mallpoints.db")
	}
	d, err := deploy(ctx, o, bins, keys, dir, db)
	if err != nil {
		return err
	}
	defer d.close()
	svc, sb := d.replicas[0], d.sandbox
	a := &loadgen.Admin{URL: sb.URL, HTTP: newHTTPClient()}
	// Members join before the measured run: their activations are not payments.
	if o.cfg.OpenIDs, err = loadgen.Authorize(ctx, a, o.cfg.AppID, o.cfg.Members, o.cfg.Malls); err != nil {
		return err
	}
	if o.warmup > 0 {
		fmt.Fprintf(stderr, "warming up with %d payments …\n", o.warmup)
		w := o.cfg
		w.Payments, w.Progress = o.warmup, nil
		if _, err := loadgen.Drive(ctx, a, w); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	var asOf string
	if o.expire > 0 {
		fmt.Fprintf(stderr, "seeding %d members with points due …\n", o.expire)
		if asOf, err = seedDue(ctx, db, keys.MchID, o.expire); err != nil {
			return err
		}
	}
	if err := analyze(ctx, db); err != nil {
		return err
	}
	var expiry *expiryRun
	if o.expire > 0 {
		expiry = startExpiry(ctx, svc.AdminURL, asOf)
	}
	cpu0, err := d.cpu()
	if err != nil {
		return err
	}
	sbcpu0, _ := processCPU(sb.Pid())
	sampler := sampleCrypto(250 * time.Millisecond)
	r, err := loadgen.Drive(ctx, a, o.cfg)
	during, rounds := sampler.result()
	if err != nil {
		return fmt.Errorf("run: %w\nservice output (tail):\n%s", err, tail(svc.Output(), 2000))
	}
	cpu1, err := d.cpu()
	if err != nil {
		return err
	}
	sbcpu1, _ := processCPU(sb.Pid())
	if err := r.UseServiceTimes(ctx, a.HTTP, svc.AdminURL, keys.MchID); err != nil {
		return err
	}
	deliveries, err := a.Deliveries(ctx)
	if err != nil {
		return err
	}
	if expiry != nil {
		fmt.Fprintln(stderr, "\nwaiting for the expiry run …")
		<-expiry.done
	}
	after, err := d.measure(ctx)
	if err != nil {
		return err
	}
	if err := d.stop(); err != nil {
		return err
	}
	s := r.Summarize(deliveries)
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "mallpointsd on %s, %d replica(s), %d workers each (0: its default)\n", engine(db), o.replicas, o.workers)
	describe(stdout, o)
	s.Write(stdout)
	after.write(stdout)
	if expiry != nil {
		n, err := expiredCount(ctx, db, asOf)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "expiry run as of %s beside the load: %d of %d members expired in %.1f s (%.0f members/s; %s), queued with the load's first payment\n",
			asOf, n, o.expire, expiry.took.Seconds(), float64(n)/max(expiry.took.Seconds(), 0.001), expiry.reply)
		fmt.Fprintln(stdout, "(the service CPU below includes the expiry run's)")
	}
	fmt.Fprintln(stderr, "measuring the cryptography a payment needs …")
	c := measureCrypto()
	perPay := (cpu1 - cpu0) / time.Duration(max(s.Synced, 1))
	fmt.Fprintf(stdout, "service CPU (every replica): %v for %d syncs = %.3f ms per payment (sandbox: %.3f ms per payment)\n",
		(cpu1 - cpu0).Round(time.Millisecond), s.Synced, ms(perPay), ms((sbcpu1-sbcpu0)/time.Duration(max(s.Synced, 1))))
	fmt.Fprintln(stdout, "crypto per payment (1 RSA-2048 sign + 2 verifies + AES-GCM open, pure Go, CPU time):")
	if rounds > 0 {
		fmt.Fprintf(stdout, "  during the run, beside the load (%d samples): %.3f ms (sign %.3f ms, verify %.3f ms, AES-GCM open %.4f ms)\n",
			rounds, ms(during.total()), ms(during.sign), ms(during.verify), ms(during.open))
	}
	fmt.Fprintf(stdout, "  after the run, the loop idle (testing.Benchmark): %.3f ms (sign %.3f ms, verify %.3f ms, AES-GCM open %.4f ms)\n",
		ms(c.total()), ms(c.sign), ms(c.verify), ms(c.open))
	if rounds > 0 {
		fmt.Fprintf(stdout, "cost ratio %.2f× against the crypto during the run (%.2f× against the one after it); remainder beyond the crypto %.3f ms per payment (%.3f ms)\n",
			float64(perPay)/float64(during.total()), float64(perPay)/float64(c.total()), ms(perPay-during.total()), ms(perPay-c.total()))
		return nil
	}
	fmt.Fprintf(stdout, "cost ratio %.2f×; remainder beyond the crypto %.3f ms per payment\n",
		float64(perPay)/float64(c.total()), ms(perPay-c.total()))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func engine(db string) string {
	if len(db) > 11 && db[:11] == "postgres://" {
		return "PostgreSQL"
	}
	return "SQLite"
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// analyze refreshes PostgreSQL's statistics before the measured run. The
// service's tables were just created: the plans made for nearly empty tables
// (sequential scans) cost twice as much database CPU per payment as the
// steady state's, and would be measured instead of it. ANALYZE also makes the
// service's connections plan their statements again. SQLite needs nothing.
func analyze(ctx context.Context, db string) error {
	if !strings.HasPrefix(db, "postgres://") && !strings.HasPrefix(db, "postgresql://") {
		return nil
	}
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

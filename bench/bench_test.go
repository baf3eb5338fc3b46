package bench

import (
	"context"
	"runtime/trace"
	"slices"
	"syscall"
	"testing"
	"time"
)

// All benchmarks call the one static server of sharedFixture on loopback,
// with the one key set; see README.md for the command and the figures.

// run builds the op of each impl and times it in a sub-benchmark named
// impl=NAME, for benchstat -col /impl. Each op is a runtime/trace region
// named after its impl, so that -test.trace shows where a call's time goes.
func run(b *testing.B, impls []impl) {
	f := sharedFixture(b)
	ctx := context.Background()
	for _, im := range impls {
		b.Run("impl="+im.name, func(b *testing.B) {
			f.srv.freshen()
			do, err := im.new(f, f.srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			// Once untimed: connections, pools and lazily built state.
			if err := do(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				r := trace.StartRegion(ctx, im.name)
				err := do(ctx)
				r.End()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time the process has used, user and system, in
// nanoseconds. Per op it counts every goroutine: the in-process server's,
// the garbage collector's and the client's, so it can exceed ns/op.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkPointsSync is one whole points sync per op: encode (the peers),
// sign, POST over loopback, read the 204, verify its signature.
func BenchmarkPointsSync(b *testing.B) { run(b, syncImpls) }

// BenchmarkSign is one Authorization header per op.
func BenchmarkSign(b *testing.B) { run(b, signImpls) }

// BenchmarkVerify is one answer verification per op.
func BenchmarkVerify(b *testing.B) { run(b, verifyImpls) }

// BenchmarkNotifyParse is one notification per op: verify, decrypt, decode.
func BenchmarkNotifyParse(b *testing.B) { run(b, parseImpls) }

// BenchmarkPointsSyncInterleaved calls the points syncs (the two floors and
// the three clients) in turn in one loop, so machine noise and drift hit
// them alike, and reports each one's time per call (IMPL-ns/call), the
// process's CPU time over that call
// (IMPL-cpu-ns/call, every goroutine's, the server's too) and its ratio to
// wxpay (IMPL/wxpay), and the same from the median call (IMPL-p50-ns/call,
// IMPL/wxpay-p50), which a call stalled by another program on the machine
// moves less than the mean. The order rotates every iteration so no impl
// always follows the same one. Separate runs on this machine differ by 7–12 %;
// these ratios are steadier. Each call is slower here than in
// BenchmarkPointsSync: see BenchmarkInterleaveCost for why.
func BenchmarkPointsSyncInterleaved(b *testing.B) {
	f := sharedFixture(b)
	f.srv.freshen()
	ctx := context.Background()
	ops := make([]op, len(syncImpls))
	for i, im := range syncImpls {
		var err error
		if ops[i], err = im.new(f, f.srv.URL); err != nil {
			b.Fatal(err)
		}
		if err := ops[i](ctx); err != nil {
			b.Fatal(im.name, err)
		}
	}
	spent := make([]time.Duration, len(ops))
	cpu := make([]int64, len(ops))
	calls := make([][]time.Duration, len(ops)) // every call's time, for the medians
	turn := 0
	for b.Loop() {
		for j := range ops {
			i := (turn + j) % len(ops)
			c0 := cpuTime()
			t0 := time.Now()
			r := trace.StartRegion(ctx, syncImpls[i].name)
			err := ops[i](ctx)
			r.End()
			d := time.Since(t0)
			spent[i] += d
			cpu[i] += cpuTime() - c0
			calls[i] = append(calls[i], d)
			if err != nil {
				b.Fatal(syncImpls[i].name, err)
			}
		}
		turn++
	}
	var wx, wxMedian time.Duration
	for i, im := range syncImpls {
		if im.name == "wxpay" {
			wx, wxMedian = spent[i], median(calls[i])
		}
	}
	for i, im := range syncImpls {
		m := median(calls[i])
		b.ReportMetric(float64(spent[i].Nanoseconds())/float64(b.N), im.name+"-ns/call")
		b.ReportMetric(float64(m.Nanoseconds()), im.name+"-p50-ns/call")
		b.ReportMetric(float64(cpu[i])/float64(b.N), im.name+"-cpu-ns/call")
		if im.name != "wxpay" {
			b.ReportMetric(float64(spent[i])/float64(wx), im.name+"/wxpay")
			b.ReportMetric(float64(m)/float64(wxMedian), im.name+"/wxpay-p50")
		}
	}
	// The default ns/op is the sum of the cells and says nothing on its own.
	b.ReportMetric(0, "ns/op")
}

// median returns the middle of ds (the mean of the two middle ones for an
// even count); ds is sorted in place.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}

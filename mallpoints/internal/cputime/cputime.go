// Package cputime reads the CPU time this process has used, user and
// system, every goroutine's and the garbage collector's alike, so that a
// benchmark or the load generator can report CPU per operation beside wall
// time. CPU time is far less disturbed than wall time by other programs on
// a shared machine.
package cputime

import (
	"syscall"
	"time"
)

// Process is the process's user plus system CPU time so far (getrusage). It
// panics if the kernel refuses the call, which it does only for a bad
// argument.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// MicrosPerOp is the CPU time used since start, read from Process, in
// microseconds per op of n: the cpu-µs/op of the mallpoints benchmarks.
func MicrosPerOp(start time.Duration, n int) float64 {
	return float64(Process()-start) / float64(time.Microsecond) / float64(max(n, 1))
}

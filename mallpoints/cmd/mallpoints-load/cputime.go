package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPU time, user and system, is what the load generator reports per
// payment beside wall time: it is far less disturbed than wall time by other
// programs on a shared machine.

// selfCPU is this process's user plus system CPU time so far (getrusage),
// every goroutine's and the garbage collector's alike. It panics if the
// kernel refuses the call, which it does only for a bad argument.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processCPU is the user plus system CPU time the running process pid has
// used, read from /proc/<pid>/stat (Linux only).
func processCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStat(string(raw))
}

// parseStat reads utime and stime from the text of /proc/<pid>/stat.
func parseStat(s string) (time.Duration, error) {
	// The command name, in parentheses, may hold spaces and parentheses:
	// fields count from after its last closing one.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("/proc/<pid>/stat: no command name")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("/proc/<pid>/stat: too few fields")
	}
	// utime and stime are fields 14 and 15 of the file, in clock ticks (USER_HZ, 100 on Linux).
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// processMemory is the running process pid's resident memory and its peak,
// in bytes, read from /proc/<pid>/status (Linux only).
func processMemory(pid int) (rss, peak int64, err error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	return parseStatus(string(raw))
}

// parseStatus reads VmRSS and VmHWM (the peak) from the text of
// /proc/<pid>/status, where they are given in kB (KiB).
func parseStatus(s string) (rss, peak int64, err error) {
	found := 0
	for line := range strings.Lines(s) {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(value)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("/proc/<pid>/status: %s is %q, want a number of kB", name, strings.TrimSpace(value))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/<pid>/status: %s: %v", name, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
		found++
	}
	if found != 2 {
		return 0, 0, errors.New("/proc/<pid>/status: no VmRSS and VmHWM")
	}
	return rss, peak, nil
}

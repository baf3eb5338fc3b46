package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is a started program whose output is kept for waiting on and for
// failure reports.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	out  *output
	done chan struct{}
	err  error // Wait's error, set before done closes
}

// output collects a process's stdout and stderr.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// start runs name with args; its output is kept in the Proc.
func start(name, bin string, args []string, env []string) (*Proc, error) {
	p := &Proc{Name: name, out: &output{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Output is everything the process printed so far.
func (p *Proc) Output() string { return p.out.String() }

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitFor waits until the output matches re and returns the submatches, or
// fails when the process exits or ctx ends first.
func (p *Proc) waitFor(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := re.FindStringSubmatch(p.Output()); m != nil {
			return m, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited (%v) before printing %q; output:\n%s", p.Name, p.err, re, p.Output())
		case <-ctx.Done():
			return nil, fmt.Errorf("%s did not print %q: %w; output:\n%s", p.Name, re, ctx.Err(), p.Output())
		case <-tick.C:
		}
	}
}

// Kill ends the process with SIGKILL, as a crash or an OOM kill would, and
// waits for it.
func (p *Proc) Kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// Stop asks the process to stop with SIGTERM and waits up to timeout, then
// kills it. It returns the exit state, whose rusage covers the whole life of
// the process.
func (p *Proc) Stop(timeout time.Duration) (*os.ProcessState, error) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.Kill()
		return p.cmd.ProcessState, fmt.Errorf("%s did not stop within %v after SIGTERM; killed", p.Name, timeout)
	}
	var exit *exec.ExitError
	if p.err != nil && !errors.As(p.err, &exit) {
		return p.cmd.ProcessState, p.err
	}
	if !p.cmd.ProcessState.Success() {
		return p.cmd.ProcessState, fmt.Errorf("%s: %v", p.Name, p.cmd.ProcessState)
	}
	return p.cmd.ProcessState, nil
}

// CPU is the user plus system CPU time the running process has used, read
// from /proc/<pid>/stat (Linux only).
func (p *Proc) CPU() (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid()))
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

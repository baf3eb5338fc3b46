package testkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"time"
)

// Proc is a started program whose output is kept for waiting on and for
// failure reports.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	out  *Buffer
	done chan struct{}
	err  error // Wait's error, set before done closes
}

// start runs name with args; its output is kept in the Proc.
func start(name, bin string, args []string, env []string) (*Proc, error) {
	p := &Proc{Name: name, out: &Buffer{}, done: make(chan struct{})}
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
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-p.done:
			cancel(fmt.Errorf("%s exited (%v)", p.Name, p.err))
		case <-ctx.Done():
		}
	}()
	m, err := p.out.Match(ctx, re)
	if err != nil {
		return nil, fmt.Errorf("%s: %w; output:\n%s", p.Name, err, p.Output())
	}
	return m, nil
}

// WaitFor waits until the output matches re and returns the submatches; it
// fails when the process exits or timeout passes first. The timeout only
// bounds a hang.
func (p *Proc) WaitFor(re *regexp.Regexp, timeout time.Duration) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.waitFor(ctx, re)
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits for the process to end and returns its exit error.
func (p *Proc) Wait() error {
	<-p.done
	return p.err
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

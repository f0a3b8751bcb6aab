package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// process is one child program of the development cluster (a fleetd
// server now; agents later), with its output appended to a log file. It
// runs in its own process group, so a Ctrl-C in the terminal reaches only
// devcluster, which then stops its children in order.
type process struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{}

	mu       sync.Mutex
	stopping bool
	err      error
}

// start launches bin with args, logging to logFile. onExit is called if
// the process exits before stop was asked for.
func start(name, logFile, bin string, args []string, onExit func(p *process, err error)) (*process, error) {
	lf, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(lf, "\n==== %s starting at %s: %s %v\n", name, time.Now().Format(time.RFC3339), bin, args)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, log: logFile, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		lf.Close()
		p.mu.Lock()
		p.err = err
		stopping := p.stopping
		p.mu.Unlock()
		close(p.done)
		if !stopping && onExit != nil {
			onExit(p, err)
		}
	}()
	return p, nil
}

// stop asks the process to stop (SIGTERM) and waits up to grace before
// killing it.
func (p *process) stop(grace time.Duration) error {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %v and was killed; see %s", p.name, grace, p.log)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var exit *exec.ExitError
	if p.err != nil && !errors.As(p.err, &exit) {
		return p.err
	}
	if p.err != nil {
		return fmt.Errorf("%s stopped with %v; see %s", p.name, p.err, p.log)
	}
	return nil
}

// tail returns the last n bytes of the process's log, for error messages.
func (p *process) tail(n int64) string {
	f, err := os.Open(p.log)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(-n, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

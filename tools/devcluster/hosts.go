package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
)

// Host faults on demand. kill-host SIGKILLs a host's agent, found through
// its pid file, as a host losing power stops; the devcluster process that
// started it notes the exit and carries on. restart-host starts the agent
// again, with the arguments and settings devcluster last started it with
// (its .cmd file), as a process of its own that outlives the command; the
// devcluster process stops it on Ctrl-C with the others, through its pid
// file (stopRestarted).

// killWait bounds waiting for a killed agent to be gone.
const killWait = 5 * time.Second

// restartWait bounds waiting for a restarted agent to listen: it opens
// its drives first.
const restartWait = 30 * time.Second

// killHost is the kill-host command.
func killHost(c *cli.Context) error {
	host, err := oneArg(c, "HOST_ID")
	if err != nil {
		return err
	}
	r, err := openRunning(c)
	if err != nil {
		return err
	}
	if _, err := r.agent(host); err != nil {
		return err
	}
	pid, ok := r.agentRunning(host)
	if !ok {
		return fmt.Errorf("the agent of %s is not running, so there is nothing to kill; start it with %s restart-host %s", host, r.self(), host)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill the agent of %s (pid %d): %w", host, pid, err)
	}
	if !waitGone(pid, killWait) {
		return fmt.Errorf("the agent of %s (pid %d) is still there %v after SIGKILL; see ps -p %d", host, pid, killWait, pid)
	}
	fmt.Fprintf(r.out, "killed the agent of %s (pid %d) with SIGKILL: it stopped as a host losing power does, without closing its drives.\n"+
		"fleetd shows %s unreachable once it has missed heartbeats for the heartbeat timeout (15 s by default).\n"+
		"Start it again with %s restart-host %s.\n", host, pid, host, r.self(), host)
	return nil
}

// restartHost is the restart-host command.
func restartHost(c *cli.Context) error {
	host, err := oneArg(c, "HOST_ID")
	if err != nil {
		return err
	}
	r, err := openRunning(c)
	if err != nil {
		return err
	}
	a, err := r.agent(host)
	if err != nil {
		return err
	}
	// Two restarts of one host at once would both find it stopped.
	unlock, err := lockDir(r.dir.hostDir(host))
	if err != nil {
		return err
	}
	defer unlock()
	files := r.dir.agentFiles(host)
	if pid, ok := files.running(); ok {
		return fmt.Errorf("the agent of %s is already running (pid %d); kill it first with %s kill-host %s", host, pid, r.self(), host)
	}
	rec, err := files.readRecord()
	if err != nil {
		return fmt.Errorf("devcluster has not recorded how it starts the agent of %s (%w); it records it when it starts the agents, so run %s with agents", host, err, r.self())
	}
	log := r.dir.agentLog(host)
	pid, exited, err := startDetached("agent of "+host, log, files, rec)
	if err != nil {
		return err
	}
	if err := waitListening(a.Addr, exited, restartWait); err != nil {
		return fmt.Errorf("the agent of %s (pid %d) %v; see %s", host, pid, err, log)
	}
	fmt.Fprintf(r.out, "restarted the agent of %s (pid %d) with devcluster's arguments: it serves on %s and registers with fleetd again; log %s.\n"+
		"Ctrl-C on devcluster stops it with the other agents.\n", host, pid, a.Addr, log)
	return nil
}

// lockDir takes an exclusive lock on directory dir, waiting for it, and
// returns how to release it. The lock goes with the process, so a command
// that dies releases it too.
func lockDir(dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}

// waitListening waits up to d for addr to take connections, unless the
// process listening there exits first.
func waitListening(addr string, exited <-chan error, d time.Duration) error {
	for deadline := time.Now().Add(d); ; {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited at start-up (%v)", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("does not listen on %s after %v", addr, d)
		}
	}
}

// stopRestarted stops the agents that restart-host started, which are not
// cl's children: every recorded agent that runs but is not one of cl's
// processes. They stop at once, as cl's own agents do.
func (cl *cluster) stopRestarted() error {
	cl.mu.Lock()
	own := map[int]bool{}
	for _, p := range cl.agents {
		own[p.cmd.Process.Pid] = true
	}
	cl.mu.Unlock()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, a := range cl.cfg.Agents {
		files := cl.dir.agentFiles(a.Host)
		pid, ok := files.running()
		if !ok || own[pid] {
			continue
		}
		wg.Go(func() {
			err := terminate("the restarted agent of "+a.Host, pid, stopGrace)
			if err == nil {
				files.removePID(pid)
			}
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

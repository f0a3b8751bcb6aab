package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one child program of the development cluster (a fleetd
// server or an agent), with its output appended to a log file. It
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
// the process exits before stop was asked for. It records the process
// beside its log (procFiles), so that devcluster's commands in other
// processes can find it, kill it and start it again the same way.
func start(name, logFile, bin string, args []string, onExit func(p *process, err error)) (*process, error) {
	files := procFilesOf(logFile)
	rec := procRecord{Argv: append([]string{bin}, args...), Env: settingsEnv(os.Environ())}
	if err := files.writeRecord(rec); err != nil {
		return nil, err
	}
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
	pid := cmd.Process.Pid
	if err := files.writePID(pid); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		lf.Close()
		return nil, err
	}
	p := &process{name: name, log: logFile, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		lf.Close()
		files.removePID(pid)
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

// procFiles are the files that record a process of the cluster for
// devcluster's commands, which run as other processes: NAME.pid holds its
// process id while it runs (one line, so kill $(cat NAME.pid) works), and
// NAME.cmd how it was started (procRecord, JSON). For a server or an agent
// NAME is its log's path without .log (fleet-1/fleetd, rack-1-host-1/agent).
type procFiles struct {
	pid, cmd string
}

// procFilesAt names the files of the process recorded as base.
func procFilesAt(base string) procFiles {
	return procFiles{pid: base + ".pid", cmd: base + ".cmd"}
}

// procFilesOf names the files of the process that logs to logFile.
func procFilesOf(logFile string) procFiles {
	return procFilesAt(strings.TrimSuffix(logFile, ".log"))
}

// procRecord is how a process was started.
type procRecord struct {
	// Argv is the program and its arguments.
	Argv []string `json:"argv"`
	// Env holds the settings it had from its environment (settingsEnv),
	// which a restart must give it again.
	Env []string `json:"env,omitempty"`
}

// settingsEnv picks from env the variables that configure Shingle's
// programs (SHINGLE_*, such as SHINGLE_AGENT_HEALTH_INTERVAL) and their
// tracing (OTEL_*): what a process started again must find again. The rest
// of the environment is the caller's business.
func settingsEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "SHINGLE_") || strings.HasPrefix(kv, "OTEL_") {
			out = append(out, kv)
		}
	}
	return out
}

// withSettings is env with its settings (settingsEnv) replaced by
// settings.
func withSettings(env, settings []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "SHINGLE_") && !strings.HasPrefix(kv, "OTEL_") {
			out = append(out, kv)
		}
	}
	return append(out, settings...)
}

// writeRecord writes the .cmd file.
func (f procFiles) writeRecord(rec procRecord) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	// 0600: the arguments hold the agents' join token.
	return writeFileAtomic(f.cmd, append(b, '\n'), 0o600)
}

// readRecord reads the .cmd file.
func (f procFiles) readRecord() (procRecord, error) {
	var rec procRecord
	b, err := os.ReadFile(f.cmd)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil || len(rec.Argv) == 0 {
		return rec, fmt.Errorf("%s is damaged (%v); run devcluster again to rewrite it", f.cmd, err)
	}
	return rec, nil
}

// writePID writes the .pid file.
func (f procFiles) writePID(pid int) error {
	return writeFileAtomic(f.pid, []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// removePID removes the .pid file if it still names pid: a process
// started again meanwhile has written its own.
func (f procFiles) removePID(pid int) {
	if b, err := os.ReadFile(f.pid); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(pid) {
		_ = os.Remove(f.pid)
	}
}

// running returns the id of the recorded process if it runs: the .pid file
// names a live process whose command line is the one in the .cmd file, so
// that a process that got the id of a dead one later is never taken for
// it.
func (f procFiles) running() (int, bool) {
	b, err := os.ReadFile(f.pid)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	rec, err := f.readRecord()
	if err != nil {
		return 0, false
	}
	argv, ok := procArgv(pid)
	if !ok || !slices.Equal(argv, rec.Argv) {
		return 0, false
	}
	return pid, true
}

// procArgv returns the command line of process pid, and false if there
// is no such process or it has exited (procAlive).
func procArgv(pid int) ([]string, bool) {
	if !procAlive(pid) {
		return nil, false
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(raw) == 0 {
		return nil, false
	}
	return strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00"), true
}

// procAlive reports whether process pid runs: some thread of it is not a
// zombie. A process whose threads are all zombies has exited and holds no
// files or ports; it only waits for its parent to collect it. (Its first
// thread alone may be a zombie while the others still tear down, holding
// the process's sockets.) It reads /proc, so it works on Linux only.
func procAlive(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return false
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			continue
		}
		// The state follows the command name in parentheses, which may
		// itself hold parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X' {
			return true
		}
	}
	return false
}

// waitGone waits up to d for process pid to exit, and reports whether it
// did.
func waitGone(pid int, d time.Duration) bool {
	for deadline := time.Now().Add(d); procAlive(pid); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// terminate stops process pid, which is not devcluster's child, as stop
// stops a child: SIGTERM, then SIGKILL after grace.
func terminate(name string, pid int, grace time.Duration) error {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	if waitGone(pid, grace) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	waitGone(pid, 5*time.Second)
	return fmt.Errorf("%s (pid %d) did not stop within %v and was killed", name, pid, grace)
}

// startDetached starts the process rec describes, logging to logFile, in
// its own process group, records its id in files and leaves it running
// when the caller exits: the devcluster process that runs the cluster
// stops it on Ctrl-C through files. Its environment is the caller's with
// rec's settings. exited receives its exit status if it ends while the
// caller still runs.
func startDetached(name, logFile string, files procFiles, rec procRecord) (pid int, exited <-chan error, err error) {
	lf, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, nil, err
	}
	defer lf.Close()
	fmt.Fprintf(lf, "\n==== %s starting at %s (devcluster restart): %s %v\n", name, time.Now().Format(time.RFC3339), rec.Argv[0], rec.Argv[1:])
	cmd := exec.Command(rec.Argv[0], rec.Argv[1:]...)
	cmd.Env = withSettings(os.Environ(), rec.Env)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return 0, nil, fmt.Errorf("start %s: %w", name, err)
	}
	pid = cmd.Process.Pid
	if err := files.writePID(pid); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return 0, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return pid, done, nil
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so that a reader never sees half of it.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shingle-storage/shingle/agent/server"
	"github.com/urfave/cli/v2"
)

// Drive faults on demand. fail-drive writes the drive's fault file
// (drive-NN.fault beside drive-NN.zoned, see server.DevFaultOffline); the
// agent that has the drive open polls it and takes every zone of the drive
// offline through package errorzone, and checks it again whenever it
// starts, so the drive stays failed across restarts of its host.
// heal-drive removes the file: the drive comes back whole the next time
// its agent starts, while the running agent keeps it offline, as a real
// drive's offline zones stay offline.

// faultConfirmWait bounds waiting for the agent to log that it took a
// drive offline: it polls the fault file four times a second.
const faultConfirmWait = 5 * time.Second

// devDrive is an emulated drive of the running cluster.
type devDrive struct {
	id, host string
	slot     int
	// file is the drive's file, fault its fault file.
	file, fault string
}

// faultComment starts the comment a fault file names its drive in, so
// that heal-drive finds the drive even if fleetd no longer lists it.
const faultComment = "# drive "

// findDrive finds the drive with id among the fleet's drives or, failing
// that, among the drives with a fault file.
func (r *runningCluster) findDrive(c *cli.Context, id string) (devDrive, error) {
	drives, err := r.fleetDrives(c.Context)
	if err != nil {
		if d, ok := r.faultedDrive(id); ok {
			return d, nil
		}
		return devDrive{}, err
	}
	var known []string
	for _, d := range drives {
		if d.GetId() != id {
			known = append(known, fmt.Sprintf("%s (%s slot %s)", d.GetId(), d.GetHost(), d.GetSlot()))
			continue
		}
		slot, err := strconv.Atoi(d.GetSlot())
		if err != nil || slot < 0 {
			return devDrive{}, fmt.Errorf("drive %s is in slot %q of %s, which is not an emulated drive's slot (0, 1, ...): devcluster fails only the emulated drives of its agents", id, d.GetSlot(), d.GetHost())
		}
		if _, err := r.agent(d.GetHost()); err != nil {
			return devDrive{}, fmt.Errorf("drive %s: %w", id, err)
		}
		file := server.DevDrivePath(r.dir.drivesDir(d.GetHost()), slot)
		if _, err := os.Stat(file); err != nil {
			return devDrive{}, fmt.Errorf("drive %s is registered in slot %d of %s, but its file is missing (%v); was %s removed?", id, slot, d.GetHost(), err, r.dir.drivesDir(d.GetHost()))
		}
		return devDrive{id: id, host: d.GetHost(), slot: slot, file: file, fault: server.DevFaultPath(file)}, nil
	}
	if d, ok := r.faultedDrive(id); ok {
		return d, nil
	}
	sort.Strings(known)
	if len(known) == 0 {
		return devDrive{}, fmt.Errorf("the cluster in %s has no drive %q: fleetd lists no drives yet", r.dir, id)
	}
	return devDrive{}, fmt.Errorf("the cluster in %s has no drive %q; fleetctl drive list shows its drives:\n  %s", r.dir, id, strings.Join(known, "\n  "))
}

// faultedDrive finds the drive with id among those with a fault file.
func (r *runningCluster) faultedDrive(id string) (devDrive, bool) {
	for _, a := range r.cfg.Agents {
		for slot := range a.Drives {
			file := server.DevDrivePath(r.dir.drivesDir(a.Host), slot)
			b, err := os.ReadFile(server.DevFaultPath(file))
			if err == nil && strings.Contains(string(b), faultComment+id+" ") {
				return devDrive{id: id, host: a.Host, slot: slot, file: file, fault: server.DevFaultPath(file)}, true
			}
		}
	}
	return devDrive{}, false
}

// failed reports whether the drive's fault file fails it.
func (d devDrive) failed() bool {
	b, err := os.ReadFile(d.fault)
	return err == nil && server.ParseDevFault(b) == server.DevFaultOffline
}

// oneArg is the one argument of a command, such as its drive or host id.
func oneArg(c *cli.Context, what string) (string, error) {
	if c.NArg() != 1 {
		return "", fmt.Errorf("%s takes one %s, got %d arguments; see devcluster %s --help", c.Command.Name, what, c.NArg(), c.Command.Name)
	}
	return c.Args().First(), nil
}

// failDrive is the fail-drive command.
func failDrive(c *cli.Context) error {
	id, err := oneArg(c, "DRIVE_ID")
	if err != nil {
		return err
	}
	r, err := openRunning(c)
	if err != nil {
		return err
	}
	d, err := r.findDrive(c, id)
	if err != nil {
		return err
	}
	if d.failed() {
		fmt.Fprintf(r.out, "drive %s (%s slot %d) is already failed: %s says %s.\n", d.id, d.host, d.slot, d.fault, server.DevFaultOffline)
		return nil
	}
	log := r.dir.agentLog(d.host)
	from := logOffset(log)
	content := fmt.Sprintf("%s\n%s%s of %s, slot %d: failed by devcluster fail-drive at %s.\n"+
		"# Its agent takes every zone offline while this file says %s, also after a restart.\n"+
		"# Remove the file (devcluster heal-drive %s) and restart the host to bring the drive back.\n",
		server.DevFaultOffline, faultComment, d.id, d.host, d.slot, time.Now().Format(time.RFC3339), server.DevFaultOffline, d.id)
	if err := writeFileAtomic(d.fault, []byte(content), 0o644); err != nil {
		return fmt.Errorf("fail drive %s: %w", d.id, err)
	}
	fmt.Fprintf(r.out, "failed drive %s (%s slot %d): wrote %s.\n", d.id, d.host, d.slot, d.fault)
	pid, running := r.agentRunning(d.host)
	switch {
	case !running:
		fmt.Fprintf(r.out, "The agent of %s is not running; the drive is offline from its start (%s restart-host %s).\n", d.host, r.self(), d.host)
	case waitLogged(log, from, faultConfirmWait, "drive failed by its fault file", `"drive":"`+d.id+`"`):
		fmt.Fprintf(r.out, "The agent of %s (pid %d) took every zone of the drive offline: its reads and writes fail as a dead drive's would,\n"+
			"and its health shows the zones offline from the agent's next health check.\n", d.host, pid)
	default:
		fmt.Fprintf(r.out, "The agent of %s (pid %d) has not said within %v that it took the drive offline; see %s.\n", d.host, pid, faultConfirmWait, log)
	}
	fmt.Fprintf(r.out, "The drive stays failed across restarts of %s until %s heal-drive %s.\n", d.host, r.self(), d.id)
	return nil
}

// healDrive is the heal-drive command.
func healDrive(c *cli.Context) error {
	id, err := oneArg(c, "DRIVE_ID")
	if err != nil {
		return err
	}
	r, err := openRunning(c)
	if err != nil {
		return err
	}
	d, err := r.findDrive(c, id)
	if err != nil {
		return err
	}
	if err := os.Remove(d.fault); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("drive %s (%s slot %d) is not failed: it has no fault file %s", d.id, d.host, d.slot, d.fault)
	} else if err != nil {
		return fmt.Errorf("heal drive %s: %w", d.id, err)
	}
	fmt.Fprintf(r.out, "healed drive %s (%s slot %d): removed %s.\n", d.id, d.host, d.slot, d.fault)
	if _, running := r.agentRunning(d.host); !running {
		fmt.Fprintf(r.out, "The drive comes back whole, with its data, when the agent of %s starts (%s restart-host %s).\n", d.host, r.self(), d.host)
		return nil
	}
	fmt.Fprintf(r.out, "The running agent of %s keeps the drive offline, as a real drive's offline zones stay offline;\n"+
		"it comes back whole, with its data, when the agent starts again:\n  %s kill-host %s && %s restart-host %s\n",
		d.host, r.self(), d.host, r.self(), d.host)
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/shingle-storage/shingle/client"
	"github.com/urfave/cli/v2"
)

// blobCommands are put, get, rm and stat: storing and reading blobs.
func blobCommands() []*cli.Command {
	return []*cli.Command{
		{
			Name: "put", Usage: "store a file (or stdin) and print its locator", ArgsUsage: "FILE|-",
			Description: `put writes the file to an open volume: every replica has it durable before
the locator is printed. A file over 4 MiB is split into 4 MiB blobs plus a
manifest blob listing them; the manifest's locator starts with "m".
Progress goes to stderr when it is a terminal, or always with --progress.`,
			Flags:  []cli.Flag{outputFlag(), &cli.BoolFlag{Name: "progress", Usage: "show progress on stderr even when it is not a terminal"}},
			Action: blobPut,
		},
		{
			Name: "get", Usage: "read what a locator names to a file (or stdout)", ArgsUsage: "LOCATOR",
			Flags: []cli.Flag{&cli.StringFlag{Name: "out", Aliases: []string{"O"}, Usage: "write to this file instead of stdout; it is replaced only once the whole blob has arrived"},
				&cli.BoolFlag{Name: "progress", Usage: "show progress on stderr even when it is not a terminal"}},
			Action: blobGet,
		},
		{
			Name: "rm", Usage: "delete what a locator names (a file's blobs and manifest too)", ArgsUsage: "LOCATOR",
			Description: `rm deletes a blob. In an open volume every replica gets a tombstone; in a
sealed or encoded volume the deletion is recorded in fleetd, and the space
comes back when the volume is encoded or, once a fifth of it is deleted
(fleetd --compact-deleted), when its image is rewritten without them. A
deleted blob reads as not found at once for every new client (each fleetctl
run is one), and within 30 seconds for long-running clients that had the
volume's location cached. For a manifest locator ("m..."), every blob of
the file is deleted, then the manifest; if that is cut short, run it again.`,
			Flags:  []cli.Flag{&cli.BoolFlag{Name: "progress", Usage: "show progress on stderr even when it is not a terminal"}},
			Action: blobRm,
		},
		{
			Name: "stat", Usage: "show what a locator names: size, checksum, and where its volume is", ArgsUsage: "LOCATOR",
			Description: `stat reads the blob (its checksum is checked on the way) and shows its size,
CRC32C, volume and the volume's members. For a manifest locator ("m...") the
size is the file's, and stat adds how many blobs hold the file, the volumes
they are in and the file's SHA-256, from the manifest; the CRC32C, volume and
members are then the manifest's. The file's blobs are not read: get reads
and checks them all.`,
			Flags: []cli.Flag{outputFlag()}, Action: blobStat,
		},
	}
}

// blobClient makes a blob client from the global flags.
func blobClient(c *cli.Context) (*client.Client, error) {
	f, err := dial(c)
	if err != nil {
		return nil, err
	}
	return client.New(client.Config{Fleet: f.addrs, TLS: f.tls})
}

// progressBar draws "label [=====>    ] 45% 123 MiB/270 MiB 80 MiB/s" on w.
type progressBar struct {
	w      io.Writer
	label  string
	start  time.Time
	last   time.Time
	active bool
}

func newProgress(c *cli.Context, label string) *progressBar {
	p := &progressBar{w: c.App.ErrWriter, label: label, start: time.Now()}
	if st, err := os.Stderr.Stat(); c.Bool("progress") || (err == nil && st.Mode()&os.ModeCharDevice != 0 && c.App.ErrWriter == os.Stderr) {
		p.active = true
	}
	return p
}

// show draws the bar; total 0 means unknown. At most ten redraws a second.
func (p *progressBar) show(done, total int64, final bool) {
	if !p.active || (!final && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	rate := float64(done) / max(time.Since(p.start).Seconds(), 1e-3)
	line := fmt.Sprintf("%s %s %s/s", p.label, size(uint64(done)), size(uint64(rate)))
	if total > 0 {
		const width = 30
		fill := int(float64(width) * float64(done) / float64(total))
		bar := make([]byte, width)
		for i := range bar {
			switch {
			case i < fill:
				bar[i] = '='
			case i == fill:
				bar[i] = '>'
			default:
				bar[i] = ' '
			}
		}
		line = fmt.Sprintf("%s [%s] %3.0f%% %s/%s %s/s", p.label, bar, 100*float64(done)/float64(total), size(uint64(done)), size(uint64(total)), size(uint64(rate)))
	}
	fmt.Fprintf(p.w, "\r%s\033[K", line)
	if final {
		fmt.Fprintln(p.w)
	}
}

// showCount draws a count of things done (blobs deleted), ending the line
// when all are.
func (p *progressBar) showCount(done, total int) {
	if !p.active || total <= 1 || (done < total && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r%s %d/%d blobs\033[K", p.label, done, total)
	if done == total {
		fmt.Fprintln(p.w)
	}
}

func blobPut(c *cli.Context) error {
	arg, err := oneArg(c, "FILE")
	if err != nil {
		return err
	}
	p, err := newPrinter(c)
	if err != nil {
		return err
	}
	in := io.Reader(os.Stdin)
	var total int64
	if arg != "-" {
		fh, err := os.Open(arg)
		if err != nil {
			return usageErrorf("%v", err)
		}
		defer fh.Close()
		if st, err := fh.Stat(); err == nil {
			total = st.Size()
		}
		in = fh
	}
	cl, err := blobClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	bar := newProgress(c, "put")
	var done int64
	finished := make(chan struct{})
	go func() {
		select {
		case <-c.Context.Done():
			fmt.Fprintf(c.App.ErrWriter, "\nfleetctl: interrupted; deleting the blobs stored so far (interrupt again to leave them)\n")
		case <-finished:
		}
	}()
	l, err := cl.PutFile(c.Context, in, func(n int64) { done = n; bar.show(n, total, false) })
	close(finished)
	if err != nil {
		return blobError(err)
	}
	bar.show(done, total, true)
	if p.json {
		return p.value(map[string]any{"locator": l.String(), "volume": l.Volume, "bytes": done, "manifest": l.Manifest})
	}
	_, err = fmt.Fprintln(p.w, l.String())
	return err
}

// parseLocatorArg reads the LOCATOR argument.
func parseLocatorArg(c *cli.Context) (client.Locator, error) {
	arg, err := oneArg(c, "LOCATOR")
	if err != nil {
		return client.Locator{}, err
	}
	l, err := client.ParseLocator(arg)
	if err != nil {
		return l, usageErrorf("%v", err)
	}
	return l, nil
}

func blobGet(c *cli.Context) error {
	l, err := parseLocatorArg(c)
	if err != nil {
		return err
	}
	cl, err := blobClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	out := c.App.Writer
	var fh *outFile
	if name := c.String("out"); name != "" {
		if fh, err = createOut(name); err != nil {
			return usageErrorf("%v", err)
		}
		out = fh
	}
	bar := newProgress(c, "get")
	var done, total int64
	err = cl.GetFile(c.Context, l, out, func(d, t int64) { done, total = d, t; bar.show(d, t, false) })
	if fh != nil {
		if ferr := fh.finish(err == nil); err == nil {
			err = ferr
		}
	}
	if err != nil {
		return blobError(err)
	}
	bar.show(done, total, true)
	return nil
}

func blobRm(c *cli.Context) error {
	l, err := parseLocatorArg(c)
	if err != nil {
		return err
	}
	cl, err := blobClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	bar := newProgress(c, "rm")
	if err := cl.DeleteFile(c.Context, l, func(done, total int) { bar.showCount(done, total) }); err != nil {
		return blobError(err)
	}
	return nil
}

func blobStat(c *cli.Context) error {
	l, err := parseLocatorArg(c)
	if err != nil {
		return err
	}
	p, err := newPrinter(c)
	if err != nil {
		return err
	}
	cl, err := blobClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	st, err := cl.Stat(c.Context, l)
	if err != nil {
		return blobError(err)
	}
	if p.json {
		return p.value(st)
	}
	t := newTable(p.w)
	t.pair("locator", l.String())
	t.pair("size", fmt.Sprintf("%d (%s)", st.Size, size(uint64(st.Size))))
	if f := st.File; f != nil {
		vols := make([]string, len(f.Volumes))
		for i, v := range f.Volumes {
			vols[i] = fmt.Sprint(v)
		}
		t.pair("file", fmt.Sprintf("%d blobs in volumes %s", f.Blobs, strings.Join(vols, ", ")))
		t.pair("sha256", f.SHA256)
		t.pair("manifest", fmt.Sprintf("%d B, crc32c %08x", f.ManifestSize, st.CRC32C))
	} else {
		t.pair("crc32c", fmt.Sprintf("%08x", st.CRC32C))
	}
	t.pair("volume", fmt.Sprintf("%d (%s, %s, generation %d)", st.Volume, st.Scheme, st.State, st.Generation))
	t.row("MEMBER", "DRIVE", "HOST", "DRIVE STATE", "HOST", "EXTENT")
	for _, h := range st.Holders {
		t.row(h.Index, h.Drive, h.Host, h.DriveState, h.Reachability, h.Extent)
	}
	return t.tw.Flush()
}

// blobError gives client errors their exit codes: a missing blob is
// exitNotFound.
func blobError(err error) error {
	switch {
	case errors.Is(err, client.ErrNotFound):
		return &exitError{code: exitNotFound, msg: err.Error()}
	case errors.Is(err, client.ErrNoLeader):
		return &exitError{code: exitNoLeader, msg: "no leader: " + oneLine(err.Error())}
	case errors.Is(err, client.ErrFleetUnreachable):
		return &exitError{code: exitUnreachable, msg: fmt.Sprintf("cannot reach the fleet (%s); check --addr or SHINGLE_FLEET_ADDR, and that fleetd is running",
			oneLine(rootCause(err)))}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("timed out: %w", err)
	}
	return err
}

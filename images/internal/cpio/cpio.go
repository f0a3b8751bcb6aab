// Package cpio writes cpio archives in the "newc" (SVR4, no checksum)
// format, the only format the Linux kernel unpacks as an initramfs.
//
// The format is simple: each member is a 110-byte ASCII header of
// hexadecimal fields, the member's NUL-terminated name padded to a multiple
// of four bytes, then its data padded the same way. A member named
// "TRAILER!!!" ends the archive. The kernel's unpacker (init/initramfs.c)
// creates each member in the order it appears and does not create missing
// parent directories, so [Writer] emits every parent directory of a member
// before the member itself.
//
// Only what an initramfs needs is supported: directories, regular files,
// symbolic links and character or block device nodes. Every member is owned
// by root and carries a zero modification time, so an archive built from the
// same inputs is the same bytes.
package cpio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Type bits of a member's mode, as in <sys/stat.h>.
const (
	modeDir     = 0o040000
	modeRegular = 0o100000
	modeSymlink = 0o120000
	modeCharDev = 0o020000
	modeBlkDev  = 0o060000
)

// Magic is the six-byte magic that starts every newc header.
const Magic = "070701"

// Trailer is the name of the member that ends an archive.
const Trailer = "TRAILER!!!"

// headerSize is the size of a newc header: the magic and thirteen
// eight-digit hexadecimal fields.
const headerSize = 6 + 13*8

// Writer writes a newc archive to an underlying io.Writer. Names are
// slash-separated paths relative to the archive's root ("bin/busybox");
// a leading slash is dropped. Methods return the first error the
// underlying writer returned, and keep returning it.
type Writer struct {
	w      io.Writer
	off    int64
	ino    uint32
	dirs   map[string]bool
	names  map[string]bool
	err    error
	closed bool
}

// NewWriter returns a Writer that writes an archive to w. Call Close to
// write the trailer; Close does not close w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, dirs: map[string]bool{"": true}, names: map[string]bool{}}
}

// Mkdir adds directory name with permission bits perm, and any missing
// parents of it with mode 0755. Adding a directory that the archive already
// has is not an error.
func (cw *Writer) Mkdir(name string, perm fs.FileMode) error {
	name, err := cw.clean(name)
	if err != nil {
		return err
	}
	if cw.dirs[name] {
		return cw.err
	}
	if err := cw.parents(name); err != nil {
		return err
	}
	if cw.names[name] {
		return fmt.Errorf("cpio: %s: already in the archive and not a directory", name)
	}
	cw.dirs[name] = true
	cw.names[name] = true
	return cw.member(name, modeDir|uint32(perm.Perm()), 2, 0, 0, nil, 0)
}

// AddFile adds regular file name with permission bits perm (including the
// setuid, setgid and sticky bits), reading exactly size bytes of content
// from r.
func (cw *Writer) AddFile(name string, perm fs.FileMode, r io.Reader, size int64) error {
	name, err := cw.prepare(name)
	if err != nil {
		return err
	}
	return cw.member(name, modeRegular|unixPerm(perm), 1, 0, 0, r, size)
}

// AddSymlink adds a symbolic link name pointing at target.
func (cw *Writer) AddSymlink(name, target string) error {
	name, err := cw.prepare(name)
	if err != nil {
		return err
	}
	if target == "" {
		return fmt.Errorf("cpio: %s: empty symlink target", name)
	}
	return cw.member(name, modeSymlink|0o777, 1, 0, 0, strings.NewReader(target), int64(len(target)))
}

// AddCharDevice adds a character device node name with the given
// permission bits and device number, such as dev/console (5, 1), which the
// kernel opens as the first process's standard streams before it runs
// /init.
func (cw *Writer) AddCharDevice(name string, perm fs.FileMode, major, minor uint32) error {
	name, err := cw.prepare(name)
	if err != nil {
		return err
	}
	return cw.member(name, modeCharDev|uint32(perm.Perm()), 1, major, minor, nil, 0)
}

// AddBlockDevice adds a block device node name with the given permission
// bits and device number.
func (cw *Writer) AddBlockDevice(name string, perm fs.FileMode, major, minor uint32) error {
	name, err := cw.prepare(name)
	if err != nil {
		return err
	}
	return cw.member(name, modeBlkDev|uint32(perm.Perm()), 1, major, minor, nil, 0)
}

// Close writes the trailer and pads the archive to a multiple of 512 bytes,
// as the cpio tool does. It does not close the underlying writer.
func (cw *Writer) Close() error {
	if cw.closed {
		return cw.err
	}
	if err := cw.member(Trailer, 0, 1, 0, 0, nil, 0); err != nil {
		return err
	}
	cw.closed = true
	if pad := (512 - cw.off%512) % 512; pad > 0 {
		cw.write(make([]byte, pad))
	}
	return cw.err
}

// clean validates name and returns it relative and cleaned.
func (cw *Writer) clean(name string) (string, error) {
	if cw.err != nil {
		return "", cw.err
	}
	if cw.closed {
		return "", errors.New("cpio: write to a closed archive")
	}
	orig := name
	name = strings.TrimLeft(path.Clean("/"+name), "/")
	if name == "" || name == "." {
		return "", fmt.Errorf("cpio: invalid member name %q", orig)
	}
	return name, nil
}

// prepare validates a non-directory member's name, rejects duplicates and
// emits its missing parent directories.
func (cw *Writer) prepare(name string) (string, error) {
	name, err := cw.clean(name)
	if err != nil {
		return "", err
	}
	if cw.names[name] {
		return "", fmt.Errorf("cpio: %s: added twice", name)
	}
	if err := cw.parents(name); err != nil {
		return "", err
	}
	cw.names[name] = true
	return name, nil
}

// parents emits every missing ancestor directory of name, outermost first.
func (cw *Writer) parents(name string) error {
	dir := path.Dir(name)
	if dir == "." || cw.dirs[dir] {
		return nil
	}
	return cw.Mkdir(dir, 0o755)
}

// member writes one header, the name, and size bytes read from r.
func (cw *Writer) member(name string, mode, nlink, rmajor, rminor uint32, r io.Reader, size int64) error {
	if cw.err != nil {
		return cw.err
	}
	if size < 0 || size > 0xffffffff {
		return fmt.Errorf("cpio: %s: size %d does not fit a newc header", name, size)
	}
	ino := uint32(0)
	if name != Trailer {
		cw.ino++
		ino = cw.ino
	}
	fields := [13]uint32{
		ino,
		mode,
		0, // uid
		0, // gid
		nlink,
		0, // mtime
		uint32(size),
		0, // devmajor
		0, // devminor
		rmajor,
		rminor,
		uint32(len(name) + 1),
		0, // check
	}
	var hdr strings.Builder
	hdr.Grow(headerSize + len(name) + 4)
	hdr.WriteString(Magic)
	for _, f := range fields {
		fmt.Fprintf(&hdr, "%08X", f)
	}
	hdr.WriteString(name)
	hdr.WriteByte(0)
	cw.write([]byte(hdr.String()))
	cw.pad()
	if size > 0 {
		n, err := io.CopyN(cw.countingWriter(), r, size)
		if err != nil && cw.err == nil {
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("cpio: %s: content ended after %d of %d bytes", name, n, size)
			}
			cw.err = err
		}
		cw.pad()
	}
	return cw.err
}

// pad writes zeros up to the next multiple of four bytes.
func (cw *Writer) pad() {
	if n := (4 - cw.off%4) % 4; n > 0 {
		cw.write(make([]byte, n))
	}
}

func (cw *Writer) write(p []byte) {
	if cw.err != nil {
		return
	}
	n, err := cw.w.Write(p)
	cw.off += int64(n)
	if err != nil {
		cw.err = err
	}
}

func (cw *Writer) countingWriter() io.Writer { return writerFunc(cw.writeErr) }

func (cw *Writer) writeErr(p []byte) (int, error) {
	if cw.err != nil {
		return 0, cw.err
	}
	n, err := cw.w.Write(p)
	cw.off += int64(n)
	if err != nil {
		cw.err = err
	}
	return n, err
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// unixPerm converts Go's permission and special bits to Unix mode bits.
func unixPerm(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

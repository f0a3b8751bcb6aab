package cpio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// entry is one member as read back by readArchive.
type entry struct {
	name         string
	ino          uint32
	mode         uint32
	nlink        uint32
	rmajor       uint32
	rminor       uint32
	data         string
	headerOffset int
}

// readArchive parses a newc archive independently of Writer, checking the
// alignment rules the kernel's unpacker relies on.
func readArchive(t *testing.T, b []byte) []entry {
	t.Helper()
	var out []entry
	off := 0
	for {
		if off%4 != 0 {
			t.Fatalf("header at offset %d is not 4-byte aligned", off)
		}
		if off+headerSize > len(b) {
			t.Fatalf("archive ends inside a header at offset %d", off)
		}
		h := b[off : off+headerSize]
		if string(h[:6]) != Magic {
			t.Fatalf("bad magic %q at offset %d", h[:6], off)
		}
		var f [13]uint32
		for i := range f {
			v, err := strconv.ParseUint(string(h[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				t.Fatalf("field %d at offset %d: %v", i, off, err)
			}
			f[i] = uint32(v)
		}
		namesize := int(f[11])
		nameStart := off + headerSize
		name := string(b[nameStart : nameStart+namesize])
		if !strings.HasSuffix(name, "\x00") {
			t.Fatalf("name %q is not NUL-terminated", name)
		}
		name = strings.TrimSuffix(name, "\x00")
		dataStart := align4(nameStart + namesize)
		size := int(f[6])
		e := entry{
			name: name, ino: f[0], mode: f[1], nlink: f[4],
			rmajor: f[9], rminor: f[10],
			data:         string(b[dataStart : dataStart+size]),
			headerOffset: off,
		}
		if f[2] != 0 || f[3] != 0 || f[5] != 0 {
			t.Errorf("%s: uid %d gid %d mtime %d, want all zero", name, f[2], f[3], f[5])
		}
		off = align4(dataStart + size)
		if name == Trailer {
			if len(b)%512 != 0 {
				t.Errorf("archive length %d is not a multiple of 512", len(b))
			}
			for _, c := range b[off:] {
				if c != 0 {
					t.Fatalf("non-zero byte after trailer")
				}
			}
			return out
		}
		out = append(out, e)
	}
}

func align4(n int) int { return (n + 3) &^ 3 }

func TestWriterRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.AddCharDevice("/dev/console", 0o600, 5, 1))
	must(w.Mkdir("bin", 0o755))
	must(w.AddFile("/bin/busybox", 0o755, strings.NewReader("#!busybox"), 9))
	must(w.AddSymlink("bin/sh", "busybox"))
	must(w.AddFile("usr/lib/x86_64-linux-gnu/libc.so.6", 0o644, strings.NewReader("abc"), 3))
	must(w.AddFile("empty", 0o600, strings.NewReader(""), 0))
	must(w.Mkdir("bin", 0o755)) // again: not an error
	must(w.Close())

	got := readArchive(t, buf.Bytes())
	type want struct {
		name string
		mode uint32
		data string
	}
	wants := []want{
		{"dev", 0o040755, ""},
		{"dev/console", 0o020600, ""},
		{"bin", 0o040755, ""},
		{"bin/busybox", 0o100755, "#!busybox"},
		{"bin/sh", 0o120777, "busybox"},
		{"usr", 0o040755, ""},
		{"usr/lib", 0o040755, ""},
		{"usr/lib/x86_64-linux-gnu", 0o040755, ""},
		{"usr/lib/x86_64-linux-gnu/libc.so.6", 0o100644, "abc"},
		{"empty", 0o100600, ""},
	}
	if len(got) != len(wants) {
		t.Fatalf("read %d members, want %d: %+v", len(got), len(wants), got)
	}
	inos := map[uint32]bool{}
	for i, w := range wants {
		g := got[i]
		if g.name != w.name || g.mode != w.mode || g.data != w.data {
			t.Errorf("member %d = %q mode %o data %q, want %q mode %o data %q",
				i, g.name, g.mode, g.data, w.name, w.mode, w.data)
		}
		if inos[g.ino] {
			t.Errorf("%s: inode %d reused", g.name, g.ino)
		}
		inos[g.ino] = true
	}
	if c := got[1]; c.rmajor != 5 || c.rminor != 1 {
		t.Errorf("dev/console is %d:%d, want 5:1", c.rmajor, c.rminor)
	}
	if d := got[0]; d.nlink != 2 {
		t.Errorf("directory nlink = %d, want 2", d.nlink)
	}
}

// TestWriterMatchesCPIOTool lists the archive with GNU cpio when it is
// installed, as a check against an implementation other than our own.
func TestWriterMatchesCPIOTool(t *testing.T) {
	bin, err := exec.LookPath("cpio")
	if err != nil {
		t.Skip("cpio not installed; TestWriterRoundTrip covers the format")
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for i := range 5 {
		body := strings.Repeat("x", i*3)
		if err := w.AddFile(fmt.Sprintf("d/f%d", i), 0o644, strings.NewReader(body), int64(len(body))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.AddSymlink("d/link", "f1"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-it", "--quiet")
	cmd.Stdin = &buf
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio -it: %v\n%s", err, out)
	}
	want := "d\nd/f0\nd/f1\nd/f2\nd/f3\nd/f4\nd/link\n"
	if string(out) != want {
		t.Errorf("cpio -it listed\n%s\nwant\n%s", out, want)
	}
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter(io.Discard)
	if err := w.AddFile("a", 0o644, strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	if err := w.AddFile("/a", 0o644, strings.NewReader("x"), 1); err == nil {
		t.Error("adding a member twice succeeded")
	}
	if err := w.Mkdir("a", 0o755); err == nil {
		t.Error("Mkdir over a file succeeded")
	}
	if err := w.AddFile("/", 0o644, strings.NewReader(""), 0); err == nil {
		t.Error("adding the root succeeded")
	}

	w = NewWriter(io.Discard)
	err := w.AddFile("short", 0o644, strings.NewReader("abc"), 10)
	if err == nil || !strings.Contains(err.Error(), "3 of 10") {
		t.Errorf("short content: err = %v", err)
	}
	if err2 := w.Close(); err2 == nil {
		t.Error("Close after a failed member succeeded")
	}

	boom := errors.New("disk full")
	w = NewWriter(failingWriter{boom})
	if err := w.AddFile("x", 0o644, strings.NewReader("x"), 1); !errors.Is(err, boom) {
		t.Errorf("write error = %v, want %v", err, boom)
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

package main

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestGetOutputIsReplacedOnlyWhole writes get -O output as a failed and a
// successful get would: an existing file keeps its bytes and mode after a
// failure and gets the new bytes after success, a new file appears only
// after success, a link keeps pointing at the file it names, no temporary
// file is left, and a named pipe (as /dev/null, not a regular file) is
// written in place and never removed.
func TestGetOutputIsReplacedOnlyWhole(t *testing.T) {
	dir := t.TempDir()
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	get := func(path, data string, ok bool) {
		t.Helper()
		o, err := createOut(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(o, data); err != nil {
			t.Fatal(err)
		}
		if err := o.finish(ok); err != nil {
			t.Fatal(err)
		}
	}

	existing := filepath.Join(dir, "existing")
	if err := os.WriteFile(existing, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	get(existing, "half a blo", false)
	if got := read(existing); got != "old" {
		t.Fatalf("after a failed get the file holds %q, want the old bytes", got)
	}
	get(existing, "new", true)
	if got := read(existing); got != "new" {
		t.Fatalf("after a get the file holds %q", got)
	}
	if st, _ := os.Stat(existing); st.Mode().Perm() != 0o600 {
		t.Fatalf("the file's mode went from 0600 to %v", st.Mode().Perm())
	}

	fresh := filepath.Join(dir, "fresh")
	get(fresh, "half", false)
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Fatalf("a failed get left %s (%v)", fresh, err)
	}
	get(fresh, "blob", true)
	if got := read(fresh); got != "blob" {
		t.Fatalf("a new file holds %q", got)
	}

	link := filepath.Join(dir, "link")
	if err := os.Symlink(existing, link); err != nil {
		t.Fatal(err)
	}
	get(link, "through the link", true)
	if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("the link was replaced (%v)", err)
	}
	if got := read(existing); got != "through the link" {
		t.Fatalf("the file the link names holds %q", got)
	}

	pipe := filepath.Join(dir, "pipe")
	if err := unix.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	drained := make(chan string)
	go func() {
		f, err := os.Open(pipe)
		if err != nil {
			drained <- err.Error()
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		drained <- string(b)
	}()
	get(pipe, "to the pipe", false)
	if got := <-drained; got != "to the pipe" {
		t.Fatalf("the pipe's reader got %q", got)
	}
	if st, err := os.Lstat(pipe); err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
		t.Fatalf("a failed get to a named pipe removed or replaced it (%v)", err)
	}

	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("the directory holds %v; a temporary file was left", names)
	}
}

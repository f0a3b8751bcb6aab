package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// outFile is where get -O writes. A regular file, or a path where nothing
// is yet, is written as a temporary file beside it, which replaces it
// only once the whole blob has arrived and is on disk: a get that fails
// leaves an existing file as it was and never leaves half a blob. Anything
// else (a device such as /dev/null, a named pipe) is written in place and
// never truncated or removed: fleetctl often runs as root, and deleting
// /dev/null after a failed read would break the machine.
type outFile struct {
	*os.File
	path string // where the bytes belong
	tmp  string // the temporary file renamed over path; "" when writing in place
}

// createOut opens path for get -O. A symbolic link is followed: the file
// it names is replaced, the link stays.
func createOut(path string) (*outFile, error) {
	if st, err := os.Lstat(path); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		if path, err = filepath.EvalSymlinks(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	mode := fs.FileMode(0o644)
	switch st, err := os.Stat(path); {
	case err == nil && !st.Mode().IsRegular():
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		return &outFile{File: f, path: path}, nil
	case err == nil:
		mode = st.Mode().Perm()
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".fleetctl-get-*")
	if err != nil {
		return nil, fmt.Errorf("cannot write beside %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &outFile{File: f, path: path, tmp: f.Name()}, nil
}

// finish closes the file. If the get succeeded (ok) the temporary file is
// synced and renamed over the destination; if not it is removed and the
// destination is left as it was.
func (o *outFile) finish(ok bool) error {
	if o.tmp == "" {
		return o.Close()
	}
	if !ok {
		o.Close()
		return os.Remove(o.tmp)
	}
	err := o.Sync()
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(o.tmp, o.path)
	}
	if err != nil {
		os.Remove(o.tmp)
		return fmt.Errorf("writing %s: %w", o.path, err)
	}
	// The rename is durable once the directory is.
	if d, err := os.Open(filepath.Dir(o.path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

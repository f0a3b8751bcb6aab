package pki

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Dir is a directory of PEM files laid out the way the development
// cluster and the tests keep them:
//
//	ca.pem, ca-key.pem            the cluster CA
//	<name>.pem, <name>-key.pem    one certificate per holder
//
// Its Ensure methods create what is missing and keep what is there, so a
// cluster started again from the same directory keeps its certificates.
type Dir string

// CAFile is the path of the CA certificate.
func (d Dir) CAFile() string { return filepath.Join(string(d), "ca.pem") }

// Files returns the paths of name's certificate and key, with the CA.
func (d Dir) Files(name string) Files {
	return Files{
		CA:   d.CAFile(),
		Cert: filepath.Join(string(d), name+".pem"),
		Key:  filepath.Join(string(d), name+"-key.pem"),
	}
}

// DefaultCAValidity and DefaultValidity are how long the certificates
// Dir makes are valid: long enough that a development cluster left alone
// for a while still starts.
const (
	DefaultCAValidity = 10 * 365 * 24 * time.Hour
	DefaultValidity   = 2 * 365 * 24 * time.Hour
)

// EnsureCA loads the directory's CA, or creates the directory and a new CA
// if there is none.
func (d Dir) EnsureCA() (*CA, error) {
	keyFile := filepath.Join(string(d), "ca-key.pem")
	ca, err := LoadCA(d.CAFile(), keyFile)
	if err == nil {
		return ca, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	if ca, err = NewCA("Shingle cluster CA", DefaultCAValidity); err != nil {
		return nil, err
	}
	pair, err := ca.Pair()
	if err != nil {
		return nil, err
	}
	return ca, pair.Write(d.CAFile(), keyFile)
}

// Ensure returns the files of req.Name's certificate, issuing it with ca
// (with DefaultValidity if req has none) if the directory does not hold it
// yet.
func (d Dir) Ensure(ca *CA, req Request) (Files, error) {
	f := d.Files(req.Name)
	if _, err := os.Stat(f.Cert); err == nil {
		return f, nil
	}
	if req.Validity == 0 {
		req.Validity = DefaultValidity
	}
	pair, err := ca.Issue(req)
	if err != nil {
		return Files{}, err
	}
	return f, pair.Write(f.Cert, f.Key)
}

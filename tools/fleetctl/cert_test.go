package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shingle-storage/shingle/fleetd/pki"
)

// TestCertMakesWhatTheServersTrust makes a CA and an agent's certificate
// with fleetctl cert, and checks them: the certificate chains to the CA,
// carries its role and hosts, its key is private to its owner, and the
// pair loads into the TLS configuration the servers use. Bad requests
// are refused with what to do: no CA yet, a server certificate without
// hosts, a name that has a certificate already.
func TestCertMakesWhatTheServersTrust(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	fleetctl := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"fleetctl", "cert"}, args...), &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}
	if code, out := fleetctl("issue", "--dir", dir, "--role", "agent", "--host", "10.20.3.7", "host-7"); code != exitFailed || !strings.Contains(out, "fleetctl cert ca --dir") {
		t.Errorf("issue without a CA: exit %d, %q", code, out)
	}
	if code, out := fleetctl("ca", "--dir", dir); code != exitOK || !strings.Contains(out, "made the cluster CA") {
		t.Fatalf("ca: exit %d, %q", code, out)
	}
	if code, out := fleetctl("ca", "--dir", dir); code != exitOK || !strings.Contains(out, "is kept") {
		t.Errorf("ca again: exit %d, %q", code, out)
	}
	if code, out := fleetctl("issue", "--dir", dir, "--role", "agent", "host-7"); code != exitUsage || !strings.Contains(out, "give --host") {
		t.Errorf("an agent without --host: exit %d, %q", code, out)
	}
	if code, out := fleetctl("issue", "--dir", dir, "--role", "admin", "x"); code != exitUsage || !strings.Contains(out, "use fleetd, agent or operator") {
		t.Errorf("an unknown role: exit %d, %q", code, out)
	}
	if code, out := fleetctl("issue", "--dir", dir, "--role", "agent", "--host", "10.20.3.7", "--host", "h7.example.net", "host-7"); code != exitOK {
		t.Fatalf("issue: exit %d, %q", code, out)
	}
	if code, out := fleetctl("issue", "--dir", dir, "--role", "agent", "--host", "10.20.3.7", "host-7"); code != exitFailed || !strings.Contains(out, "--force") {
		t.Errorf("issue again: exit %d, %q", code, out)
	}
	// Names that would overwrite the CA, another holder's key, or a file
	// outside --dir are refused, --force or not.
	for _, name := range []string{"ca", "host-7-key", "../escaped", ".hidden"} {
		if code, out := fleetctl("issue", "--dir", dir, "--role", "operator", "--force", name); code != exitUsage || !strings.Contains(out, "NAME") {
			t.Errorf("issue %q: exit %d, %q", name, code, out)
		}
	}
	if code, out := fleetctl("issue", "--dir", dir, "--role", "operator", "--valid", "200000h", "bob"); code != exitUsage || !strings.Contains(out, "outlive the CA") {
		t.Errorf("a certificate outliving the CA: exit %d, %q", code, out)
	}
	before, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}

	files := pki.Dir(dir).Files("host-7")
	if fi, err := os.Stat(files.Key); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("the key %s: %v, mode %v; want it private to its owner", files.Key, err, fi.Mode())
	}
	pair, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(files.CA)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "h7.example.net", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("the certificate does not verify against the CA for h7.example.net: %v", err)
	}
	if !slices.Equal(cert.Subject.OrganizationalUnit, []string{"agent"}) || cert.Subject.CommonName != "host-7" ||
		len(cert.IPAddresses) != 1 || cert.IPAddresses[0].String() != "10.20.3.7" {
		t.Errorf("subject %v, IPs %v: want OU agent, CN host-7, IP 10.20.3.7", cert.Subject, cert.IPAddresses)
	}
	if _, err := pki.ServerConfig(files); err != nil {
		t.Errorf("the servers' TLS configuration refuses the files: %v", err)
	}
	if after, err := os.ReadFile(filepath.Join(dir, "ca.pem")); err != nil || !bytes.Equal(after, before) {
		t.Fatalf("the CA changed: %v", err)
	}

	// With its key kept elsewhere, the CA is half there: cert ca refuses
	// to make a new one over it.
	if err := os.Rename(filepath.Join(dir, "ca-key.pem"), filepath.Join(t.TempDir(), "ca-key.pem")); err != nil {
		t.Fatal(err)
	}
	if code, out := fleetctl("ca", "--dir", dir); code != exitFailed || !strings.Contains(out, "half a CA") {
		t.Errorf("ca without its key: exit %d, %q", code, out)
	}
	if after, err := os.ReadFile(filepath.Join(dir, "ca.pem")); err != nil || !bytes.Equal(after, before) {
		t.Errorf("cert ca without the key replaced the CA certificate: %v", err)
	}
}

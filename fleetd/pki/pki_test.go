package pki

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// handshake runs a TLS handshake between a server and a client over a
// pipe and returns the server's and the client's errors, and the role of
// the certificate the server saw.
func handshake(t *testing.T, server, client *tls.Config) (srvErr, cliErr error, role Role) {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	done := make(chan error, 1)
	go func() {
		s := tls.Server(a, server)
		err := s.Handshake()
		if err == nil {
			if peers := s.ConnectionState().PeerCertificates; len(peers) > 0 {
				role = RoleOf(peers[0])
			}
			// Let the client finish reading the server's last flight.
			_, _ = io.ReadAll(s)
		}
		a.Close()
		done <- err
	}()
	c := tls.Client(b, client)
	cliErr = c.Handshake()
	if cliErr == nil {
		// In TLS 1.3 the client learns of a rejected certificate on its
		// first read.
		// A server that accepted sends nothing more: the read times out.
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		var ne net.Error
		if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, io.EOF) && !(errors.As(err, &ne) && ne.Timeout()) {
			cliErr = err
		}
	}
	c.Close()
	b.Close()
	srvErr = <-done
	return srvErr, cliErr, role
}

func TestMutualTLSAcceptsOnlyTheClusterCA(t *testing.T) {
	dir := Dir(t.TempDir())
	ca, err := dir.EnsureCA()
	if err != nil {
		t.Fatal(err)
	}
	node, err := dir.Ensure(ca, Request{Name: "fleet-1", Role: RoleNode})
	if err != nil {
		t.Fatal(err)
	}
	op, err := dir.Ensure(ca, Request{Name: "alice", Role: RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ServerConfig(node)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := ClientConfig(op)
	if err != nil {
		t.Fatal(err)
	}
	cli.ServerName = "127.0.0.1"
	if se, ce, role := handshake(t, srv, cli); se != nil || ce != nil || role != RoleOperator {
		t.Fatalf("valid operator: server %v, client %v, role %q", se, ce, role)
	}

	// A certificate from another CA is refused, however well formed.
	other := Dir(t.TempDir())
	otherCA, err := other.EnsureCA()
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := other.Ensure(otherCA, Request{Name: "mallory", Role: RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	rogue.CA = node.CA // trusts our server, but is signed by the other CA
	rcli, err := ClientConfig(rogue)
	if err != nil {
		t.Fatal(err)
	}
	rcli.ServerName = "127.0.0.1"
	if se, _, _ := handshake(t, srv, rcli); se == nil || !strings.Contains(se.Error(), "certificate") {
		t.Fatalf("foreign client certificate: server error %v, want a certificate error", se)
	}

	// A client without a certificate is refused.
	bare := cli.Clone()
	bare.Certificates = nil
	if se, _, _ := handshake(t, srv, bare); se == nil {
		t.Fatalf("client without a certificate was accepted")
	}
}

func TestDirKeepsWhatItMade(t *testing.T) {
	dir := Dir(t.TempDir())
	ca, err := dir.EnsureCA()
	if err != nil {
		t.Fatal(err)
	}
	f, err := dir.Ensure(ca, Request{Name: "fleet-1", Role: RoleNode})
	if err != nil {
		t.Fatal(err)
	}
	first, err := ReadPair(f.Cert, f.Key)
	if err != nil {
		t.Fatal(err)
	}
	again, err := dir.EnsureCA()
	if err != nil || !again.Cert.Equal(ca.Cert) {
		t.Fatalf("second EnsureCA made a new CA (%v)", err)
	}
	if _, err := dir.Ensure(again, Request{Name: "fleet-1", Role: RoleNode}); err != nil {
		t.Fatal(err)
	}
	second, err := ReadPair(f.Cert, f.Key)
	if err != nil || string(second.CertPEM) != string(first.CertPEM) {
		t.Fatalf("second Ensure replaced the certificate (%v)", err)
	}
	cert, _, err := second.parse()
	if err != nil {
		t.Fatal(err)
	}
	if RoleOf(cert) != RoleNode || cert.Subject.CommonName != "fleet-1" || len(cert.IPAddresses) != 2 {
		t.Fatalf("certificate: role %q, name %q, IPs %v", RoleOf(cert), cert.Subject.CommonName, cert.IPAddresses)
	}
	if err := cert.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatalf("not signed by the CA: %v", err)
	}
}

func TestIssueRefusesBadRequests(t *testing.T) {
	ca, err := NewCA("test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []Request{
		{Role: RoleNode, Validity: time.Hour},
		{Name: "x", Role: "admin", Validity: time.Hour},
		{Name: "x", Role: RoleNode},
	} {
		if _, err := ca.Issue(req); err == nil {
			t.Fatalf("Issue(%+v) succeeded", req)
		}
	}
	if _, err := ServerConfig(Files{CA: "/nonexistent/ca.pem"}); err == nil || !strings.Contains(err.Error(), "no certificate file given") {
		t.Fatalf("missing files: %v", err)
	}
}

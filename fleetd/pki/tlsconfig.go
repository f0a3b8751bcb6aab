package pki

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
)

// Files names the three files a component needs for mutual TLS.
type Files struct {
	// CA is the cluster CA's certificate: the only root trusted.
	CA string
	// Cert and Key are the component's own certificate and key.
	Cert string
	Key  string
}

// check says which file is missing, before TLS would say something vaguer.
func (f Files) check() error {
	var problems []string
	for _, x := range []struct{ what, path string }{{"CA certificate", f.CA}, {"certificate", f.Cert}, {"key", f.Key}} {
		if x.path == "" {
			problems = append(problems, fmt.Sprintf("no %s file given", x.what))
			continue
		}
		if _, err := os.Stat(x.path); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", x.what, err))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("pki: %s", strings.Join(problems, "; "))
	}
	return nil
}

// load reads the key pair and the CA pool.
func (f Files) load() (tls.Certificate, *x509.CertPool, error) {
	if err := f.check(); err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("pki: load %s and %s: %w", f.Cert, f.Key, err)
	}
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("pki: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return tls.Certificate{}, nil, fmt.Errorf("pki: %s holds no PEM certificate", f.CA)
	}
	return cert, pool, nil
}

// ServerConfig is the TLS configuration of a server: it presents its
// certificate and requires every client to present one signed by the CA.
// It speaks TLS 1.3 only, and offers HTTP/2 (which gRPC needs) and
// HTTP/1.1.
func ServerConfig(f Files) (*tls.Config, error) {
	cert, pool, err := f.load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		NextProtos:   []string{"h2", "http/1.1"},
	}, nil
}

// ClientConfig is the TLS configuration of a client: it trusts only the CA
// and presents its own certificate.
func ClientConfig(f Files) (*tls.Config, error) {
	cert, pool, err := f.load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
	}, nil
}

package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// Request describes a certificate to issue.
type Request struct {
	// Name is the holder's name, the subject's common name: a fleetd
	// server id, a host id, an operator's name.
	Name string
	// Role is what the holder is; servers authorise calls by it.
	Role Role
	// Hosts are the DNS names and IP addresses the holder serves on, for
	// certificates that servers present (fleetd, agents). Empty means
	// LoopbackHosts.
	Hosts []string
	// Validity is how long the certificate is valid from now.
	Validity time.Duration
}

// LoopbackHosts are the names a server on this machine is reached by:
// what development clusters and tests put in every certificate.
func LoopbackHosts() []string { return []string{"127.0.0.1", "::1", "localhost"} }

// Pair is a certificate and its private key, in PEM.
type Pair struct {
	// CertPEM is the certificate, one CERTIFICATE block.
	CertPEM []byte
	// KeyPEM is the private key, one PKCS#8 PRIVATE KEY block.
	KeyPEM []byte
}

// Issue makes a key and a certificate for req signed by the CA. Every
// certificate may be used both to serve and to call, since fleetd servers
// and agents do both.
func (ca *CA) Issue(req Request) (Pair, error) {
	if req.Name == "" {
		return Pair{}, errors.New("pki: a certificate needs a name")
	}
	switch req.Role {
	case RoleNode, RoleOperator, RoleAgent:
	default:
		return Pair{}, fmt.Errorf("pki: role %q is unknown; use %q, %q or %q", req.Role, RoleNode, RoleOperator, RoleAgent)
	}
	if req.Validity <= 0 {
		return Pair{}, errors.New("pki: a certificate needs a positive validity")
	}
	hosts := req.Hosts
	if len(hosts) == 0 {
		hosts = LoopbackHosts()
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Pair{}, fmt.Errorf("pki: generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return Pair{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         req.Name,
			Organization:       []string{"Shingle"},
			OrganizationalUnit: []string{string(req.Role)},
		},
		NotBefore:   now.Add(-5 * time.Minute),
		NotAfter:    now.Add(req.Validity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	if ca.key == nil {
		return Pair{}, errors.New("pki: this CA has no private key; load it with LoadCA to issue certificates")
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return Pair{}, fmt.Errorf("pki: sign certificate for %s: %w", req.Name, err)
	}
	return encodePair(der, key)
}

// encodePair renders a DER certificate and its key as PEM.
func encodePair(der []byte, key *ecdsa.PrivateKey) (Pair, error) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Pair{}, fmt.Errorf("pki: encode key: %w", err)
	}
	return Pair{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// Write writes the certificate (mode 0644) and the key (mode 0600).
func (p Pair) Write(certFile, keyFile string) error {
	if err := writeFile(certFile, p.CertPEM, 0o644); err != nil {
		return err
	}
	return writeFile(keyFile, p.KeyPEM, 0o600)
}

// ReadPair reads a certificate and key written by Write (or any PEM
// certificate with a PKCS#8, EC or PKCS#1 key).
func ReadPair(certFile, keyFile string) (Pair, error) {
	c, err := os.ReadFile(certFile)
	if err != nil {
		return Pair{}, fmt.Errorf("pki: read certificate: %w", err)
	}
	k, err := os.ReadFile(keyFile)
	if err != nil {
		return Pair{}, fmt.Errorf("pki: read key: %w", err)
	}
	return Pair{CertPEM: c, KeyPEM: k}, nil
}

// parse decodes the pair's certificate and its ECDSA key.
func (p Pair) parse() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, _ := pem.Decode(p.CertPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("certificate: %w", errNoPEM)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	kb, _ := pem.Decode(p.KeyPEM)
	if kb == nil {
		return nil, nil, fmt.Errorf("key: %w", errNoPEM)
	}
	var key any
	switch kb.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(kb.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(kb.Bytes)
	default:
		return nil, nil, fmt.Errorf("key: PEM block %q is not a private key", kb.Type)
	}
	if err != nil {
		return nil, nil, err
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("key is %T, want an ECDSA key", key)
	}
	return cert, ec, nil
}

package pki

import "crypto/x509"

// Role says what a certificate's holder is. It travels in the subject's
// organizational unit so that any CA can issue certificates Shingle
// understands.
type Role string

const (
	// RoleNode is a fleetd server: it may call everything, including the
	// internal forwarding of writes to the leader.
	RoleNode Role = "fleetd"
	// RoleOperator is a person or a script using fleetctl: the cluster,
	// fleet and token calls.
	RoleOperator Role = "operator"
	// RoleAgent is a storage host's agent: registration and heartbeats.
	RoleAgent Role = "agent"
)

// RoleOf returns the role a certificate was issued for, or "" if it names
// none of the known roles.
func RoleOf(cert *x509.Certificate) Role {
	for _, ou := range cert.Subject.OrganizationalUnit {
		switch r := Role(ou); r {
		case RoleNode, RoleOperator, RoleAgent:
			return r
		}
	}
	return ""
}

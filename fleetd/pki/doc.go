// Package pki makes and loads the certificates Shingle's components use
// to authenticate each other with mutual TLS: a cluster certificate
// authority, and certificates it issues to fleetd servers, operators and
// agents.
//
// Every certificate carries a Role (in the subject's organizational unit),
// and the servers authorise each call by the caller's role: only fleetd
// servers may forward writes to the leader, only agents and fleetd servers
// may heartbeat, and so on. A certificate's common name names its holder
// (a server id, an operator, a host), for logs.
//
// Keys are ECDSA P-256. The package makes a complete set for a development
// cluster or a test on one machine (certificates valid for 127.0.0.1, ::1
// and localhost); production deployments may use any CA that issues
// certificates of the same shape.
//
// Files are PEM: a certificate file holds one CERTIFICATE block, a key file
// one PKCS#8 PRIVATE KEY block (mode 0600).
package pki

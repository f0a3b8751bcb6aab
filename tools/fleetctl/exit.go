package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
)

// Exit codes. Scripts may rely on them; they are listed in --help and the
// README, and never change meaning.
const (
	// exitOK: the command did what it was asked.
	exitOK = 0
	// exitFailed: the fleet refused or failed the request (the message
	// says why), or fleetctl could not do its part (e.g. write a file).
	exitFailed = 1
	// exitUsage: the command line is wrong.
	exitUsage = 2
	// exitUnreachable: no fleetd server answered at any address given.
	exitUnreachable = 3
	// exitNoLeader: a server answered but the cluster has no leader it can
	// reach (an election is under way, or a quorum is down).
	exitNoLeader = 4
	// exitNotFound: the rack, host, drive, volume or member asked for does
	// not exist.
	exitNotFound = 5
	// exitAuth: TLS failed or the certificate was refused (wrong CA,
	// expired certificate, a role not allowed to make the call).
	exitAuth = 6
)

// exitCodesHelp is the exit-code table shown in --help.
const exitCodesHelp = `EXIT CODES:
   0  success
   1  the fleet refused or failed the request (the message says why)
   2  usage error: unknown command or flag, missing argument
   3  unreachable: no fleetd server answered at any --addr
   4  no leader: a server answered, but the cluster has no leader it can reach
   5  not found: the named rack, host, drive, volume or member does not exist
   6  TLS or permission: certificate not trusted or refused, or role not allowed`

// exitError is an error with the exit code it maps to.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// usageErrorf is an error in the command line.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

// classify turns any error into an exit code and a one-line message.
func classify(err error) (int, string) {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code, ee.msg
	}
	if requiredFlagError(err) {
		return exitUsage, err.Error() + "; see --help"
	}
	var unreachable *unreachableError
	if errors.As(err, &unreachable) {
		return exitUnreachable, unreachable.Error()
	}
	var unknown *outcomeUnknownError
	if errors.As(err, &unknown) {
		return exitFailed, unknown.Error()
	}
	if isTLSFailure(err) {
		return exitAuth, fmt.Sprintf("TLS failed: %s; check --ca, --cert and --key (SHINGLE_CA, SHINGLE_CERT, SHINGLE_KEY)", oneLine(err.Error()))
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return exitFailed, oneLine(err.Error())
	}
	msg := oneLine(ce.Message())
	switch {
	case ce.Meta().Get(fleetv1.MetaNoLeader) != "":
		return exitNoLeader, "no leader: " + msg
	case ce.Code() == connect.CodeNotFound:
		return exitNotFound, msg
	case ce.Code() == connect.CodePermissionDenied && ce.Meta().Get(fleetv1.MetaStateCode) == "":
		return exitAuth, "permission denied: " + msg
	case ce.Code() == connect.CodeDeadlineExceeded:
		return exitFailed, "timed out: " + msg + " (raise --timeout, or check the cluster's health with fleetctl cluster status)"
	case ce.Meta().Get(fleetv1.MetaOutcomeUnknown) != "":
		return exitFailed, msg
	}
	return exitFailed, msg
}

// isTLSFailure reports whether err comes from the TLS handshake: either
// side refused the other's certificate.
func isTLSFailure(err error) bool {
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var alert tls.AlertError
	var recordHeader tls.RecordHeaderError
	return errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &alert) || errors.As(err, &recordHeader) ||
		strings.Contains(err.Error(), "remote error: tls:")
}

// neverSent reports whether a transport failure happened before the
// request left: the connection could not be made.
func neverSent(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) && op.Op == "dial" || errors.As(err, &dns)
}

// outcomeUnknownError says a write's connection broke after it was sent.
type outcomeUnknownError struct {
	addr string
	err  error
}

func (e *outcomeUnknownError) Error() string {
	return fmt.Sprintf("the connection to %s broke after the request was sent (%s), so it may or may not have been applied; "+
		"check the cluster's state before retrying", e.addr, oneLine(rootCause(e.err)))
}

// unreachableError says no address answered.
type unreachableError struct {
	addrs []string
	last  error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot reach the fleet at %s (%s); check --addr or SHINGLE_FLEET_ADDR, and that fleetd is running",
		strings.Join(e.addrs, ", "), oneLine(rootCause(e.last)))
}

// isUnreachable reports whether err means the server could not be reached
// at all (so another address may be tried).
func isUnreachable(err error) bool {
	if isTLSFailure(err) {
		return false
	}
	if neverSent(err) {
		return true
	}
	var ce *connect.Error
	if errors.As(err, &ce) && (ce.Code() == connect.CodeUnavailable || ce.Code() == connect.CodeCanceled) &&
		ce.Meta().Get(fleetv1.MetaNoLeader) == "" {
		// A connection that broke (reset: canceled) or timed out before
		// any answer.
		return len(ce.Meta()) == 0
	}
	return errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &ce)
}

// rootCause returns the innermost error's message, which for network
// failures is the useful part ("connection refused"). Of several wrapped
// errors it follows the last: the last address or attempt tried, or the
// cause the client names after its own reason.
func rootCause(err error) string {
	if err == nil {
		return "no address given"
	}
	for {
		var next error
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			next = u.Unwrap()
		case interface{ Unwrap() []error }:
			if errs := u.Unwrap(); len(errs) > 0 {
				next = errs[len(errs)-1]
			}
		}
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

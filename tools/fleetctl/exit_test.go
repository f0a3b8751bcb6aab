package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/client"
	"github.com/shingle-storage/shingle/fleetd/pki"
)

func TestClassifyMapsErrorsToExitCodes(t *testing.T) {
	noLeader := connect.NewError(connect.CodeUnavailable, errors.New("n2 knows no leader"))
	noLeader.Meta().Set(fleetv1.MetaNoLeader, "1")
	expired := connect.NewError(connect.CodePermissionDenied, errors.New("token expired"))
	expired.Meta().Set(fleetv1.MetaStateCode, "expired")
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, tc := range []struct {
		name string
		err  error
		code int
		msg  string
	}{
		{"usage", usageErrorf("bad flag"), exitUsage, "bad flag"},
		{"required flag", errors.New(`Required flag "id" not set`), exitUsage, "see --help"},
		{"unreachable", &unreachableError{addrs: []string{"a:1", "b:2"}, last: fmt.Errorf("post: %w", dial)}, exitUnreachable, "cannot reach the fleet at a:1, b:2 (connection refused)"},
		{"no leader", noLeader, exitNoLeader, "no leader: n2 knows no leader"},
		{"not found", connect.NewError(connect.CodeNotFound, errors.New("rack \"x\" does not exist")), exitNotFound, `rack "x" does not exist`},
		{"role refused", connect.NewError(connect.CodePermissionDenied, errors.New("role agent")), exitAuth, "permission denied: role agent"},
		{"expired token is a refusal, not auth", expired, exitFailed, "token expired"},
		{"conflict", connect.NewError(connect.CodeFailedPrecondition, errors.New("cannot move\nfrom retired")), exitFailed, "cannot move from retired"},
		{"plain", errors.New("open x: no such file"), exitFailed, "open x: no such file"},
		{"blob command, fleet unreachable", blobError(fmt.Errorf("client: no volume to write to: %w",
			fmt.Errorf("%w: %w", client.ErrFleetUnreachable, errors.Join(fmt.Errorf("a:1: %w", connect.NewError(connect.CodeUnavailable, dial)))))),
			exitUnreachable, "cannot reach the fleet (connection refused)"},
		{"blob command, no leader", blobError(fmt.Errorf("%w: %w", client.ErrNoLeader, errors.Join(noLeader))), exitNoLeader, "no leader"},
		{"blob command, not found", blobError(fmt.Errorf("%w: key 00 of volume 1", client.ErrNotFound)), exitNotFound, "not found"},
	} {
		code, msg := classify(tc.err)
		if code != tc.code || !strings.Contains(msg, tc.msg) || strings.Contains(msg, "\n") {
			t.Errorf("%s: classify = %d %q, want %d and a line containing %q", tc.name, code, msg, tc.code, tc.msg)
		}
	}
}

func TestUnreachableFleetIsOneLineAndExitCode3(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	d := pki.Dir(t.TempDir())
	ca, err := d.EnsureCA()
	if err != nil {
		t.Fatal(err)
	}
	files, err := d.Ensure(ca, pki.Request{Name: "operator", Role: pki.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"fleetctl", "--addr", dead, "--ca", files.CA, "--cert", files.Cert, "--key", files.Key, "rack", "list"}, &stdout, &stderr)
	if code != exitUnreachable || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "cannot reach the fleet at "+dead) {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Fatalf("stdout %q, want nothing", stdout.String())
	}
}

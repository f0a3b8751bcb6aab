package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
	"github.com/shingle-storage/shingle/fleetd/pki"
)

// TestMutualTLSRefusesClientsWithoutAValidCertificate checks that the API
// admits only clients with a certificate from the cluster CA, and only to
// the services their role allows.
func TestMutualTLSRefusesClientsWithoutAValidCertificate(t *testing.T) {
	f := newFleet(t)
	n1 := f.add("n1", "--bootstrap")
	f.waitMembers(1)

	// A client that trusts the server but presents no certificate.
	caOnly := f.operator
	conf, err := pki.ClientConfig(caOnly)
	if err != nil {
		t.Fatal(err)
	}
	conf.Certificates = nil
	bare := &http.Client{Transport: &http.Transport{TLSClientConfig: conf, ForceAttemptHTTP2: true}, Timeout: 5 * time.Second}
	if res, err := bare.Get("https://" + n1.api + "/metrics"); err == nil {
		res.Body.Close()
		t.Fatalf("a client without a certificate got %s", res.Status)
	}
	c := fleetv1connect.NewClusterServiceClient(bare, "https://"+n1.api)
	if _, err := c.GetStatus(ctx(t, 5*time.Second), connect.NewRequest(&fleetv1.GetStatusRequest{})); err == nil {
		t.Fatalf("a client without a certificate was served")
	}

	// fleetctl with a certificate from another CA: refused, exit code 6,
	// one line.
	rogueDir := pki.Dir(filepath.Join(t.TempDir(), "rogue"))
	rogueCA, err := rogueDir.EnsureCA()
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := rogueDir.Ensure(rogueCA, pki.Request{Name: "mallory", Role: pki.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"SHINGLE_FLEET_ADDR=" + n1.api, "SHINGLE_CA=" + f.operator.CA, "SHINGLE_CERT=" + rogue.Cert, "SHINGLE_KEY=" + rogue.Key}
	_, errOut, code := runFleetctl(t, env, "cluster", "status")
	if code != 6 || !strings.Contains(errOut, "TLS failed") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("foreign certificate: exit %d, stderr %q; want 6 and one line about TLS", code, errOut)
	}
	// And a client that does not trust the server's CA refuses it.
	env = []string{"SHINGLE_FLEET_ADDR=" + n1.api, "SHINGLE_CA=" + rogue.CA, "SHINGLE_CERT=" + f.operator.Cert, "SHINGLE_KEY=" + f.operator.Key}
	if _, errOut, code := runFleetctl(t, env, "rack", "list"); code != 6 || !strings.Contains(errOut, "TLS failed") {
		t.Fatalf("untrusted server: exit %d, stderr %q", code, errOut)
	}

	// A valid certificate with the wrong role: an agent may not use the
	// operator's services, an operator may not forward writes.
	agent := f.cert("host-1", pki.RoleAgent)
	env = []string{"SHINGLE_FLEET_ADDR=" + n1.api, "SHINGLE_CA=" + agent.CA, "SHINGLE_CERT=" + agent.Cert, "SHINGLE_KEY=" + agent.Key}
	if _, errOut, code := runFleetctl(t, env, "rack", "list"); code != 6 || !strings.Contains(errOut, `role "agent"`) {
		t.Fatalf("agent certificate on the fleet service: exit %d, stderr %q", code, errOut)
	}
	fwd := fleetv1connect.NewForwardServiceClient(f.client, "https://"+n1.api)
	_, err = fwd.Apply(ctx(t, 5*time.Second), connect.NewRequest(&fleetv1.ApplyRequest{Command: []byte(`{}`)}))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("operator calling the internal forward service: %v, want PermissionDenied", err)
	}

	// The operator's own certificate works, over gRPC too.
	grpc := fleetv1connect.NewClusterServiceClient(f.client, "https://"+n1.api, connect.WithGRPC())
	st, err := grpc.GetStatus(ctx(t, 5*time.Second), connect.NewRequest(&fleetv1.GetStatusRequest{}))
	if err != nil || st.Msg.GetNodeId() != "n1" {
		t.Fatalf("operator over gRPC: %v %v", st, err)
	}
}

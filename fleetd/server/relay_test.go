package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
)

// TestRelayReportsWhatTheCallerMayAssume relays calls to a "leader" that
// reads each call and then drops the connection without answering, as a
// leader killed (or cut off) right after committing a write does, and to
// an address where nothing listens. A write whose connection broke after
// it was sent must come back as outcome unknown (aborted,
// Shingle-Outcome-Unknown), never as "no leader", which tells a client
// the write was not applied; a read that broke, and any call whose
// connection could not be made, come back as "no leader".
func TestRelayReportsWhatTheCallerMayAssume(t *testing.T) {
	var leader *httptest.Server
	leader = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The request arrived; the connection goes down before any
		// answer leaves, as when the process dies.
		io.Copy(io.Discard, r.Body)
		leader.CloseClientConnections()
		<-r.Context().Done()
	}))
	leader.EnableHTTP2 = true
	leader.StartTLS()
	defer leader.Close()
	broken := &peer{
		addr:  leader.Listener.Addr().String(),
		agent: fleetv1connect.NewAgentServiceClient(leader.Client(), leader.URL, connect.WithGRPC()),
		fleet: fleetv1connect.NewFleetServiceClient(leader.Client(), leader.URL, connect.WithGRPC()),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + ln.Addr().String()
	ln.Close()
	absent := &peer{
		addr:  ln.Addr().String(),
		agent: fleetv1connect.NewAgentServiceClient(leader.Client(), closed, connect.WithGRPC()),
		fleet: fleetv1connect.NewFleetServiceClient(leader.Client(), closed, connect.WithGRPC()),
	}
	s := &Server{cfg: Config{ID: "f2"}, metrics: &metrics{relayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "relayed"})}}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	register := func(p *peer) error {
		req := connect.NewRequest(&fleetv1.RegisterRequest{HostId: "h1", JoinToken: "t.s", Rack: "r1", Address: "10.0.0.1:7400"})
		_, err := relay(ctx, s, p, req, p.agent.Register)
		return err
	}
	// A read arrives through a real handler, so that its request carries
	// the procedure's idempotency level as fleetd's own calls do.
	api := httptest.NewUnstartedServer(nil)
	_, h := fleetv1connect.NewFleetServiceHandler(&relayingFleet{s: s, to: broken})
	api.Config.Handler = h
	api.EnableHTTP2 = true
	api.StartTLS()
	defer api.Close()
	read := func() error {
		c := fleetv1connect.NewFleetServiceClient(api.Client(), api.URL)
		_, err := c.GetRack(ctx, connect.NewRequest(&fleetv1.GetRackRequest{Id: "r1"}))
		return err
	}

	for _, tc := range []struct {
		name                     string
		err                      error
		code                     connect.Code
		noLeader, outcomeUnknown bool
	}{
		{"a write whose connection broke after it was sent", register(broken), connect.CodeAborted, false, true},
		{"a write that could not be sent", register(absent), connect.CodeUnavailable, true, false},
		{"a read whose connection broke", read(), connect.CodeUnavailable, true, false},
	} {
		var ce *connect.Error
		if !errors.As(tc.err, &ce) {
			t.Fatalf("%s: %v, not a Connect error", tc.name, tc.err)
		}
		gotNoLeader := ce.Meta().Get(fleetv1.MetaNoLeader) != ""
		gotUnknown := ce.Meta().Get(fleetv1.MetaOutcomeUnknown) != ""
		if ce.Code() != tc.code || gotNoLeader != tc.noLeader || gotUnknown != tc.outcomeUnknown {
			t.Errorf("%s: %v (no leader %v, outcome unknown %v); want %v (no leader %v, outcome unknown %v)",
				tc.name, tc.err, gotNoLeader, gotUnknown, tc.code, tc.noLeader, tc.outcomeUnknown)
		}
	}
}

// relayingFleet is a FleetService whose GetRack relays to a fixed peer.
type relayingFleet struct {
	fleetv1connect.UnimplementedFleetServiceHandler
	s  *Server
	to *peer
}

func (r *relayingFleet) GetRack(ctx context.Context, req *connect.Request[fleetv1.GetRackRequest]) (*connect.Response[fleetv1.GetRackResponse], error) {
	return relay(ctx, r.s, r.to, req, r.to.fleet.GetRack)
}

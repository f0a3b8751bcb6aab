package server

import (
	"crypto/tls"
	"net/http"
	"sync"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
)

// peer is a set of API clients for one other fleetd server.
type peer struct {
	addr    string
	cluster fleetv1connect.ClusterServiceClient
	fleet   fleetv1connect.FleetServiceClient
	agent   fleetv1connect.AgentServiceClient
	forward fleetv1connect.ForwardServiceClient
	volume  fleetv1connect.VolumeServiceClient
}

// peers makes and keeps the clients this server uses to reach the others,
// by API address. They share one HTTP/2 transport, which authenticates
// with this server's own certificate.
type peers struct {
	client *http.Client
	trace  connect.Interceptor
	mu     sync.Mutex
	byAddr map[string]*peer
}

// newPeers returns an empty set of peers whose connections use tlsConf and
// whose calls carry the trace context through trace.
func newPeers(tlsConf *tls.Config, trace connect.Interceptor) *peers {
	return &peers{
		client: &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf, ForceAttemptHTTP2: true}},
		trace:  trace,
		byAddr: map[string]*peer{},
	}
}

// get returns the clients for the server at addr (host:port).
func (ps *peers) get(addr string) *peer {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p, ok := ps.byAddr[addr]; ok {
		return p
	}
	base := "https://" + addr
	opts := []connect.ClientOption{connect.WithGRPC(), connect.WithInterceptors(ps.trace)}
	p := &peer{
		addr:    addr,
		cluster: fleetv1connect.NewClusterServiceClient(ps.client, base, opts...),
		fleet:   fleetv1connect.NewFleetServiceClient(ps.client, base, opts...),
		agent:   fleetv1connect.NewAgentServiceClient(ps.client, base, opts...),
		forward: fleetv1connect.NewForwardServiceClient(ps.client, base, opts...),
		volume:  fleetv1connect.NewVolumeServiceClient(ps.client, base, opts...),
	}
	ps.byAddr[addr] = p
	return p
}

// close drops idle connections.
func (ps *peers) close() {
	ps.client.CloseIdleConnections()
}

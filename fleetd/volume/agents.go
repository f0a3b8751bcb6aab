package volume

import (
	"crypto/tls"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/datapath"
	"github.com/shingle-storage/shingle/api/agent/v1/agentv1connect"
)

// Agents reaches the agents of the fleet: their extent control API
// (Connect) and their data path (plain HTTP), both over the cluster's
// mutual TLS. It keeps one client per agent address.
type Agents struct {
	// Data calls agents' data paths.
	Data *datapath.Client

	http *http.Client
	mu   sync.Mutex
	ctl  map[string]agentv1connect.ExtentServiceClient
	opts []connect.ClientOption
}

// NewAgents returns clients that present tlsConf's certificate to agents
// and trust only the cluster CA.
func NewAgents(tlsConf *tls.Config, opts ...connect.ClientOption) *Agents {
	hc := &http.Client{Transport: &http.Transport{
		TLSClientConfig:     tlsConf,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}}
	dc := &http.Client{Transport: datapath.NewTransport(tlsConf, 16)}
	return &Agents{Data: &datapath.Client{HTTP: dc}, http: hc, ctl: map[string]agentv1connect.ExtentServiceClient{}, opts: opts}
}

// Control returns the extent control client of the agent at addr.
func (a *Agents) Control(addr string) agentv1connect.ExtentServiceClient {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.ctl[addr]
	if !ok {
		c = agentv1connect.NewExtentServiceClient(a.http, "https://"+addr, a.opts...)
		a.ctl[addr] = c
	}
	return c
}

// Close drops idle connections.
func (a *Agents) Close() {
	a.http.CloseIdleConnections()
	a.Data.HTTP.CloseIdleConnections()
}

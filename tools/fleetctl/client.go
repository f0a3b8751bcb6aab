package main

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
	"github.com/shingle-storage/shingle/fleetd/pki"
	"github.com/urfave/cli/v2"
)

// clients are the API clients for one fleetd server.
type clients struct {
	addr    string
	cluster fleetv1connect.ClusterServiceClient
	fleet   fleetv1connect.FleetServiceClient
	token   fleetv1connect.TokenServiceClient
	volume  fleetv1connect.VolumeServiceClient
}

// fleet is what every command talks to: the fleetd servers at the
// addresses given, tried in order until one answers.
type fleet struct {
	addrs   []string
	timeout time.Duration
	tls     *tls.Config
	servers []*clients
}

// dial prepares clients for every address in --addr. Nothing is
// connected until the first call.
func dial(c *cli.Context) (*fleet, error) {
	var addrs []string
	for _, a := range strings.Split(c.String("addr"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return nil, usageErrorf("no fleetd address: pass --addr host:port[,host:port...] or set SHINGLE_FLEET_ADDR")
	}
	files := pki.Files{CA: c.String("ca"), Cert: c.String("cert"), Key: c.String("key")}
	tlsConf, err := pki.ClientConfig(files)
	if err != nil {
		return nil, usageErrorf("%v; pass --ca, --cert and --key or set SHINGLE_CA, SHINGLE_CERT and SHINGLE_KEY", err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf, ForceAttemptHTTP2: true}}
	f := &fleet{addrs: addrs, timeout: c.Duration("timeout"), tls: tlsConf}
	for _, a := range addrs {
		base := "https://" + a
		f.servers = append(f.servers, &clients{
			addr:    a,
			cluster: fleetv1connect.NewClusterServiceClient(hc, base),
			fleet:   fleetv1connect.NewFleetServiceClient(hc, base),
			token:   fleetv1connect.NewTokenServiceClient(hc, base),
			volume:  fleetv1connect.NewVolumeServiceClient(hc, base),
		})
	}
	return f, nil
}

// rpc is one API method of a generated client.
type rpc[Req, Res any] func(context.Context, *connect.Request[Req]) (*connect.Response[Res], error)

// call sends the read req with the method method picks, to each server in
// turn until one is reached, and returns the first answer (which may be an
// error from the fleet). Only when no server could be reached at all does
// it return an *unreachableError.
func call[Req, Res any](ctx context.Context, f *fleet, req *Req,
	method func(*clients) rpc[Req, Res]) (*Res, string, error) {
	return send(ctx, f, req, method, true)
}

// callWrite sends the write req like call, but moves on to the next server
// only when the last could not be connected to: a write whose connection
// broke after it was sent may have been applied, and sending it again
// could apply it twice. That case returns an *outcomeUnknownError.
func callWrite[Req, Res any](ctx context.Context, f *fleet, req *Req,
	method func(*clients) rpc[Req, Res]) (*Res, string, error) {
	return send(ctx, f, req, method, false)
}

func send[Req, Res any](ctx context.Context, f *fleet, req *Req,
	method func(*clients) rpc[Req, Res], idempotent bool) (*Res, string, error) {
	var last error
	for _, s := range f.servers {
		cctx, cancel := context.WithTimeout(ctx, f.timeout)
		res, err := method(s)(cctx, connect.NewRequest(req))
		cancel()
		if err == nil {
			return res.Msg, s.addr, nil
		}
		if answered(err) || ctx.Err() != nil {
			return nil, s.addr, err
		}
		// The call failed in transport: find out whether TLS refused it.
		if tlsErr := f.diagnose(ctx, s.addr, err); tlsErr != nil {
			return nil, s.addr, tlsErr
		}
		if !isUnreachable(err) {
			return nil, s.addr, err
		}
		if !idempotent && !neverSent(err) {
			return nil, s.addr, &outcomeUnknownError{addr: s.addr, err: err}
		}
		last = err
	}
	return nil, "", &unreachableError{addrs: f.addrs, last: last}
}

// diagnose looks closer at a server that seemed unreachable although a
// connection was made: with TLS 1.3 a server that refuses the client's
// certificate says so only after the handshake, and the HTTP/2 client
// reports just that the connection failed. A bare handshake and one read
// bring the refusal to light. It returns the TLS failure, or nil.
func (f *fleet) diagnose(ctx context.Context, addr string, callErr error) error {
	var op *net.OpError
	if errors.As(callErr, &op) && op.Op == "dial" {
		return nil
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: f.timeout}, Config: f.tls.Clone()}
	d.Config.NextProtos = []string{"h2"}
	cctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	conn, err := d.DialContext(cctx, "tcp", addr)
	if err != nil {
		if isTLSFailure(err) {
			return err
		}
		return nil
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := conn.Read(make([]byte, 1)); err != nil && isTLSFailure(err) {
		return err
	}
	return nil
}

// answered reports whether err came from a server's answer (a Connect
// error with the response's headers), rather than from the transport.
func answered(err error) bool {
	var ce *connect.Error
	return errors.As(err, &ce) && len(ce.Meta()) > 0
}

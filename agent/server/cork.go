package server

import (
	"context"
	"net"
	"net/http"

	"github.com/shingle-storage/shingle/agent/datapath"
)

// socketKey is the context key of a request's datapath.Socket.
type socketKey struct{}

// withSocket is the server's ConnContext: it keeps the connection's
// socket in the context of its requests.
func withSocket(ctx context.Context, c net.Conn) context.Context {
	if s := datapath.SocketOf(c); s != nil {
		return context.WithValue(ctx, socketKey{}, s)
	}
	return ctx
}

// corkedWriter writes to the response of r with the socket of an HTTP/1.x
// request corked, so that the TLS records of a large Write reach the
// kernel together (see datapath.Socket). An HTTP/2 request's connection
// is shared with other streams and is left alone.
//
// The last gathered bytes are sent after the TLS connection's Write has
// returned, so a server Close while they wait for a client that stopped
// reading waits for them, up to crypto/tls's 5 s limit on its close
// alert. Shutdown closes only idle connections, which hold no such bytes,
// and the agent never calls Close (Run returns when Shutdown runs out of
// time), so it does not meet this.
type corkedWriter struct {
	w http.ResponseWriter
	r *http.Request
}

// Write implements io.Writer.
func (c corkedWriter) Write(p []byte) (int, error) {
	s, ok := c.r.Context().Value(socketKey{}).(*datapath.Socket)
	if !ok || c.r.ProtoMajor != 1 {
		return c.w.Write(p)
	}
	s.Cork()
	n, err := c.w.Write(p)
	if uerr := s.Uncork(); err == nil {
		err = uerr
	}
	return n, err
}

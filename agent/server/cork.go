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

// corkResponse corks the socket of an HTTP/1.x request, so that the
// records of a large Write to the response reach the kernel together (see
// datapath.Socket), and returns the function that uncorks it. An HTTP/2
// request's connection is shared with other streams and is left alone.
func corkResponse(r *http.Request) (uncork func()) {
	s, ok := r.Context().Value(socketKey{}).(*datapath.Socket)
	if !ok || r.ProtoMajor != 1 {
		return func() {}
	}
	s.Cork()
	return func() { _ = s.Uncork() }
}

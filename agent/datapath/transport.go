package datapath

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// NewTransport returns the HTTP transport for calling agents' data paths,
// with cfg (the cluster's mutual TLS) for its connections. Control calls
// (Connect, over HTTP/2) want a transport of their own.
//
// The data path moves blobs of up to 4 MiB, and on a host whose clients
// and agent are busy its cost is CPU: TLS's encryption and the sockets'
// system calls. So this transport differs from http.Transport's defaults:
//
//   - HTTP/1.1, a connection per call in flight (up to maxPerAgent per
//     agent kept idle), rather than HTTP/2 multiplexing every call on one
//     connection: one stream per connection needs none of HTTP/2's
//     framing and flow control, and spreads the work over connections
//     the kernel serves in parallel.
//   - Its connections are Sockets beneath their TLS: they read ahead, and
//     the records of a Write are gathered and sent together.
//   - A body in memory (a *bytes.Reader, say) is encrypted from where it
//     is, not copied through the transport's buffers first; only what
//     fits beside the headers in a 16 KiB write buffer is, so a small
//     blob and its headers go out as one TLS record.
//   - Full-size TLS records from a connection's first byte (no dynamic
//     record sizing, which helps a browser render early and not a blob).
func NewTransport(cfg *tls.Config, maxPerAgent int) *http.Transport {
	cfg = cfg.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	cfg.DynamicRecordSizingDisabled = true
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			raw, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			sock := NewSocket(raw)
			c := cfg.Clone()
			if c.ServerName == "" {
				host, _, err := net.SplitHostPort(addr)
				if err != nil {
					_ = raw.Close()
					return nil, err
				}
				c.ServerName = host
			}
			tc := tls.Client(sock, c)
			hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
			defer cancel()
			if err := tc.HandshakeContext(hctx); err != nil {
				_ = raw.Close()
				return nil, err
			}
			return &corkedTLS{Conn: tc, sock: sock}, nil
		},
		MaxIdleConnsPerHost: maxPerAgent,
		IdleConnTimeout:     90 * time.Second,
		WriteBufferSize:     16 << 10,
	}
}

// handshakeTimeout bounds a connection's TLS handshake, as
// http.Transport's TLSHandshakeTimeout does for its own dials.
const handshakeTimeout = 10 * time.Second

// corkedTLS is a TLS connection over a Socket, whose Writes are corked:
// the records of one Write reach the kernel together.
type corkedTLS struct {
	*tls.Conn
	sock *Socket
}

// Write writes p as TLS records, gathered beneath and sent together. If
// the last send fails, the TLS connection has counted records that never
// left; when none of this Write's bytes reached the kernel it returns 0,
// as a plain TLS write would, so net/http knows nothing was sent and may
// retry the request on another connection.
func (c *corkedTLS) Write(p []byte) (int, error) {
	sent := c.sock.sent.Load()
	c.sock.Cork()
	n, err := c.Conn.Write(p)
	if ferr := c.sock.Uncork(); ferr != nil {
		if c.sock.sent.Load() == sent {
			n = 0
		}
		if err == nil {
			err = ferr
		}
	}
	return n, err
}

// Close closes the connection. While a corked write is still being sent
// (the TLS connection's own Write has returned, so it does not know), it
// closes the socket first, as a TLS connection does when closed during
// one of its writes: sending the close_notify alert would wait for the
// stuck write, up to crypto/tls's 5 s limit.
func (c *corkedTLS) Close() error {
	if c.sock.writing.Load() > 0 {
		_ = c.sock.Conn.Close()
	}
	return c.Conn.Close()
}

// ReadFrom writes what r holds. net/http hands a request's body over this
// way, as an io.LimitedReader of the body's length: a body that can write
// itself, as bytes.Reader can, is written from where it is (and fails if
// it holds more than its length); anything else is read 256 KiB at a time.
func (c *corkedTLS) ReadFrom(r io.Reader) (int64, error) {
	if lr, ok := r.(*io.LimitedReader); ok {
		if wt, ok := lr.R.(io.WriterTo); ok {
			lw := &limitedWriter{w: c, left: lr.N}
			n, err := wt.WriteTo(lw)
			lr.N = lw.left
			return n, err
		}
	}
	buf := c.sock.bufs.get()
	defer c.sock.bufs.put(buf)
	return io.CopyBuffer(writerOnly{c}, r, buf[:])
}

// limitedWriter writes at most left bytes to w, and fails a write that
// would take it past them.
type limitedWriter struct {
	w    io.Writer
	left int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) <= l.left {
		n, err := l.w.Write(p)
		l.left -= int64(n)
		return n, err
	}
	n, err := l.w.Write(p[:l.left])
	l.left -= int64(n)
	if err == nil {
		err = errBodyTooLong
	}
	return n, err
}

// errBodyTooLong is a request body longer than its Content-Length says.
var errBodyTooLong = errors.New("datapath: the request body holds more bytes than its Content-Length")

// writerOnly hides a writer's ReadFrom, so io.CopyBuffer uses the buffer.
type writerOnly struct{ io.Writer }

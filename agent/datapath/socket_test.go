package datapath

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"testing"
)

// tcpPair is a connected pair of loopback TCP sockets.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.FailNow()
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// countingConn counts the writes that reach the socket.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes []int
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, len(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *countingConn) count() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.writes...)
}

// TestSocketReadsAheadInOrder reads a stream written in pieces of every
// size through a Socket, with reads of every size (some larger than its
// buffer), and checks the bytes and the end of the stream.
func TestSocketReadsAheadInOrder(t *testing.T) {
	c, s := tcpPair(t)
	sock := NewSocket(s)
	rng := rand.New(rand.NewPCG(1, 2))
	want := make([]byte, 3*socketBuf+12345)
	for i := range want {
		want[i] = byte(rng.IntN(256))
	}
	go func() {
		defer c.Close()
		for rest := want; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(100_000))
			if _, err := c.Write(rest[:n]); err != nil {
				t.Error(err)
				return
			}
			rest = rest[n:]
		}
	}()
	var got []byte
	sizes := []int{1, 7, 5000, 16 << 10, 70_000, socketBuf, socketBuf + 1}
	for i := 0; ; i++ {
		p := make([]byte, sizes[i%len(sizes)])
		n, err := sock.Read(p)
		got = append(got, p[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("a read returned no bytes and no error")
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, not the %d written, or not the same ones", len(got), len(want))
	}
	if sock.in != nil {
		t.Error("the socket keeps its read-ahead buffer after reading everything")
	}
}

// TestSocketCorkGathersWrites checks that corked writes reach the kernel
// together, in order, and only when uncorked or when a buffer's worth is
// waiting; and that uncorked writes go straight through.
func TestSocketCorkGathersWrites(t *testing.T) {
	c, s := tcpPair(t)
	counted := &countingConn{Conn: c}
	sock := NewSocket(counted)

	var want bytes.Buffer
	write := func(n int, b byte) {
		t.Helper()
		p := bytes.Repeat([]byte{b}, n)
		if m, err := sock.Write(p); err != nil || m != n {
			t.Fatalf("write of %d bytes: %d, %v", n, m, err)
		}
		want.Write(p)
	}
	received := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(s)
		received <- b
	}()

	write(100, 'a') // uncorked: straight through
	sock.Cork()
	for range 10 {
		write(1000, 'b')
	}
	sock.Cork() // nested
	write(1000, 'c')
	if err := sock.Uncork(); err != nil {
		t.Fatal(err)
	}
	if got := counted.count(); len(got) != 1 {
		t.Fatalf("writes reached the socket while corked: %v", got)
	}
	write(socketBuf-11_000+1, 'd') // a byte too many to gather: the gathered bytes go first
	write(2*socketBuf, 'e')        // more than a buffer: what is gathered, then this, go at once
	if err := sock.Uncork(); err != nil {
		t.Fatal(err)
	}
	write(10, 'f')
	if got, want := counted.count(), []int{100, 11_000, socketBuf - 11_000 + 1, 2 * socketBuf, 10}; !slices.Equal(got, want) {
		t.Fatalf("writes reaching the socket: %v, want %v", got, want)
	}
	if sock.out != nil {
		t.Error("the socket keeps its write buffer once uncorked")
	}
	c.Close()
	if got := <-received; !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("the other end got %d bytes, not the %d written in order", len(got), want.Len())
	}
}

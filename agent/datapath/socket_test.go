package datapath

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
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

// countingConn counts the reads and writes that reach the socket.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes []int
	reads  int
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.Conn.Read(p)
}

// SyscallConn hands out the socket's descriptor, as the TCP connection
// beneath would.
func (c *countingConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
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

// countingPool is a bufferPool that counts the buffers out on loan.
type countingPool struct {
	syncPool
	out atomic.Int32
}

func (p *countingPool) get() *[socketBuf]byte  { p.out.Add(1); return p.syncPool.get() }
func (p *countingPool) put(b *[socketBuf]byte) { p.out.Add(-1); p.syncPool.put(b) }

// TestSocketReadsAheadInOrder reads a stream written in pieces of every
// size through a Socket, with reads of every size (some larger than its
// buffer), and checks the bytes, the end of the stream, and that reads
// went to the kernel a buffer at a time.
func TestSocketReadsAheadInOrder(t *testing.T) {
	c, s := tcpPair(t)
	counted := &countingConn{Conn: s}
	pool := &countingPool{}
	sock := newSocket(counted, pool)
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
	if n := pool.out.Load(); n != 0 {
		t.Errorf("the socket keeps %d buffers after reading everything", n)
	}
	// Reads of at most 70,000 bytes would take at least len(want)/70,000
	// reads of the kernel without reading ahead.
	if n := counted.reads; n >= len(want)/70_000 {
		t.Errorf("%d reads reached the kernel for %d bytes: the socket does not read ahead", n, len(want))
	}
}

// TestSocketIdleHoldsNoBuffer checks that a read waiting for bytes holds
// no buffer: an idle connection, or one that never sends anything, costs
// no memory beyond the kernel's.
func TestSocketIdleHoldsNoBuffer(t *testing.T) {
	c, s := tcpPair(t)
	pool := &countingPool{}
	sock := newSocket(s, pool)
	got := make(chan string, 1)
	go func() {
		p := make([]byte, 100)
		n, err := sock.Read(p)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(p[:n])
	}()
	time.Sleep(100 * time.Millisecond) // the read is waiting
	if n := pool.out.Load(); n != 0 {
		t.Fatalf("a read waiting for bytes holds %d buffers", n)
	}
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if g := <-got; g != "hello" {
		t.Fatalf("read %q, want hello", g)
	}
	if n := pool.out.Load(); n != 0 {
		t.Fatalf("after reading every byte the socket holds %d buffers", n)
	}
	// A read deadline still ends a wait.
	if err := sock.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := sock.Read(make([]byte, 100)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a read past its deadline: %v, want a deadline error", err)
	}
	if n := pool.out.Load(); n != 0 {
		t.Fatalf("after a timed-out read the socket holds %d buffers", n)
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

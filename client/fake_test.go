package client

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/kv"
)

// fakeReplica is a one-replica "cluster" on loopback that answers each
// request with what answer returns, so a test controls exactly what the
// client sees.
type fakeReplica struct {
	listener net.Listener
	answer   func(h *vsr.Header) *vsr.Header // nil: no answer
	mu       sync.Mutex
	body     []byte // the body of replies to operations (nil: status ok), under mu
	wg       sync.WaitGroup
}

var fakeCluster = vsr.U128{Lo: 5}

func newFakeReplica(t *testing.T, answer func(h *vsr.Header) *vsr.Header) *fakeReplica {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeReplica{listener: l, answer: answer}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(func() { l.Close(); f.wg.Wait() })
	return f
}

func (f *fakeReplica) accept() {
	defer f.wg.Done()
	for {
		conn, err := f.listener.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer conn.Close()
			f.serve(conn)
		}()
	}
}

func (f *fakeReplica) serve(conn net.Conn) {
	r := bufio.NewReader(conn)
	buf := make([]byte, 64<<10)
	for {
		if _, err := io.ReadFull(r, buf[:vsr.HeaderSize]); err != nil {
			return
		}
		h, err := vsr.DecodeHeader(buf[:vsr.HeaderSize])
		if err != nil {
			return
		}
		if _, err := io.ReadFull(r, buf[vsr.HeaderSize:h.Size]); err != nil {
			return
		}
		reply := f.answer(&h)
		if reply == nil {
			continue
		}
		reply.Cluster, reply.Client = fakeCluster, h.Client
		body := []byte(nil)
		if reply.Command == vsr.CommandReply {
			body = []byte{byte(kv.StatusOK)}
			f.mu.Lock()
			if f.body != nil && h.Operation != vsr.OperationRegister {
				body = f.body
			}
			f.mu.Unlock()
		}
		out := make([]byte, vsr.HeaderSize+len(body))
		if _, err := vsr.Encode(out, reply, body); err != nil {
			panic(err)
		}
		if _, err := conn.Write(out); err != nil {
			return
		}
	}
}

// setBody sets the body of the replies to operations from now on.
func (f *fakeReplica) setBody(body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.body = body
}

// replyTo answers h as a replica that executed it at op.
func replyTo(h *vsr.Header, op uint64) *vsr.Header {
	return &vsr.Header{Command: vsr.CommandReply, Request: h.Request, RequestChecksum: h.Checksum, Op: op, Commit: op}
}

// An eviction that ends the request in flight fails it as evicted and
// indefinite; the next call registers a new session and goes through.
func TestEvictionOfTheRequestInFlight(t *testing.T) {
	var mu sync.Mutex
	registers, evictions := 0, 0
	f := newFakeReplica(t, func(h *vsr.Header) *vsr.Header {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case h.Operation == vsr.OperationRegister:
			registers++
			return replyTo(h, uint64(registers))
		case evictions == 0:
			evictions++
			return &vsr.Header{Command: vsr.CommandEviction, Session: h.Session}
		}
		return replyTo(h, 10)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, fakeCluster.Lo, []string{f.listener.Addr().String()}, Options{SessionsMax: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Write(ctx, []byte("k"), []byte("v"))
	if !errors.Is(err, ErrEvicted) || !errors.Is(err, ErrIndefinite) {
		t.Fatalf("write whose session was evicted: %v", err)
	}
	if err := c.Write(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatalf("write after the eviction: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if registers != 2 {
		t.Fatalf("%d registers, want 2 (Dial's and the one after the eviction)", registers)
	}
}

// A replica that never answers leaves the call to its context: indefinite,
// but not unreachable, since the replica is connected.
func TestSilentClusterIsNotUnreachable(t *testing.T) {
	f := newFakeReplica(t, func(h *vsr.Header) *vsr.Header {
		if h.Operation == vsr.OperationRegister {
			return replyTo(h, 1)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, fakeCluster.Lo, []string{f.listener.Addr().String()}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	_, err = c.Read(short, []byte("k"))
	if !errors.Is(err, ErrIndefinite) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnreachable) {
		t.Fatalf("read the cluster never answers: %v", err)
	}
}

// dialFake dials the fake replica with opts.
func dialFake(t *testing.T, f *fakeReplica, opts Options) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, fakeCluster.Lo, []string{f.listener.Addr().String()}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ReportOp hands back the op of the reply, for replies of every status;
// a call without a reply leaves it alone.
func TestReportOp(t *testing.T) {
	var mu sync.Mutex
	answering, op := true, uint64(40)
	f := newFakeReplica(t, func(h *vsr.Header) *vsr.Header {
		mu.Lock()
		defer mu.Unlock()
		if h.Operation == vsr.OperationRegister {
			return replyTo(h, 1)
		}
		if !answering {
			return nil
		}
		op++
		return replyTo(h, op)
	})
	c := dialFake(t, f, Options{SessionsMax: 1})
	ctx := timeout(t, 10*time.Second)
	var got uint64
	if err := c.Write(ctx, []byte("k"), []byte("v"), ReportOp(&got)); err != nil || got != 41 {
		t.Fatalf("write: op %d, %v; want op 41", got, err)
	}
	f.setBody([]byte{byte(kv.StatusNotFound)})
	if _, err := c.Read(ctx, []byte("k"), ReportOp(&got)); !errors.Is(err, ErrNotFound) || got != 42 {
		t.Fatalf("read of a missing key: op %d, %v; want op 42 and not found", got, err)
	}
	mu.Lock()
	answering = false
	mu.Unlock()
	got = 7
	_, _, err := c.CompareAndSet(timeout(t, 200*time.Millisecond), []byte("k"), nil, nil, ReportOp(&got))
	if !errors.Is(err, ErrIndefinite) || got != 7 {
		t.Fatalf("cas without a reply: op %d, %v; want op 7 left alone, indefinite", got, err)
	}
}

// A reply the client cannot decode, or of a status the operation never
// returns, came from an operation that ran: its outcome is unknown.
func TestUnreadableReplyIsIndefinite(t *testing.T) {
	f := newFakeReplica(t, func(h *vsr.Header) *vsr.Header { return replyTo(h, 2) })
	c := dialFake(t, f, Options{})
	ctx := timeout(t, 10*time.Second)
	for _, body := range [][]byte{{0xff}, {byte(kv.StatusMismatch)}} {
		f.setBody(body)
		if err := c.Write(ctx, []byte("k"), []byte("v")); !errors.Is(err, ErrIndefinite) {
			t.Errorf("write answered %x: %v, want indefinite", body, err)
		}
	}
	f.setBody([]byte{byte(kv.StatusFull)}) // a definite refusal
	if err := c.Write(ctx, []byte("k"), []byte("v")); !errors.Is(err, ErrFull) || errors.Is(err, ErrIndefinite) {
		t.Errorf("write answered full: %v, want full and definite", err)
	}
}

// Options.Dialer opens every connection: one that wraps the TCP
// connection sees the client's bytes; one that fails leaves the cluster
// unreachable.
func TestDialer(t *testing.T) {
	f := newFakeReplica(t, func(h *vsr.Header) *vsr.Header { return replyTo(h, 3) })
	var dials, written atomic.Int64
	dialer := func(ctx context.Context, address string) (net.Conn, error) {
		dials.Add(1)
		conn, err := dialTCP(ctx, address)
		if err != nil {
			return nil, err
		}
		return countingConn{Conn: conn, written: &written}, nil
	}
	c := dialFake(t, f, Options{Dialer: dialer})
	if err := c.Write(timeout(t, 10*time.Second), []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if dials.Load() != 1 || written.Load() < 2*vsr.HeaderSize {
		t.Fatalf("%d dials, %d bytes written; want 1 dial carrying a register and a request", dials.Load(), written.Load())
	}
	refuse := func(context.Context, string) (net.Conn, error) { return nil, errors.New("refused by the test") }
	_, err := Dial(timeout(t, 300*time.Millisecond), fakeCluster.Lo, []string{f.listener.Addr().String()},
		Options{Dialer: refuse})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("dial through a dialer that fails: %v", err)
	}
}

type countingConn struct {
	net.Conn
	written *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.written.Add(int64(len(p)))
	return c.Conn.Write(p)
}

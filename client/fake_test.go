package client

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
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

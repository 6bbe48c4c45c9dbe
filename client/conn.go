package client

import (
	"bufio"
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govsr/govsr/vsr"
)

// Connection timing.
const (
	dialTimeout   = time.Second
	writeTimeout  = 5 * time.Second // a replica that takes no bytes this long (stopped, wedged) is dropped
	redialMin     = 50 * time.Millisecond
	redialMax     = time.Second
	writeBatchMax = 64 // messages written per flush
)

// replica is the client's connection to one replica: a goroutine that
// dials (again, with backoff, whenever the connection drops), writes the
// queued messages, and a reader that hands each whole message to its
// session. Messages queued while disconnected wait, up to the queue's
// bound; the protocol resends whatever is lost.
type replica struct {
	c       *Client
	index   int
	address string
	queue   chan []byte
	up      atomic.Bool

	mu     sync.Mutex
	conn   net.Conn // the live connection, closed by shut
	cancel context.CancelFunc
	ctx    context.Context
}

func newReplica(c *Client, index int, address string) *replica {
	ctx, cancel := context.WithCancel(context.Background())
	return &replica{c: c, index: index, address: address, queue: make(chan []byte, c.opts.SendQueueMax),
		ctx: ctx, cancel: cancel}
}

// send queues a copy of message; a full queue drops it.
func (r *replica) send(message []byte) {
	select {
	case r.queue <- append([]byte(nil), message...):
	default:
	}
}

// shut stops the replica's goroutines.
func (r *replica) shut() {
	r.cancel()
	r.mu.Lock()
	if r.conn != nil {
		r.conn.Close()
	}
	r.mu.Unlock()
}

// dialTCP is the default Options.Dialer.
func dialTCP(ctx context.Context, address string) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	return d.DialContext(ctx, "tcp", address)
}

// run dials and serves connections until the client closes.
func (r *replica) run() {
	defer r.c.wg.Done()
	backoff := redialMin
	for r.ctx.Err() == nil {
		conn, err := r.c.opts.Dialer(r.ctx, r.address)
		if err == nil {
			backoff = redialMin
			r.serve(conn)
		}
		select {
		case <-r.ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, redialMax)
	}
}

// serve writes queued messages on conn and reads from it until either
// side fails.
func (r *replica) serve(conn net.Conn) {
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetNoDelay(true)
	}
	r.mu.Lock()
	if r.ctx.Err() != nil {
		r.mu.Unlock()
		conn.Close()
		return
	}
	r.conn = conn
	r.mu.Unlock()
	r.up.Store(true)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		r.read(conn)
	}()
	r.write(conn, readerDone)
	r.up.Store(false)
	conn.Close()
	<-readerDone
	r.mu.Lock()
	r.conn = nil
	r.mu.Unlock()
}

// write sends queued messages, a batch per flush, until the connection or
// the reader fails or the client closes.
func (r *replica) write(conn net.Conn, readerDone <-chan struct{}) {
	w := bufio.NewWriterSize(conn, int(r.c.opts.MessageSizeMax))
	for {
		var m []byte
		select {
		case m = <-r.queue:
		case <-readerDone:
			return
		case <-r.ctx.Done():
			return
		}
		_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		for n := 0; ; n++ {
			if _, err := w.Write(m); err != nil {
				return
			}
			if n+1 == writeBatchMax || len(r.queue) == 0 {
				break
			}
			m = <-r.queue
		}
		if err := w.Flush(); err != nil {
			return
		}
	}
}

// read frames messages by their headers and delivers them. A stream that
// is not this cluster's messages ends the connection.
func (r *replica) read(conn net.Conn) {
	br := bufio.NewReaderSize(conn, int(r.c.opts.MessageSizeMax))
	buf := make([]byte, r.c.opts.MessageSizeMax)
	for {
		if _, err := io.ReadFull(br, buf[:vsr.HeaderSize]); err != nil {
			return
		}
		h, err := vsr.DecodeHeader(buf[:vsr.HeaderSize])
		if err != nil || h.Cluster != r.c.cluster || h.Size < vsr.HeaderSize || h.Size > r.c.opts.MessageSizeMax {
			return
		}
		if _, err := io.ReadFull(br, buf[vsr.HeaderSize:h.Size]); err != nil {
			return
		}
		r.c.deliver(&h, buf[:h.Size])
	}
}

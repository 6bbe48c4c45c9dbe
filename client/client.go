// Package client is the Go client library of a govsr cluster running the
// key-value store (vsr/kv): Dial a cluster, then Read, Write and
// CompareAndSet from any number of goroutines.
//
// A Client multiplexes its callers over a bounded number of protocol
// sessions (Options.SessionsMax), each a vsr.Client, the protocol code the
// simulator tests: one request in flight per session, numbered, retried
// with backoff to every replica until a reply comes, through view changes
// and replica restarts. Each session takes one of the cluster's client
// slots (`vsr format --clients-max`); more sessions than that, over all
// clients, evict each other.
//
// Every operation goes through the replicated log, so reads and writes
// are linearizable. An operation whose context ends after its request was
// sent returns an error that is ErrIndefinite: it may still take effect.
// Its session keeps retrying it and serves other callers once its reply
// arrives.
package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/kv"
)

// Options tune a client. Zero fields take defaults.
type Options struct {
	// SessionsMax bounds the protocol sessions, hence the requests in
	// flight at once (default 8). Sessions open as callers need them.
	SessionsMax int
	// MessageSizeMax must be the cluster's (default 64 KiB, as
	// `vsr format`'s default).
	MessageSizeMax uint32
	// KeySizeMax and ValueSizeMax are checked before sending (defaults:
	// the kv store's, 64 bytes and 1 KiB).
	KeySizeMax   int
	ValueSizeMax int
	// DialTimeout bounds Dial when its context has no earlier deadline
	// (default 10 s).
	DialTimeout time.Duration
	// SendQueueMax bounds the messages queued for each replica; a full
	// queue drops new ones, which the protocol resends (default 256).
	SendQueueMax int
	// Dialer opens the connection to a replica at address (host:port),
	// again whenever it drops (default: TCP with a 1 s timeout). A dialer
	// can tunnel, pick a source address, or wrap the connection (a test
	// injects faults into what the client sends).
	Dialer func(ctx context.Context, address string) (net.Conn, error)
}

func (o Options) withDefaults() Options {
	if o.SessionsMax == 0 {
		o.SessionsMax = 8
	}
	if o.MessageSizeMax == 0 {
		o.MessageSizeMax = 64 << 10
	}
	if o.KeySizeMax == 0 {
		o.KeySizeMax = kv.KeySizeMaxDefault
	}
	if o.ValueSizeMax == 0 {
		o.ValueSizeMax = kv.ValueSizeMaxDefault
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.SendQueueMax == 0 {
		o.SendQueueMax = 256
	}
	if o.Dialer == nil {
		o.Dialer = dialTCP
	}
	return o
}

func (o Options) check() error {
	switch {
	case o.SessionsMax < 1 || o.SessionsMax > sessionsLimit:
		return fmt.Errorf("client: sessions max %d outside [1, %d]", o.SessionsMax, sessionsLimit)
	case o.MessageSizeMax < vsr.MessageSizeMin:
		return fmt.Errorf("client: message size max %d below %d", o.MessageSizeMax, vsr.MessageSizeMin)
	case o.KeySizeMax < 1 || o.KeySizeMax > kv.KeySizeMaxLimit:
		return fmt.Errorf("client: key size max %d outside [1, %d]", o.KeySizeMax, kv.KeySizeMaxLimit)
	case o.ValueSizeMax < 0 || o.ValueSizeMax > kv.ValueSizeMaxLimit:
		return fmt.Errorf("client: value size max %d outside [0, %d]", o.ValueSizeMax, kv.ValueSizeMaxLimit)
	case o.DialTimeout < 0 || o.SendQueueMax < 1:
		return fmt.Errorf("client: dial timeout %s and send queue max %d must be positive", o.DialTimeout, o.SendQueueMax)
	}
	return nil
}

// sessionsLimit is the most sessions one client may hold: the most a
// cluster can (vsr.Options.ClientsMax).
const sessionsLimit = 1 << 16

// Protocol timing of the sessions, in ticks of tickInterval. Shorter than
// vsr.Client's defaults: an application would rather resend a little more
// than wait seconds after a view change.
const (
	tickInterval        = 10 * time.Millisecond
	requestTimeoutTicks = 25  // first retry after 250 ms
	backoffTicksMax     = 100 // retries at least every second
)

// Client is a connection to a cluster, safe for concurrent use.
type Client struct {
	opts     Options
	cluster  vsr.U128
	replicas []*replica

	mu       sync.Mutex // guards everything below and every session's protocol client
	random   *mathrand.Rand
	sessions map[vsr.U128]*session // by client id; looked up, never iterated
	all      []*session
	closed   bool

	free    chan *session // idle, registered or not, ready for a caller
	closing chan struct{} // closed by Close
	wg      sync.WaitGroup
}

// Dial connects to the cluster whose replicas listen on addresses (in
// replica order, host:port; hostnames and bracketed IPv6 literals are fine) and
// opens one session. It fails with ErrUnreachable if no replica answers
// before ctx ends or Options.DialTimeout passes.
func Dial(ctx context.Context, cluster uint64, addresses []string, opts Options) (*Client, error) {
	opts = opts.withDefaults()
	if err := opts.check(); err != nil {
		return nil, err
	}
	if cluster == 0 || len(addresses) < 1 || len(addresses) > vsr.ReplicasMax {
		return nil, fmt.Errorf("client: cluster %d and %d addresses: want a non-zero cluster and 1 to %d addresses",
			cluster, len(addresses), vsr.ReplicasMax)
	}
	var seed [32]byte
	_, _ = rand.Read(seed[:])
	c := &Client{opts: opts, cluster: vsr.U128{Lo: cluster}, random: mathrand.New(mathrand.NewChaCha8(seed)),
		sessions: map[vsr.U128]*session{}, free: make(chan *session, opts.SessionsMax), closing: make(chan struct{})}
	for i, a := range addresses {
		c.replicas = append(c.replicas, newReplica(c, i, a))
	}
	for _, r := range c.replicas {
		c.wg.Add(1)
		go r.run()
	}
	c.wg.Add(1)
	go c.tick()
	if err := c.dialSession(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// dialSession opens the first session, so that Dial fails fast when the
// cluster is not there.
func (c *Client) dialSession(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	c.mu.Lock()
	s, err := c.newSessionLocked()
	if err == nil {
		err = s.protocol.Register()
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case s2 := <-c.free:
		c.free <- s2 // registered: back for the first caller
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: no reply to a register from %d replicas at %v (%d connected): %w", ErrUnreachable,
			len(c.replicas), c.addresses(), c.connected(), ctx.Err())
	}
}

func (c *Client) addresses() []string {
	var a []string
	for _, r := range c.replicas {
		a = append(a, r.address)
	}
	return a
}

// connected counts the replicas with a connection up.
func (c *Client) connected() int {
	n := 0
	for _, r := range c.replicas {
		if r.up.Load() {
			n++
		}
	}
	return n
}

// tick drives every session's retries.
func (c *Client) tick() {
	defer c.wg.Done()
	t := time.NewTicker(tickInterval)
	defer t.Stop()
	for {
		select {
		case <-c.closing:
			return
		case <-t.C:
		}
		c.mu.Lock()
		for _, s := range c.all {
			s.protocol.Tick()
		}
		c.mu.Unlock()
	}
}

// Close closes the connections. Operations in progress return ErrClosed
// (those whose request was sent, ErrIndefinite too).
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.closing)
	c.mu.Unlock()
	for _, r := range c.replicas {
		r.shut()
	}
	c.wg.Wait()
	return nil
}

// deliver hands a message from a replica to the session it names.
func (c *Client) deliver(h *vsr.Header, message []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.sessions[h.Client]; s != nil && !c.closed {
		s.protocol.Receive(message)
	}
}

// Read returns the value of key, or ErrNotFound.
func (c *Client) Read(ctx context.Context, key []byte, opts ...CallOption) ([]byte, error) {
	if err := c.checkSizes(key); err != nil {
		return nil, err
	}
	input, err := kv.EncodeRead(nil, key)
	if err != nil {
		return nil, err
	}
	reply, err := c.do(ctx, "read", kv.OperationRead, input, opts)
	if err != nil {
		return nil, err
	}
	switch reply.Status {
	case kv.StatusOK:
		return reply.Value, nil
	case kv.StatusNotFound:
		return nil, ErrNotFound
	}
	return nil, statusError("read", reply.Status)
}

// Write sets key to value.
func (c *Client) Write(ctx context.Context, key, value []byte, opts ...CallOption) error {
	if err := c.checkSizes(key, field{"value", value}); err != nil {
		return err
	}
	input, err := kv.EncodeWrite(nil, key, value)
	if err != nil {
		return err
	}
	reply, err := c.do(ctx, "write", kv.OperationWrite, input, opts)
	if err != nil {
		return err
	}
	if reply.Status == kv.StatusOK {
		return nil
	}
	return statusError("write", reply.Status)
}

// CompareAndSet sets key to to if it holds from. It reports whether it did
// and, when it did not, the value key holds; a key that does not exist is
// ErrNotFound.
func (c *Client) CompareAndSet(ctx context.Context, key, from, to []byte, opts ...CallOption) (swapped bool, current []byte,
	err error) {
	if err := c.checkSizes(key, field{"from", from}, field{"to", to}); err != nil {
		return false, nil, err
	}
	input, err := kv.EncodeCAS(nil, key, from, to)
	if err != nil {
		return false, nil, err
	}
	reply, err := c.do(ctx, "cas", kv.OperationCAS, input, opts)
	if err != nil {
		return false, nil, err
	}
	switch reply.Status {
	case kv.StatusOK:
		return true, nil, nil
	case kv.StatusMismatch:
		return false, reply.Value, nil
	case kv.StatusNotFound:
		return false, nil, ErrNotFound
	}
	return false, nil, statusError("cas", reply.Status)
}

func statusError(operation string, status kv.Status) error {
	switch status {
	case kv.StatusFull:
		return fmt.Errorf("client: %s: %w", operation, ErrFull)
	case kv.StatusInvalid:
		return fmt.Errorf("client: %s: %w", operation, ErrInvalid)
	}
	// It ran, with an outcome this client does not know how to read.
	return indefinite(operation, fmt.Errorf("unexpected reply status %s", status))
}

// field is a named value of a request.
type field struct {
	name  string
	value []byte
}

// checkSizes checks a key, then values, against the options and against
// what one message carries.
func (c *Client) checkSizes(key []byte, values ...field) error {
	if len(key) == 0 {
		return errors.New("client: key is empty")
	}
	if len(key) > c.opts.KeySizeMax {
		return &TooLargeError{What: "key", Size: len(key), Max: c.opts.KeySizeMax}
	}
	total := len(key)
	for _, v := range values {
		if len(v.value) > c.opts.ValueSizeMax {
			return &TooLargeError{What: v.name, Size: len(v.value), Max: c.opts.ValueSizeMax}
		}
		total += len(v.value)
	}
	// A request carries its input after two headers' worth of room
	// (vsr.Client's bound) and the kv encoding's lengths (at most 10 bytes).
	if room := int(c.opts.MessageSizeMax) - 2*vsr.HeaderSize - 10; total > room {
		return &TooLargeError{What: "request", Size: total, Max: room}
	}
	return nil
}

package client

import (
	"context"
	"fmt"

	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/kv"
)

// session is one protocol session: a vsr.Client and the call it serves.
// It is either in Client.free (idle) or held by exactly one call, until
// that call's reply (or eviction) comes back, even if its caller left.
type session struct {
	c        *Client
	protocol *vsr.Client
	call     *call // the call in flight or waiting for the register; nil when idle
}

// call is one operation of a caller.
type call struct {
	operation vsr.Operation
	input     []byte
	sent      bool        // the request was submitted: its outcome is unknown until the reply
	done      chan result // buffered: the session never waits for the caller
}

type result struct {
	body []byte // the reply, copied
	op   uint64 // the op that executed it
	err  error
}

// CallOption adjusts one call (Read, Write, CompareAndSet).
type CallOption func(*callOptions)

type callOptions struct {
	op *uint64
}

// ReportOp has a call store in *op the number of the log entry (the op)
// the cluster executed it at, once its reply comes (ErrNotFound and ErrFull
// come in replies too); a call without a reply leaves *op alone. Ops number the cluster's operations in the order they
// ran, so they order a client's calls against other clients' and against
// the replicas' logs.
func ReportOp(op *uint64) CallOption {
	return func(o *callOptions) { o.op = op }
}

// newSessionLocked creates a session with a fresh random id; it registers
// when first used. c.mu is held.
func (c *Client) newSessionLocked() (*session, error) {
	if len(c.all) >= c.opts.SessionsMax {
		return nil, fmt.Errorf("client: already %d sessions", len(c.all))
	}
	s := &session{c: c}
	id := vsr.U128{Lo: c.random.Uint64() | 1, Hi: c.random.Uint64()}
	p, err := vsr.NewClient(vsr.ClientOptions{Cluster: c.cluster, ID: id, ReplicaCount: uint8(len(c.replicas)),
		MessageSizeMax: c.opts.MessageSizeMax, RequestTimeoutTicks: requestTimeoutTicks, BackoffTicksMax: backoffTicksMax},
		sessionBus{c}, c.random, s.onResult)
	if err != nil {
		return nil, err
	}
	s.protocol = p
	c.sessions[id] = s
	c.all = append(c.all, s)
	return s, nil
}

// sessionBus sends a session's messages. A register goes to every replica
// at once: a new session does not know the view, and only the primary (and
// replicas the client has sent to) can answer it.
type sessionBus struct{ c *Client }

func (b sessionBus) SendToReplica(replica uint8, message []byte) {
	h, err := vsr.DecodeHeader(message[:vsr.HeaderSize])
	if err == nil && h.Operation == vsr.OperationRegister {
		for _, r := range b.c.replicas {
			r.send(message)
		}
		return
	}
	b.c.replicas[replica].send(message)
}

func (sessionBus) SendToClient(vsr.U128, []byte) { panic("client: a client sends nothing to clients") }

// acquire takes an idle session, opens a new one while fewer than
// SessionsMax exist, or waits for one.
func (c *Client) acquire(ctx context.Context) (*session, error) {
	select {
	case s := <-c.free:
		return s, nil
	default:
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if len(c.all) < c.opts.SessionsMax {
		s, err := c.newSessionLocked()
		c.mu.Unlock()
		return s, err
	}
	c.mu.Unlock()
	select {
	case s := <-c.free:
		return s, nil
	case <-ctx.Done():
		return nil, c.gaveUp(ctx.Err())
	case <-c.closing:
		return nil, ErrClosed
	}
}

// gaveUp is the error of an operation whose context ended; it names
// ErrUnreachable as well when no replica is connected.
func (c *Client) gaveUp(err error) error {
	if c.connected() == 0 {
		return fmt.Errorf("%w (%d replicas, none connected): %w", ErrUnreachable, len(c.replicas), err)
	}
	return err
}

// do runs one operation on a session and decodes its reply.
func (c *Client) do(ctx context.Context, name string, operation vsr.Operation, input []byte,
	opts []CallOption) (kv.Reply, error) {
	if err := ctx.Err(); err != nil {
		return kv.Reply{}, fmt.Errorf("client: %s: %w", name, err)
	}
	s, err := c.acquire(ctx)
	if err != nil {
		return kv.Reply{}, fmt.Errorf("client: %s: %w", name, err)
	}
	cl := &call{operation: operation, input: input, done: make(chan result, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return kv.Reply{}, fmt.Errorf("client: %s: %w", name, ErrClosed)
	}
	err = s.start(cl)
	c.mu.Unlock()
	if err != nil {
		return kv.Reply{}, fmt.Errorf("client: %s: %w", name, err)
	}
	res := c.wait(ctx, s, cl)
	if res.err != nil {
		return kv.Reply{}, res.err
	}
	reply, err := kv.DecodeReply(res.body)
	if err != nil {
		// It ran; what it returned is lost.
		return kv.Reply{}, indefinite(name, err)
	}
	var o callOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.op != nil {
		*o.op = res.op
	}
	return reply, nil
}

// wait waits for the call's result, or gives up when ctx ends or the
// client closes: a call not yet sent (its session still registering) is
// withdrawn and fails outright; a call sent may still take effect.
func (c *Client) wait(ctx context.Context, s *session, cl *call) result {
	var err error
	select {
	case res := <-cl.done:
		return res
	case <-ctx.Done():
		err = c.gaveUp(ctx.Err())
	case <-c.closing:
		err = ErrClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case res := <-cl.done: // it came back meanwhile
		return res
	default:
	}
	name := operationName(cl.operation)
	if !cl.sent {
		if s.call == cl {
			s.call = nil // the register completes without it, and frees the session
		}
		return result{err: fmt.Errorf("client: %s: %w", name, err)}
	}
	return result{err: indefinite(name, err)}
}

// start gives the session a call: submitted now, or after the session
// registers. c.mu is held.
func (s *session) start(cl *call) error {
	if s.call != nil {
		panic("client: a session serves one call at a time")
	}
	s.call = cl
	if !s.protocol.Registered() {
		if s.protocol.Busy() {
			return nil // a register is in flight: the call goes when it completes
		}
		if err := s.protocol.Register(); err != nil {
			s.call = nil
			s.release()
			return err
		}
		return nil
	}
	return s.submit()
}

// submit sends the session's call. c.mu is held.
func (s *session) submit() error {
	cl := s.call
	if _, err := s.protocol.Submit(cl.operation, cl.input); err != nil {
		s.call = nil
		s.release()
		return err
	}
	cl.sent = true
	return nil
}

// onResult is the protocol client's callback, under c.mu: a register
// sends the waiting call; a reply or eviction completes the call and frees
// the session.
func (s *session) onResult(r *vsr.ClientResult) {
	cl := s.call
	if r.Operation == vsr.OperationRegister && r.Err == nil {
		if cl == nil {
			s.release() // a session opened ahead of use (Dial)
			return
		}
		if err := s.submit(); err != nil {
			cl.done <- result{err: err}
		}
		return
	}
	s.call = nil
	if cl == nil {
		s.release()
		return
	}
	if r.Err != nil {
		// Evicted: the request may have executed before the eviction.
		// The next call registers the session again.
		cl.done <- result{err: indefinite(operationName(cl.operation), ErrEvicted)}
	} else {
		cl.done <- result{body: append([]byte(nil), r.Body...), op: r.Op}
	}
	s.release()
}

// release makes the session available to the next caller. c.mu is held.
func (s *session) release() {
	if s.c.closed {
		return
	}
	select {
	case s.c.free <- s:
	default:
		panic("client: the free list holds more sessions than exist")
	}
}

func operationName(o vsr.Operation) string {
	switch o {
	case kv.OperationRead:
		return "read"
	case kv.OperationWrite:
		return "write"
	case kv.OperationCAS:
		return "cas"
	}
	return fmt.Sprintf("operation %d", o)
}

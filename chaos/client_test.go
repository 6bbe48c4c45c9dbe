package chaos

// The test's clients, over what main offers today: the vsr.Client protocol
// code driven by one bus loop on one goroutine, the way vsr benchmark does
// it. Workers call do, which blocks like a client library's Read, Write and
// CompareAndSet would; switching to the client package later replaces this
// file only.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/internal/kvmodel"
	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/bus"
	"github.com/govsr/govsr/vsr/kv"
)

// A client retries after 200 ms, backing off to 1 s: the protocol's
// defaults (500 ms to 8 s) would leave a chaos round mostly waiting.
const (
	requestTimeoutTicks = 20
	backoffMaxTicks     = 100
)

// errNoReply is returned when the context ends before the cluster answers:
// the call may or may not have run.
var errNoReply = errors.New("chaos: no reply before the deadline")

// errSessionBusy refuses a call on a session whose last call was abandoned.
var errSessionBusy = errors.New("chaos: the session's last call is still in flight")

type request struct {
	kind             kvmodel.Kind
	key, value, from string
}

type reply struct {
	status kv.Status
	value  string
	op     uint64
	err    error
}

// call is a request on its way to the loop goroutine.
type call struct {
	session int
	request request
	done    chan reply // buffered: the loop never waits for the worker
}

// session is one protocol session, used by one worker at a time.
type session struct {
	client  *vsr.Client
	pending *call // submitted, or waiting for the register to finish
}

// clients multiplexes the workers' calls onto their sessions.
type clients struct {
	loop     *bus.Loop
	sessions []*session
	byID     map[vsr.U128]*session
	calls    chan *call
}

// dialClients opens one bus loop (with its own fault hook) and count
// sessions; run must be started for anything to move.
func dialClients(cluster vsr.U128, addresses []string, messageSizeMax uint32, count int, busFaults *bus.Faults,
	random *faults.PRNG) (*clients, error) {
	c := &clients{byID: map[vsr.U128]*session{}, calls: make(chan *call, count)}
	loop, err := bus.New(bus.Config{Cluster: cluster, Addresses: addresses, Replica: -1, MessageSizeMax: messageSizeMax,
		Faults: busFaults}, c.receive)
	if err != nil {
		return nil, err
	}
	c.loop = loop
	for i := range count {
		s := &session{}
		id := vsr.U128{Lo: random.Uint64() | 1, Hi: random.Uint64()}
		s.client, err = vsr.NewClient(vsr.ClientOptions{Cluster: cluster, ID: id, ReplicaCount: uint8(len(addresses)),
			MessageSizeMax: messageSizeMax, RequestTimeoutTicks: requestTimeoutTicks, BackoffTicksMax: backoffMaxTicks}, loop, random.Stream(fmt.Sprintf("session-%d", i)), func(r *vsr.ClientResult) {
			c.result(s, r)
		})
		if err != nil {
			loop.Close()
			return nil, err
		}
		c.sessions = append(c.sessions, s)
		c.byID[id] = s
	}
	return c, nil
}

func (c *clients) receive(m []byte) {
	h, err := vsr.DecodeHeader(m[:vsr.HeaderSize])
	if s, ok := c.byID[h.Client]; err == nil && ok {
		s.client.Receive(m)
	}
}

// run is the loop goroutine: it polls the bus, ticks the sessions every
// 10 ms and takes calls, until ctx ends; then it closes the loop.
func (c *clients) run(ctx context.Context) {
	defer c.loop.Close()
	next := time.Now()
	for ctx.Err() == nil {
		for drained := false; !drained; {
			select {
			case k := <-c.calls:
				c.start(k)
			default:
				drained = true
			}
		}
		if err := c.loop.Poll(time.Millisecond); err != nil {
			panic(err) // epoll itself failed: nothing in the test can go on
		}
		for now := time.Now(); !now.Before(next); next = next.Add(10 * time.Millisecond) {
			for _, s := range c.sessions {
				s.client.Tick()
			}
		}
	}
}

// start submits k, registering its session first if it has none.
func (c *clients) start(k *call) {
	s := c.sessions[k.session]
	if s.pending != nil { // its last call was abandoned and is still in flight
		k.done <- reply{err: errSessionBusy}
		return
	}
	s.pending = k
	if !s.client.Registered() {
		if err := s.client.Register(); err != nil && !errors.Is(err, vsr.ErrBusy) {
			c.finish(s, reply{err: err})
		}
		return
	}
	c.submit(s)
}

func (c *clients) submit(s *session) {
	var input []byte
	var err error
	operation := kv.OperationRead
	switch r := s.pending.request; r.kind {
	case kvmodel.Read:
		input, err = kv.EncodeRead(nil, []byte(r.key))
	case kvmodel.Write:
		operation = kv.OperationWrite
		input, err = kv.EncodeWrite(nil, []byte(r.key), []byte(r.value))
	default:
		operation = kv.OperationCAS
		input, err = kv.EncodeCAS(nil, []byte(r.key), []byte(r.from), []byte(r.value))
	}
	if err == nil {
		_, err = s.client.Submit(operation, input)
	}
	if err != nil {
		c.finish(s, reply{err: err})
	}
}

func (c *clients) result(s *session, r *vsr.ClientResult) {
	switch {
	case s.pending == nil:
		return // a register left over from an abandoned call
	case r.Err != nil:
		c.finish(s, reply{err: r.Err})
	case r.Operation == vsr.OperationRegister:
		c.submit(s)
	default:
		decoded, err := kv.DecodeReply(r.Body)
		c.finish(s, reply{status: decoded.Status, value: string(decoded.Value), op: r.Op, err: err})
	}
}

func (c *clients) finish(s *session, r reply) {
	s.pending.done <- r
	s.pending = nil
}

// do runs one request on session and waits for its reply or for ctx. An
// eviction or errNoReply leaves the outcome unknown.
func (c *clients) do(ctx context.Context, session int, r request) reply {
	k := &call{session: session, request: r, done: make(chan reply, 1)}
	select {
	case c.calls <- k:
	case <-ctx.Done():
		return reply{err: errNoReply}
	}
	select {
	case got := <-k.done:
		return got
	case <-ctx.Done():
		return reply{err: errNoReply}
	}
}

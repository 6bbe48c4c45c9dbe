package vsr

import (
	"errors"
	"fmt"
)

// Client is the client side of the protocol, as pure and tick-driven as the
// replica: it registers a session, numbers its requests strictly upward,
// keeps one in flight, retries it with jittered exponential backoff (first
// to the primary it believes in, then to every replica), learns the view
// from replies, and gives up its session when evicted.
type Client struct {
	opts     ClientOptions
	bus      Bus
	random   Random
	onResult func(*ClientResult)

	view       uint32
	session    uint64 // op of the register that opened the session; 0 before
	registered bool
	// request is the number of the latest request sent, registers
	// included. It only grows, across sessions too, so that a request or
	// register of an earlier session is always older than the latest.
	request uint32
	number  uint32 // the number of the request in flight

	inFlight  bool
	message   []byte // the in-flight request, encoded; aliases buffer
	buffer    []byte
	checksum  U128
	operation Operation
	attempts  int
	timeout   timeout

	stats ClientStats
}

// ClientOptions bound a client. Zero fields take defaults.
type ClientOptions struct {
	Cluster        U128
	ID             U128 // unique and non-zero
	ReplicaCount   uint8
	MessageSizeMax uint32 // must match the cluster's (default 64 KiB)
	// RequestTimeoutTicks is the first retry delay (default 50); each retry
	// doubles it up to BackoffTicksMax (default 800), plus a random jitter
	// of up to RequestTimeoutTicks, so clients that lost the primary
	// together do not retry together.
	RequestTimeoutTicks int
	BackoffTicksMax     int
}

// ClientResult is the outcome of a request: a reply (Body, valid only
// during the callback) or an error (ErrEvicted).
type ClientResult struct {
	Request   uint32
	Operation Operation
	Op        uint64 // the op that executed it
	Body      []byte
	Err       error
}

// ClientStats counts a client's traffic.
type ClientStats struct {
	Requests uint64
	Retries  uint64
	Replies  uint64
	Dropped  uint64
}

// Client errors.
var (
	ErrEvicted       = errors.New("vsr: client: session evicted by the cluster")
	ErrBusy          = errors.New("vsr: client: a request is already in flight")
	ErrNotRegistered = errors.New("vsr: client: not registered")
	ErrRegistered    = errors.New("vsr: client: already registered")
)

// NewClient returns a client; onResult receives the outcome of every
// request (the register included).
func NewClient(opts ClientOptions, bus Bus, random Random, onResult func(*ClientResult)) (*Client, error) {
	if opts.MessageSizeMax == 0 {
		opts.MessageSizeMax = 64 << 10
	}
	if opts.RequestTimeoutTicks == 0 {
		opts.RequestTimeoutTicks = 50
	}
	if opts.BackoffTicksMax == 0 {
		opts.BackoffTicksMax = 800
	}
	switch {
	case opts.ID.IsZero():
		return nil, fmt.Errorf("vsr: client: id is zero")
	case opts.Cluster.IsZero():
		return nil, fmt.Errorf("vsr: client: cluster id is zero")
	case opts.ReplicaCount < 1 || opts.ReplicaCount > ReplicasMax:
		return nil, fmt.Errorf("vsr: client: replica count %d outside [1, %d]", opts.ReplicaCount, ReplicasMax)
	case opts.MessageSizeMax < MessageSizeMin:
		return nil, fmt.Errorf("vsr: client: message size max %d below %d", opts.MessageSizeMax, MessageSizeMin)
	case opts.RequestTimeoutTicks < 1 || opts.BackoffTicksMax < opts.RequestTimeoutTicks:
		return nil, fmt.Errorf("vsr: client: request timeout %d and backoff max %d ticks must satisfy 1 <= timeout <= max",
			opts.RequestTimeoutTicks, opts.BackoffTicksMax)
	case bus == nil || random == nil || onResult == nil:
		return nil, fmt.Errorf("vsr: client: bus, random and onResult are all required")
	}
	return &Client{opts: opts, bus: bus, random: random, onResult: onResult,
		buffer: make([]byte, opts.MessageSizeMax)}, nil
}

// Registered reports whether the client holds a session.
func (c *Client) Registered() bool { return c.registered }

// Busy reports whether a request is in flight.
func (c *Client) Busy() bool { return c.inFlight }

// View returns the latest view the client has seen.
func (c *Client) View() uint32 { return c.view }

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats { return c.stats }

// ID returns the client's id.
func (c *Client) ID() U128 { return c.opts.ID }

// Register opens a session. Its completion arrives through onResult. A
// register takes the next request number like any request, so a late copy
// of an earlier one is older than the session it would open and is refused.
func (c *Client) Register() error {
	if c.registered {
		return ErrRegistered
	}
	return c.start(OperationRegister, nil)
}

// Submit sends one request and returns its number. Its completion arrives
// through onResult.
func (c *Client) Submit(operation Operation, input []byte) (uint32, error) {
	if !c.registered {
		return 0, ErrNotRegistered
	}
	if operation < OperationUserMin {
		return 0, fmt.Errorf("vsr: client: operation %d is reserved for the protocol", operation)
	}
	if err := c.start(operation, input); err != nil {
		return 0, err
	}
	assert(c.inFlight, "a submitted request is in flight")
	assert(c.number == c.request, "the request in flight is the latest")
	return c.request, nil
}

// start sends the client's next request. Every request names the session
// it belongs to (a register names none), so that no copy of it can run in
// a later session of this client.
func (c *Client) start(operation Operation, input []byte) error {
	if c.inFlight {
		return ErrBusy
	}
	if HeaderSize+len(input) > int(c.opts.MessageSizeMax)-HeaderSize {
		return fmt.Errorf("vsr: client: input of %d bytes exceeds the %d a request can carry",
			len(input), int(c.opts.MessageSizeMax)-2*HeaderSize)
	}
	if c.request == ^uint32(0) {
		return fmt.Errorf("vsr: client: request numbers exhausted: use a new client id")
	}
	h := Header{Command: CommandRequest, Cluster: c.opts.Cluster, Client: c.opts.ID,
		Request: c.request + 1, Operation: operation, View: c.view}
	if operation != OperationRegister {
		assert(c.registered, "client: a request is sent in a session")
		assert(c.session > 0, "client: a request names its session")
		h.Session = c.session
	}
	n, err := Encode(c.buffer, &h, input)
	if err != nil {
		return fmt.Errorf("vsr: client: %w", err)
	}
	assert(h.Request == c.request+1, "client: request numbers grow by one")
	c.request++
	c.message, c.checksum, c.operation = c.buffer[:n], h.Checksum, operation
	c.number = c.request
	c.inFlight, c.attempts = true, 0
	c.stats.Requests++
	c.timeout.start(c.opts.RequestTimeoutTicks)
	c.bus.SendToReplica(uint8(c.view%uint32(c.opts.ReplicaCount)), c.message)
	return nil
}

// Tick advances the client's clock; an unanswered request is resent to
// every replica with a backed-off, jittered timeout.
func (c *Client) Tick() {
	if !c.inFlight || !c.timeout.tick() {
		return
	}
	assert(len(c.message) >= HeaderSize, "client: the request in flight is encoded")
	c.attempts++
	c.stats.Retries++
	backoff := c.opts.RequestTimeoutTicks << min(c.attempts, 16)
	backoff = min(backoff, c.opts.BackoffTicksMax)
	jitter := int(c.random.Uint64() % uint64(c.opts.RequestTimeoutTicks))
	c.timeout.start(backoff + jitter)
	for i := uint8(0); i < c.opts.ReplicaCount; i++ {
		c.bus.SendToReplica(i, c.message)
	}
}

// Receive handles a message for this client: a reply or an eviction.
// Anything else, or anything not for the request in flight, is dropped.
func (c *Client) Receive(message []byte) {
	h, body, err := Decode(message, c.opts.MessageSizeMax)
	if err != nil || h.Cluster != c.opts.Cluster || h.Client != c.opts.ID {
		c.stats.Dropped++
		return
	}
	switch h.Command {
	case CommandReply:
		c.onReply(&h, body)
	case CommandEviction:
		c.onEviction(&h)
	default:
		c.stats.Dropped++
	}
}

func (c *Client) onReply(h *Header, body []byte) {
	c.view = max(c.view, h.View)
	if !c.inFlight || h.Request != c.number || h.RequestChecksum != c.checksum {
		c.stats.Dropped++
		return
	}
	assert(c.inFlight, "client: a reply completes the request in flight")
	assert(h.Request == c.number, "client: a reply answers the request in flight")
	c.inFlight = false
	c.timeout.stop()
	c.stats.Replies++
	if c.operation == OperationRegister {
		c.registered, c.session = true, h.Op
	}
	c.onResult(&ClientResult{Request: h.Request, Operation: c.operation, Op: h.Op, Body: body})
}

// onEviction ends the session, failing the request in flight. An eviction
// naming another session (an older one of this client) is stale.
func (c *Client) onEviction(h *Header) {
	if !c.registered && !c.inFlight {
		c.stats.Dropped++
		return
	}
	if h.Session != 0 && h.Session != c.session {
		c.stats.Dropped++
		return
	}
	if c.inFlight && c.operation == OperationRegister {
		c.stats.Dropped++ // an eviction of nothing: the register is what fixes it
		return
	}
	assert(c.registered || c.inFlight, "client: an eviction ends a session or a request")
	assert(!c.inFlight || c.operation != OperationRegister, "client: an eviction never fails a register")
	c.view = max(c.view, h.View)
	c.registered, c.session = false, 0
	if c.inFlight {
		c.inFlight = false
		c.timeout.stop()
		c.onResult(&ClientResult{Request: c.number, Operation: c.operation, Err: ErrEvicted})
	}
}

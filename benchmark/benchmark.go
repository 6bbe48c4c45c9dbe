// Package benchmark is a closed-loop load generator for a real govsr
// cluster: many protocol clients (vsr.Client, the code the simulator
// tests) on one epoll bus, each with one write in flight, each sending its
// next write as soon as the previous one is answered.
package benchmark

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	mathrand "math/rand/v2"
	"slices"
	"time"

	"github.com/govsr/govsr/server"
	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/bus"
	"github.com/govsr/govsr/vsr/kv"
)

// Limits of a benchmark's configuration.
const (
	ClientsMax = 1024
	keySpace   = 1024 // distinct keys each client writes
)

// Config describes one run.
type Config struct {
	Cluster        uint64
	Addresses      []string
	MessageSizeMax uint32        // the cluster's (0: the vsr default)
	Clients        int           // concurrent clients, one request in flight each
	Requests       int           // requests in all, split evenly over the clients
	Timeout        time.Duration // give up after this long
	// Progress, if set, is called from the loop with the requests replied
	// so far, at most every tick.
	Progress func(replied int)
}

// ErrStopped is the error of a run stopped from outside.
var ErrStopped = errors.New("benchmark: stopped")

// Result is what a run measured.
type Result struct {
	Clients   int
	Latencies []time.Duration // of every request replied, sorted
	// Elapsed runs from the moment every client's session is registered (no
	// write is sent before) to the last reply, as a load generator that
	// connects first and then starts its clock measures; Registering is
	// the time before, spent connecting and registering the sessions.
	Elapsed     time.Duration
	Registering time.Duration
}

// Throughput is the requests replied per second.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(len(r.Latencies)) / r.Elapsed.Seconds()
}

// Percentile returns the latency at or below which a fraction p (0 to 1)
// of the requests completed; Percentile(1) is the largest.
func (r *Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(r.Latencies)))) - 1
	return r.Latencies[min(max(i, 0), len(r.Latencies)-1)]
}

// Check reports a config that cannot run (wrapping server.ErrConfig).
func (c *Config) Check() error {
	if c.Clients < 1 || c.Clients > ClientsMax || c.Requests < c.Clients {
		return fmt.Errorf("%w: clients %d must be 1 to %d and requests %d at least as many", server.ErrConfig,
			c.Clients, ClientsMax, c.Requests)
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("%w: timeout %s must be positive", server.ErrConfig, c.Timeout)
	}
	sc := server.Config{Cluster: c.Cluster, Addresses: c.Addresses}
	return sc.Check(false)
}

// client is one closed-loop client with its latencies.
type client struct {
	protocol   *vsr.Client
	index      int
	sentAt     time.Time
	registered bool
	done       int
	latencies  []time.Duration
	err        error
}

// run is one benchmark in progress.
type run struct {
	cfg       Config
	perClient int
	random    *mathrand.Rand
	clients   []*client
	byID      map[vsr.U128]*client // looked up, never iterated
	loop      *bus.Loop

	registered   int       // clients whose session is registered
	measuredFrom time.Time // when the last one was: the clock starts
}

// Run runs a benchmark until every client is done, stop is closed, or the
// timeout passes.
func Run(cfg Config, stop <-chan struct{}) (*Result, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.MessageSizeMax == 0 {
		cfg.MessageSizeMax = vsr.DefaultOptions(vsr.U128{Lo: 1}, 0, 1).MessageSizeMax
	}
	r := &run{cfg: cfg, perClient: cfg.Requests / cfg.Clients, random: server.SeededRandom(),
		byID: make(map[vsr.U128]*client, cfg.Clients)}
	cluster := vsr.U128{Lo: cfg.Cluster}
	var err error
	r.loop, err = bus.New(bus.Config{Cluster: cluster, Addresses: cfg.Addresses, Replica: -1,
		MessageSizeMax: cfg.MessageSizeMax}, r.receive)
	if err != nil {
		return nil, err
	}
	defer r.loop.Close()
	for i := range cfg.Clients {
		c := &client{index: i}
		id := vsr.U128{Lo: r.random.Uint64() | 1, Hi: r.random.Uint64()}
		c.protocol, err = vsr.NewClient(vsr.ClientOptions{Cluster: cluster, ID: id, ReplicaCount: uint8(len(cfg.Addresses)),
			MessageSizeMax: cfg.MessageSizeMax}, r.loop, r.random, func(res *vsr.ClientResult) { r.result(c, res) })
		if err != nil {
			return nil, err
		}
		r.byID[id], r.clients = c, append(r.clients, c)
	}
	return r.drive(stop)
}

func (r *run) receive(m []byte) {
	h, err := vsr.DecodeHeader(m[:vsr.HeaderSize])
	if c, ok := r.byID[h.Client]; err == nil && ok {
		c.protocol.Receive(m)
	}
}

// drive registers every client and runs the loop until the run ends.
func (r *run) drive(stop <-chan struct{}) (*Result, error) {
	started := time.Now()
	deadline := started.Add(r.cfg.Timeout)
	next := started
	for _, c := range r.clients {
		_ = c.protocol.Register()
	}
	for replied := 0; !r.done(); {
		select {
		case <-stop:
			return nil, ErrStopped
		default:
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("benchmark: not done within %s (%d of %d requests replied)", r.cfg.Timeout,
				r.replied(), r.perClient*len(r.clients))
		}
		if err := r.loop.Poll(max(time.Until(next), 0)); err != nil {
			return nil, err
		}
		for now := time.Now(); !now.Before(next); next = next.Add(server.Tick) {
			for _, c := range r.clients {
				c.protocol.Tick()
			}
			if n := r.replied(); r.cfg.Progress != nil && n != replied {
				replied = n
				r.cfg.Progress(n)
			}
		}
	}
	return r.finish(r.measuredFrom.Sub(started), time.Since(r.measuredFrom))
}

// done reports whether every client made its requests, or one failed
// (which fails the run: the others may be waiting for it to register).
func (r *run) done() bool {
	finished := true
	for _, c := range r.clients {
		if c.err != nil {
			return true
		}
		finished = finished && c.done >= r.perClient
	}
	return finished
}

func (r *run) replied() int {
	n := 0
	for _, c := range r.clients {
		n += c.done
	}
	return n
}

func (r *run) finish(registering, elapsed time.Duration) (*Result, error) {
	res := &Result{Clients: len(r.clients), Elapsed: elapsed, Registering: registering}
	for _, c := range r.clients {
		if c.err != nil {
			return nil, fmt.Errorf("benchmark: client %d: %w", c.index, c.err)
		}
		res.Latencies = append(res.Latencies, c.latencies...)
	}
	assert(r.registered == len(r.clients), "every client registered before the run is done")
	assert(len(res.Latencies) == r.perClient*len(r.clients), "every client made its requests")
	slices.Sort(res.Latencies)
	return res, nil
}

// result records a reply and sends the client's next write. The first
// writes wait until every session is registered, so that the clock runs
// over a load of all the clients.
func (r *run) result(c *client, res *vsr.ClientResult) {
	if res.Err != nil {
		c.err = res.Err
		return
	}
	if res.Operation == vsr.OperationRegister {
		if c.registered {
			return
		}
		c.registered, r.registered = true, r.registered+1
		assert(r.registered <= len(r.clients), "each client registers once")
		if r.registered == len(r.clients) {
			r.measuredFrom = time.Now()
			for _, waiting := range r.clients {
				r.send(waiting)
			}
		}
		return
	}
	c.latencies = append(c.latencies, time.Since(c.sentAt))
	c.done++
	r.send(c)
}

// send submits the client's next write, if it has one left.
func (r *run) send(c *client) {
	if c.done >= r.perClient || c.err != nil {
		return
	}
	var key, value [8]byte
	binary.LittleEndian.PutUint64(key[:], r.random.Uint64()%keySpace)
	binary.LittleEndian.PutUint64(value[:], uint64(c.done))
	input, err := kv.EncodeWrite(nil, fmt.Appendf(nil, "k%d-%x", c.index, key), fmt.Appendf(nil, "%064x", value))
	if err != nil {
		c.err = err
		return
	}
	c.sentAt = time.Now()
	if _, err := c.protocol.Submit(kv.OperationWrite, input); err != nil {
		c.err = err
	}
}

// assert panics when an invariant of the run does not hold: a bug here,
// not a condition of the cluster.
func assert(ok bool, invariant string) {
	if !ok {
		panic("benchmark: " + invariant)
	}
}

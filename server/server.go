package server

import (
	"crypto/rand"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/bus"
	"github.com/govsr/govsr/vsr/storage"
)

// Tick is the wall-clock length of one replica tick.
const Tick = 10 * time.Millisecond

// reportInterval is how often Run prints a status line, unless the
// config says otherwise.
const reportInterval = 5 * time.Second

// drainRoundsMax bounds the storage completions handed over between two
// polls of the network, so that a busy disk cannot starve the bus.
const drainRoundsMax = 64

// Server is one replica with its bus and data file.
type Server struct {
	replica *vsr.Replica
	file    *storage.File
	loop    *bus.Loop
	log     io.Writer

	statusInterval time.Duration

	storageDone     func(tag uint64, err error) // the replica's, timed when metrics are on
	metrics         *metrics                    // nil without MetricsAddress
	metricsEndpoint *endpoint
	pprofEndpoint   *endpoint
}

// SeededRandom is a ChaCha8 stream seeded from the OS: real processes need
// no replay, only independence.
func SeededRandom() *mathrand.Rand {
	var seed [32]byte
	_, _ = rand.Read(seed[:])
	return mathrand.New(mathrand.NewChaCha8(seed))
}

// Open opens the replica's data file, listens on its address and starts
// the replica reading its data file back. Status lines go to log.
func Open(c Config, log io.Writer) (*Server, error) {
	if err := c.Check(true); err != nil {
		return nil, err
	}
	store, o, err := c.Build()
	if err != nil {
		return nil, err
	}
	if err := checkFormat(c.Data, o); err != nil {
		return nil, err
	}
	file, err := storage.Open(c.Data, o)
	if err != nil {
		return nil, err
	}
	s := &Server{file: file, log: log, statusInterval: reportInterval}
	if c.StatusInterval > 0 {
		s.statusInterval = c.StatusInterval
	}
	s.loop, err = bus.New(bus.Config{Cluster: o.Cluster, Addresses: c.Addresses, Replica: c.Replica,
		MessageSizeMax: o.MessageSizeMax, Faults: c.BusFaults}, func(m []byte) { s.replica.Receive(m) })
	if err != nil {
		file.Close()
		return nil, err
	}
	env := vsr.Env{Bus: s.loop, Storage: file, StateMachine: store, Random: SeededRandom()}
	if err := s.serveEndpoints(c, &env, vsr.NewLayout(o)); err != nil {
		s.Close()
		return nil, err
	}
	s.replica, err = vsr.OpenReplica(o, env)
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := s.loop.Watch(file.WakeFd(), file.ClearWake); err != nil {
		s.Close()
		return nil, err
	}
	s.storageDone = s.replica.StorageDone
	if s.metrics != nil {
		s.storageDone = func(tag uint64, err error) {
			s.metrics.storageDone(tag)
			s.replica.StorageDone(tag, err)
		}
	}
	return s, nil
}

// serveEndpoints starts the metrics and profile endpoints the config asks
// for; metrics hook the replica's events and time its storage.
func (s *Server) serveEndpoints(c Config, env *vsr.Env, layout vsr.Layout) error {
	if c.MetricsAddress != "" {
		s.metrics = newMetrics(uint8(c.Replica))
		env.Hook = s.metrics.hook
		env.Storage = &timedStorage{file: s.file, m: s.metrics, layout: layout}
		s.file.OnSync = func(d time.Duration) { s.metrics.fsync.Observe(d.Seconds()) }
		var err error
		if s.metricsEndpoint, err = serveHTTP("metrics", c.MetricsAddress, s.metrics.handler()); err != nil {
			return err
		}
	}
	if c.PprofAddress != "" {
		var err error
		if s.pprofEndpoint, err = serveHTTP("pprof", c.PprofAddress, pprofHandler()); err != nil {
			return err
		}
	}
	return nil
}

// MetricsAddress and PprofAddress are where the endpoints listen, or "".
func (s *Server) MetricsAddress() string { return s.metricsEndpoint.address() }
func (s *Server) PprofAddress() string   { return s.pprofEndpoint.address() }

// Close closes the endpoints, the bus and the data file.
func (s *Server) Close() error {
	s.metricsEndpoint.close()
	s.pprofEndpoint.close()
	err := s.loop.Close()
	if ferr := s.file.Close(); err == nil {
		err = ferr
	}
	return err
}

// Run is the replica's loop: storage completions, network, ticks, until
// stop is closed (nil) or the replica or the bus fails (the error).
func (s *Server) Run(stop <-chan struct{}) error {
	r := s.replica
	next, report := time.Now().Add(Tick), time.Now().Add(s.statusInterval)
	opening := true
	for {
		select {
		case <-stop:
			s.status("stopping")
			return nil
		default:
		}
		s.drain()
		if err := r.OpenError(); err != nil {
			return err
		}
		if opening && !r.Opening() {
			opening = false
			debug.FreeOSMemory() // the open read the whole journal into buffers it has dropped
		}
		timeout := time.Until(next)
		if s.file.Pending() {
			timeout = 0
		}
		if err := s.loop.Poll(max(timeout, 0)); err != nil {
			return err
		}
		now := time.Now()
		if now.After(next.Add(100 * Tick)) {
			next = now // the process was stopped: do not replay the lost ticks in a burst
		}
		for !now.Before(next) {
			r.Tick()
			next = next.Add(Tick)
		}
		if s.metrics != nil {
			s.metrics.update(r)
		}
		if now.After(report) {
			report = now.Add(s.statusInterval)
			s.status("")
		}
	}
}

// drain hands storage completions to the replica, a bounded number of
// rounds (completions may cause more).
func (s *Server) drain() {
	for range drainRoundsMax {
		if s.file.Drain(s.storageDone) == 0 {
			break
		}
	}
}

// status prints the replica's status line; "stopping" marks the last.
func (s *Server) status(what string) {
	r := s.replica
	if what != "" {
		what = " " + what
	}
	// Replicas at the same commit have the same digest (of the state
	// machine and the client table): how a chaos test sees that they agree.
	fmt.Fprintf(s.log, "replica %d%s: %s view=%d op=%d commit=%d digest=%s\n", r.Index(), what,
		r.Status(), r.View(), r.Op(), r.CommitMin(), r.Digest())
}

// Bus is the replica's bus, for a chaos test's fault controls (ArmFaults,
// IsolateFor are safe from any goroutine).
func (s *Server) Bus() *bus.Loop { return s.loop }

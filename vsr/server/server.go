package server

import (
	"crypto/rand"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"time"

	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/bus"
	"github.com/govsr/govsr/vsr/storage"
)

// Tick is the wall-clock length of one replica tick.
const Tick = 10 * time.Millisecond

// reportInterval is how often Run prints a status line.
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
	s := &Server{file: file, log: log}
	s.loop, err = bus.New(bus.Config{Cluster: o.Cluster, Addresses: c.Addresses, Replica: c.Replica,
		MessageSizeMax: o.MessageSizeMax}, func(m []byte) { s.replica.Receive(m) })
	if err != nil {
		file.Close()
		return nil, err
	}
	s.replica, err = vsr.OpenReplica(o, vsr.Env{Bus: s.loop, Storage: file, StateMachine: store, Random: SeededRandom()})
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the bus and the data file.
func (s *Server) Close() error {
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
	next, report := time.Now().Add(Tick), time.Now().Add(reportInterval)
	for {
		select {
		case <-stop:
			s.status("stopping")
			return nil
		default:
		}
		for range drainRoundsMax {
			if s.file.Drain(r.StorageDone) == 0 {
				break
			}
		}
		if err := r.OpenError(); err != nil {
			return err
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
		if now.After(report) {
			report = now.Add(reportInterval)
			s.status("")
		}
	}
}

// status prints the replica's status line; "stopping" marks the last.
func (s *Server) status(what string) {
	r := s.replica
	if what != "" {
		what = " " + what
	}
	fmt.Fprintf(s.log, "replica %d%s: %s view=%d op=%d commit=%d\n", r.Index(), what,
		r.Status(), r.View(), r.Op(), r.CommitMin())
}
